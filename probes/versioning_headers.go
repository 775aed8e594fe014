package probes

import (
	"fmt"
	"strings"
	"time"

	"github.com/apigate/apigate/internal/finding"
	"github.com/apigate/apigate/internal/httpx"
	"github.com/apigate/apigate/internal/target"
)

// sunsetLongPast is how long after its Sunset a live endpoint counts as medium: by then
// the retirement was not merely late by a deploy.
const sunsetLongPast = 30 * 24 * time.Hour

// checkHeaders validates the Deprecation, Sunset and Link headers of one response, once per
// operation path.
func (c *versionCtx) checkHeaders(op *target.Operation, ex *httpx.Exchange) {
	depRaw, sunRaw := ex.Header.Get("Deprecation"), ex.Header.Get("Sunset")
	if (depRaw == "" && sunRaw == "") || c.headers[op.Path] {
		return
	}
	c.headers[op.Path] = true
	s := c.s
	now := time.Now()
	links := ParseLinks(ex.Header.Values("Link"))
	hasRel := func(rel string) bool {
		for _, l := range links {
			if l.HasRel(rel) {
				return true
			}
		}
		return false
	}
	excerpt := HeaderExcerpt(ex, "Deprecation", "Sunset", "Link")

	var problems []string
	dep, depOK := ParseDeprecation(depRaw)
	switch {
	case depRaw == "":
	case !depOK:
		problems = append(problems, fmt.Sprintf("Deprecation %q is not a date",
			Truncate(depRaw, 60)))
	case !dep.Conformant:
		problems = append(problems, fmt.Sprintf("Deprecation %q uses a pre-RFC 9745 form "+
			"(expected @<unix seconds>)", Truncate(depRaw, 60)))
	}
	sun, strict, sunOK := ParseSunset(sunRaw)
	switch {
	case sunRaw == "":
	case !sunOK:
		problems = append(problems, fmt.Sprintf("Sunset %q is not an HTTP-date",
			Truncate(sunRaw, 60)))
	case !strict:
		problems = append(problems, fmt.Sprintf("Sunset %q is not an IMF-fixdate in GMT",
			Truncate(sunRaw, 60)))
	}
	if len(problems) > 0 {
		c.add(s.NewFinding(RuleVersionHeaderFormat, op, ex, finding.ConfidenceHigh, "", excerpt,
			strings.Join(problems, "; ")+"."))
	}

	if depOK && sunOK && !dep.At.IsZero() && sun.Before(dep.At) {
		c.add(s.NewFinding(RuleVersionSunsetBeforeDeprecation, op, ex, finding.ConfidenceHigh,
			fmt.Sprintf("Sunset before Deprecation on GET %s", op.Path), excerpt,
			fmt.Sprintf("Sunset %s precedes Deprecation %s (RFC 9745 section 4).",
				sun.Format(time.RFC3339), dep.At.Format(time.RFC3339))))
	}
	if sunOK && sun.Before(now) && Is2xx(ex.Status) {
		f := s.NewFinding(RuleVersionSunsetPassed, op, ex, finding.ConfidenceHigh,
			fmt.Sprintf("GET %s still answers %d after its Sunset date", op.Path, ex.Status), excerpt,
			fmt.Sprintf("The Sunset date %s has passed but the operation still answers %d.",
				sun.Format(time.RFC3339), ex.Status))
		if now.Sub(sun) > sunsetLongPast {
			f.Severity = finding.SeverityMedium
		}
		c.add(f)
	}
	if depOK && !dep.At.IsZero() && dep.At.Before(now) && sunRaw == "" && !hasRel("deprecation") {
		c.detail("GET %s is deprecated since %s with neither a Sunset date nor a deprecation link",
			op.Path, dep.At.Format("2006-01-02"))
	}
	if depOK && len(problems) == 0 {
		c.detail("GET %s announces its deprecation correctly", op.Path)
	}
}
