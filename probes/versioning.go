package probes

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/apigate/apigate/internal/finding"
	"github.com/apigate/apigate/internal/httpx"
	"github.com/apigate/apigate/internal/target"
)

// Rules of the versioning check.
var (
	RuleVersionOldLive = Rule{
		ID: "versioning-old-version-live", Check: finding.CheckVersioning,
		Title:    "Undocumented older API version still answers",
		Severity: finding.SeverityMedium, CWE: []string{"CWE-1059"}, OWASP: "API9:2023",
		Summary: "An older version of a documented path answers 2xx but is not in the API inventory.",
		Help: "Forgotten versions keep old bugs and old access rules alive, and nobody watches " +
			"them. Retire old versions (404/410, or a 301/308 to the current one), or document " +
			"and maintain them with the same controls, announcing their end with `Deprecation` " +
			"and `Sunset` headers.",
	}
	RuleVersionWeaker = Rule{
		ID: "versioning-old-version-weaker", Check: finding.CheckVersioning,
		Title:    "Older API version is weaker than the current one",
		Severity: finding.SeverityHigh, CWE: []string{"CWE-1059"}, OWASP: "API9:2023",
		Summary: "A control the current version enforces (authentication, CORS, headers, field filtering) is missing on an older version.",
		Help: "Attackers go around a fix by calling the version that lacks it. Apply the same " +
			"middleware (authentication, CORS policy, response filtering, headers) to every " +
			"version still served, or retire the old one.",
	}
	RuleVersionDeprecatedNoHeader = Rule{
		ID: "versioning-deprecated-no-header", Check: finding.CheckVersioning,
		Title:    "Deprecated operation sends no Deprecation header",
		Severity: finding.SeverityLow, CWE: []string{"CWE-1059"}, OWASP: "API9:2023",
		Summary: "The API description marks the operation deprecated, but its responses do not say so.",
		Help: "Clients only learn of a deprecation from the response itself. Send " +
			"`Deprecation: @<unix seconds>` (RFC 9745), a `Sunset` date (RFC 8594) and a " +
			"`Link` with `rel=\"deprecation\"` pointing to the migration notes.",
	}
	RuleVersionSunsetPassed = Rule{
		ID: "versioning-sunset-passed", Check: finding.CheckVersioning,
		Title:    "Operation still live after its Sunset date",
		Severity: finding.SeverityLow, CWE: []string{"CWE-1059"}, OWASP: "API9:2023",
		Summary: "A response announces a Sunset date in the past yet still answers 2xx.",
		Help: "A retired endpoint that still works is unmaintained attack surface that clients " +
			"were told is gone. Switch it off (410 Gone) at the announced date, or move the " +
			"`Sunset` date if the retirement was postponed.",
	}
	RuleVersionSunsetBeforeDeprecation = Rule{
		ID: "versioning-sunset-before-deprecation", Check: finding.CheckVersioning,
		Title:    "Sunset earlier than Deprecation",
		Severity: finding.SeverityLow, CWE: []string{"CWE-1059"}, OWASP: "API9:2023",
		Summary: "The Sunset date precedes the Deprecation date, which RFC 9745 section 4 forbids.",
		Help: "A resource cannot be switched off before it is deprecated; clients planning a " +
			"migration get contradictory dates. Make `Sunset` equal to or later than " +
			"`Deprecation`.",
	}
	RuleVersionHeaderFormat = Rule{
		ID: "versioning-header-format", Check: finding.CheckVersioning,
		Title:    "Malformed or non-conformant Deprecation or Sunset header",
		Severity: finding.SeverityInfo, CWE: []string{"CWE-1059"}, OWASP: "API9:2023",
		Summary: "A Deprecation value is not an RFC 9745 date (@<seconds>), or a Sunset is not an IMF-fixdate in GMT.",
		Help: "Tools that read these headers ignore values in other formats. Send " +
			"`Deprecation: @1688169599` and `Sunset: Sat, 31 Dec 2026 23:59:59 GMT`.",
	}
)

// Bounds on the versioning probe's traffic.
const (
	maxVersionOps    = 5
	maxDeprecatedOps = 5
	// aliasSimilarity is how alike two bodies must be to call one version an alias of another.
	aliasSimilarity = 0.95
	// catchAllSimilarity is how alike an old version and the /v999/ control must be for the
	// old version's answer to mean nothing.
	catchAllSimilarity = 0.9
)

type versioning struct{}

// NewVersioning returns the probe for checklist item 9: older versions still live or weaker
// than the current one, and Deprecation / Sunset headers.
func NewVersioning() Probe { return versioning{} }

func (versioning) Check() finding.Check { return finding.CheckVersioning }

func (versioning) Rules() []Rule {
	return []Rule{RuleVersionOldLive, RuleVersionWeaker, RuleVersionDeprecatedNoHeader,
		RuleVersionSunsetPassed, RuleVersionSunsetBeforeDeprecation, RuleVersionHeaderFormat}
}

// versionSeg matches a path segment that is a version: v2, V3, v2.0, v10.1.
var versionSeg = regexp.MustCompile(`^([vV])(\d{1,4})(\.\d{1,4})?$`)

// olderVersions returns the paths of older versions of path (N-1 and 1), and the control
// path with a version that cannot exist. ok is false when path has no version above 1.
func olderVersions(path string) (older []string, control string, ok bool) {
	segs := strings.Split(path, "/")
	for i, seg := range segs {
		m := versionSeg.FindStringSubmatch(seg)
		if m == nil {
			continue
		}
		n, err := strconv.Atoi(m[2])
		if err != nil || n < 2 {
			return nil, "", false
		}
		suffix := ""
		if m[3] != "" {
			suffix = ".0"
		}
		with := func(v string) string {
			c := append([]string(nil), segs...)
			c[i] = v
			return strings.Join(c, "/")
		}
		seen := map[int]bool{}
		for _, o := range []int{n - 1, 1} {
			if !seen[o] {
				seen[o] = true
				older = append(older, with(m[1]+strconv.Itoa(o)+suffix))
			}
		}
		return older, with(m[1] + "999" + suffix), true
	}
	return nil, "", false
}

// versionCtx is what the probe learnt, for the verdict's reason.
type versionCtx struct {
	s        *Session
	findings []finding.Finding
	notes    []string
	headers  map[string]bool // response URLs whose Deprecation/Sunset headers were checked
}

func (c *versionCtx) add(f finding.Finding) { c.findings = append(c.findings, f) }

// addControl adds a weaker-version finding with a fingerprint that names the control, so
// two missing controls on one path stay two alerts across runs.
func (c *versionCtx) addControl(f finding.Finding, control string) {
	f.Fingerprint = controlFingerprint(f, control)
	c.add(f)
}
func (c *versionCtx) note(format string, a ...any) {
	c.notes = append(c.notes, fmt.Sprintf(format, a...))
}

func (versioning) Run(ctx context.Context, s *Session) Verdict {
	if len(s.Target.Operations) == 0 {
		return NotTested("no operations known, so no versioned path to compare")
	}
	c := &versionCtx{s: s, headers: map[string]bool{}}
	tested := c.oldVersions(ctx)
	deprecated := c.deprecatedOps(ctx)
	if tested == 0 && deprecated == 0 && len(c.findings) == 0 {
		return NotTested("no operation has a version in its path (/v2/, /api/v2, v2.0) and " +
			"none is marked deprecated")
	}
	reason := strings.Join(c.notes, "; ")
	if len(c.findings) > 0 {
		return Fail(reason, c.findings...)
	}
	return Pass(reason)
}

// oldVersions compares up to maxVersionOps versioned GET operations with their older
// versions. It returns how many operations were compared.
func (c *versionCtx) oldVersions(ctx context.Context) int {
	s := c.s
	type pair struct {
		op           *target.Operation
		old, control string
	}
	var pairs []pair
	seenOld := map[string]bool{}
	for _, op := range s.Ops(http.MethodGet) {
		older, control, ok := olderVersions(op.Path)
		if !ok {
			continue
		}
		for _, o := range older {
			if seenOld[o] {
				continue
			}
			seenOld[o] = true
			pairs = append(pairs, pair{op: op, old: o, control: control})
		}
	}
	// Literal paths first: they need no parameter values that might not exist.
	sort.SliceStable(pairs, func(i, j int) bool {
		return !strings.Contains(pairs[i].op.Path, "{") && strings.Contains(pairs[j].op.Path, "{")
	})
	if len(pairs) > maxVersionOps {
		pairs = pairs[:maxVersionOps]
	}
	live, gone, redirects, catchAll := 0, 0, 0, 0
	for _, p := range pairs {
		switch c.compare(ctx, p.op, p.old, p.control) {
		case oldLive:
			live++
		case oldGone:
			gone++
		case oldRedirects:
			redirects++
		case oldCatchAll:
			catchAll++
		}
	}
	if len(pairs) > 0 {
		c.note("compared %d versioned operations with older versions: %d older versions live, "+
			"%d not served (non-2xx), %d redirect to the current one, %d indistinguishable from a "+
			"/v999/ catch-all", len(pairs), live, gone, redirects, catchAll)
	}
	return len(pairs)
}

type oldOutcome int

const (
	oldUnknown oldOutcome = iota
	oldLive
	oldGone
	oldRedirects
	oldCatchAll
)

// compare looks at one older version of op: is it live, is it only a catch-all, is it
// documented, and is it weaker than the current one.
func (c *versionCtx) compare(ctx context.Context, op *target.Operation, oldTmpl, ctlTmpl string) oldOutcome {
	s := c.s
	public := s.Target.IsPublic(op)
	id := s.Identity(0)
	if public {
		id = nil
	}
	vals := map[string]string{}
	curPath := FillPath(op, vals)
	oldPath := fillLike(oldTmpl, op, curPath)
	ctlPath := fillLike(ctlTmpl, op, curPath)

	cur, err := s.Send(ctx, id, http.MethodGet, curPath, nil, nil)
	if err != nil {
		return oldUnknown
	}
	c.checkHeaders(op, cur)
	old, err := s.Send(ctx, id, http.MethodGet, oldPath, nil, nil)
	if err != nil {
		return oldUnknown
	}
	switch {
	case old.Status == 301 || old.Status == 302 || old.Status == 307 || old.Status == 308:
		return oldRedirects
	case !Is2xx(old.Status) || LooksLikeError(old.Body):
		return oldGone
	}
	ctl, err := s.Send(ctx, id, http.MethodGet, ctlPath, nil, nil)
	if err == nil && Is2xx(ctl.Status) &&
		(string(ctl.Body) == string(old.Body) || Similarity(ctl.Body, old.Body) >= catchAllSimilarity) {
		return oldCatchAll
	}
	oldOp := &target.Operation{Method: http.MethodGet, Path: oldTmpl, Source: op.Source}
	c.checkHeaders(oldOp, old)
	documented := false
	for _, o := range s.Ops(http.MethodGet) {
		if target.MatchPath(o.Path, oldTmpl) {
			documented = true
		}
	}

	weaker := c.weaker(ctx, op, oldOp, curPath, oldPath, cur, old, id)
	alias := Is2xx(cur.Status) && Similarity(cur.Body, old.Body) >= aliasSimilarity && !weaker
	switch {
	case alias:
		c.note("GET %s is an alias of GET %s (same response and protections)", oldPath, curPath)
	case documented && !weaker:
		c.note("GET %s is a documented older version with the same protections", oldPath)
	}
	if !documented && !alias {
		f := s.NewFinding(RuleVersionOldLive, oldOp, old, finding.ConfidenceHigh,
			fmt.Sprintf("Undocumented older version GET %s still answers %d", oldTmpl, old.Status),
			Truncate(string(old.Body), 300),
			fmt.Sprintf("GET %s is not in the API description, yet answers %d while the control "+
				"%s does not answer the same way.", oldPath, old.Status, ctlPath))
		if d, ok := ParseDeprecation(old.Header.Get("Deprecation")); ok && d.Conformant {
			f.Severity = finding.SeverityLow // announced as deprecated: known to its owners
		}
		c.add(f)
	}
	return oldLive
}

// fillLike fills the parameters of tmpl (an older-version template of op) with the values
// used for op's current path, so both name the same object.
func fillLike(tmpl string, op *target.Operation, curPath string) string {
	ts, cs := strings.Split(tmpl, "/"), strings.Split(curPath, "/")
	ops := strings.Split(op.Path, "/")
	if len(ts) != len(cs) || len(ops) != len(cs) {
		return tmpl
	}
	for i := range ts {
		if target.IsParam(ts[i]) {
			ts[i] = cs[i]
		}
	}
	return strings.Join(ts, "/")
}

// sensitiveFieldWords mark response fields whose appearance only on the old version is an
// exposure, not a schema change.
var sensitiveFieldWords = []string{"password", "passwd", "hash", "secret", "token", "api_key",
	"apikey", "ssn", "salt", "private", "credit_card", "card_number", "cvv"}

// weaker re-runs the cheap controls against the old version and reports each one it lacks.
func (c *versionCtx) weaker(ctx context.Context, op, oldOp *target.Operation, curPath, oldPath string,
	cur, old *httpx.Exchange, id *target.Identity) bool {
	s := c.s
	found := false
	// Authentication: the current version refuses an anonymous call, the old one serves it.
	if !s.Target.IsPublic(op) {
		curAnon, err1 := s.Send(ctx, nil, http.MethodGet, curPath, nil, nil)
		oldAnon := old
		var err2 error
		if id != nil {
			oldAnon, err2 = s.Send(ctx, nil, http.MethodGet, oldPath, nil, nil)
		}
		if err1 == nil && err2 == nil && (curAnon.Status == 401 || curAnon.Status == 403) &&
			Is2xx(oldAnon.Status) && !LooksLikeError(oldAnon.Body) && !EmptyBody(oldAnon.Body) {
			f := s.NewFinding(RuleVersionWeaker, oldOp, oldAnon, finding.ConfidenceHigh,
				fmt.Sprintf("Older version GET %s answers without authentication", oldOp.Path),
				Truncate(string(oldAnon.Body), 300),
				fmt.Sprintf("Without credentials GET %s answers %d, while the current GET %s "+
					"answers %d.", oldPath, oldAnon.Status, curPath, curAnon.Status))
			f.CWE = []string{"CWE-1059", "CWE-306"}
			c.addControl(f, "authentication")
			found = true
		}
	}
	// CORS: an origin the current version does not trust is allowed on the old one.
	origin := "https://" + s.Canary + ".evil.example"
	h := http.Header{"Origin": {origin}}
	curC, err1 := s.Send(ctx, id, http.MethodGet, curPath, nil, h)
	oldC, err2 := s.Send(ctx, id, http.MethodGet, oldPath, nil, h)
	if err1 == nil && err2 == nil && !allowsOrigin(curC, origin) && allowsOrigin(oldC, origin) {
		f := s.NewFinding(RuleVersionWeaker, oldOp, oldC, finding.ConfidenceHigh,
			fmt.Sprintf("Older version GET %s allows any CORS origin", oldOp.Path),
			HeaderExcerpt(oldC, "Access-Control-Allow-Origin", "Access-Control-Allow-Credentials"),
			fmt.Sprintf("The old version allows Origin %s, which the current GET %s refuses.",
				origin, curPath))
		f.CWE = []string{"CWE-1059", "CWE-942"}
		f.Severity = finding.SeverityMedium
		if strings.EqualFold(oldC.Header.Get("Access-Control-Allow-Credentials"), "true") {
			f.Severity = finding.SeverityHigh
		}
		c.addControl(f, "cors")
		found = true
	}
	// Exposure: sensitive fields that only the old version returns.
	if Is2xx(cur.Status) {
		curKeys := leafKeys(cur.Body)
		var extra []string
		for k := range leafKeys(old.Body) {
			if !curKeys[k] && sensitiveName(k) {
				extra = append(extra, k)
			}
		}
		if len(extra) > 0 {
			sort.Strings(extra)
			f := s.NewFinding(RuleVersionWeaker, oldOp, old, finding.ConfidenceMedium,
				fmt.Sprintf("Older version GET %s returns fields the current one hides", oldOp.Path),
				"fields only in the old version: "+strings.Join(extra, ", "),
				fmt.Sprintf("GET %s returns %s, which GET %s no longer returns.", oldPath,
					strings.Join(extra, ", "), curPath))
			f.CWE = []string{"CWE-1059", "CWE-213"}
			c.addControl(f, "exposure")
			found = true
		}
	}
	// Headers: protective response headers the current version sends and the old one lacks.
	var missing []string
	for _, name := range []string{"X-Content-Type-Options", "Cache-Control", "Strict-Transport-Security",
		"Content-Security-Policy"} {
		if cur.Header.Get(name) != "" && old.Header.Get(name) == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		f := s.NewFinding(RuleVersionWeaker, oldOp, old, finding.ConfidenceHigh,
			fmt.Sprintf("Older version GET %s lacks security headers the current one sends", oldOp.Path),
			"missing on the old version: "+strings.Join(missing, ", "),
			fmt.Sprintf("GET %s sends %s; GET %s does not.", curPath, strings.Join(missing, ", "), oldPath))
		f.CWE = []string{"CWE-1059", "CWE-16"}
		f.Severity = finding.SeverityLow
		c.addControl(f, "headers")
		found = true
	}
	return found
}

// allowsOrigin reports whether a response lets origin read it.
func allowsOrigin(ex *httpx.Exchange, origin string) bool {
	a := ex.Header.Get("Access-Control-Allow-Origin")
	return a == origin || a == "*"
}

func sensitiveName(k string) bool {
	k = strings.ToLower(strings.ReplaceAll(k, "-", "_"))
	for _, w := range sensitiveFieldWords {
		if strings.Contains(k, w) {
			return true
		}
	}
	return false
}

// leafKeys returns the last path component of every JSON leaf, so lists of objects compare
// by their field names.
func leafKeys(body []byte) map[string]bool {
	out := map[string]bool{}
	for path := range Flatten(body) {
		k := path
		if i := strings.LastIndexAny(k, ".]"); i >= 0 {
			k = k[i+1:]
		}
		if k != "" {
			out[k] = true
		}
	}
	return out
}

// deprecatedOps calls the GET operations the description marks deprecated and checks they
// announce it. It returns how many were checked.
func (c *versionCtx) deprecatedOps(ctx context.Context) int {
	s := c.s
	n, silent := 0, 0
	for _, op := range s.Ops(http.MethodGet) {
		if !op.Deprecated || n >= maxDeprecatedOps {
			continue
		}
		id := s.Identity(0)
		if s.Target.IsPublic(op) {
			id = nil
		}
		ex, err := s.Send(ctx, id, http.MethodGet, FillPath(op, nil), nil, nil)
		if err != nil || ex.Status == 0 {
			continue
		}
		n++
		if ex.Header.Get("Deprecation") == "" && ex.Status != 404 && ex.Status != 410 {
			silent++
			c.add(s.NewFinding(RuleVersionDeprecatedNoHeader, op, ex, finding.ConfidenceHigh,
				fmt.Sprintf("Deprecated GET %s sends no Deprecation header", op.Path),
				fmt.Sprintf("HTTP %d with no Deprecation header", ex.Status),
				"The API description marks this operation deprecated: true, but the response "+
					"does not announce it."))
			continue
		}
		c.checkHeaders(op, ex)
	}
	if n > 0 {
		c.note("called %d deprecated operations: %d without a Deprecation header", n, silent)
	}
	return n
}

// controlFingerprint is the scanner's fingerprint (rule, method, path) extended with the
// name of the control.
func controlFingerprint(f finding.Finding, control string) string {
	h := sha256.Sum256([]byte(f.Rule + "\x00" + f.Method + "\x00" + f.Path + "\x00" + control))
	return hex.EncodeToString(h[:8])
}
