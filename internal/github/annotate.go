package github

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/sethvargo/go-githubactions"

	"github.com/apigate/apigate/internal/finding"
)

// MaxAnnotationsPerType is GitHub's display limit: "10 warning annotations and 10 error
// annotations per step"; more are silently hidden.
const MaxAnnotationsPerType = 10

// maxAnnotationMessage stays below the runner's 4,096-character cut of issue messages.
const maxAnnotationMessage = 3500

// Annotate writes the most severe active findings as workflow annotations on the lines
// that define them: critical and high as errors, medium as warnings, at most
// MaxAnnotationsPerType of each. One notice then says how many findings were not
// annotated and where to read them. reserve error slots are left for the caller (the final
// verdict is an error annotation too). It returns the number of annotations written.
func Annotate(a *githubactions.Action, rep *finding.Report, where string, reserve int) int {
	maxErrors := max(MaxAnnotationsPerType-reserve, 0)
	active := rep.Active()
	finding.Sort(active)
	errs, warns, rest := 0, 0, 0
	for _, f := range active {
		switch {
		case f.Severity >= finding.SeverityHigh && errs < maxErrors:
			errs++
			annotation(a, f).Errorf("%s", annotationMessage(f))
		case f.Severity == finding.SeverityMedium && warns < MaxAnnotationsPerType:
			warns++
			annotation(a, f).Warningf("%s", annotationMessage(f))
		default:
			rest++
		}
	}
	if rest > 0 {
		a.WithFieldsMap(map[string]string{"title": "apigate: more findings"}).Noticef(
			"%d more finding(s) are not annotated (a step shows at most %d error and %d "+
				"warning annotations; low and info findings get none); see %s.",
			rest, MaxAnnotationsPerType, MaxAnnotationsPerType, where)
	}
	return errs + warns
}

func annotation(a *githubactions.Action, f finding.Finding) *githubactions.Action {
	fields := map[string]string{
		"title": fmt.Sprintf("apigate %s: %s", f.Severity, f.Rule),
	}
	if l := f.Location; l != nil && l.File != "" && !strings.Contains(l.File, "://") {
		fields["file"] = l.File
		fields["line"] = strconv.Itoa(max(l.Line, 1))
		if l.Column > 0 {
			fields["col"] = strconv.Itoa(l.Column)
		}
	}
	return a.WithFieldsMap(fields)
}

func annotationMessage(f finding.Finding) string {
	var b strings.Builder
	b.WriteString(firstNonEmpty(f.Title, f.Rule))
	fmt.Fprintf(&b, "\n%s %s", f.Method, firstNonEmpty(f.URL, f.Path))
	if f.Evidence.Status != 0 {
		fmt.Fprintf(&b, " answered %d", f.Evidence.Status)
	}
	if f.Evidence.Detail != "" {
		b.WriteString("\n" + f.Evidence.Detail)
	}
	if f.Curl != "" {
		b.WriteString("\nReproduce: " + f.Curl)
	}
	s := b.String()
	if len(s) > maxAnnotationMessage {
		cut := maxAnnotationMessage
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if strings.TrimSpace(v) != "" {
			return v
		}
	}
	return ""
}
