package probes

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/apigate/apigate/internal/finding"
	"github.com/apigate/apigate/internal/httpx"
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
	notes    []string        // one summary per part
	details  []string        // per-operation remarks, after the summaries
	headers  map[string]bool // response URLs whose Deprecation/Sunset headers were checked
}

func (c *versionCtx) add(f finding.Finding) { c.findings = append(c.findings, f) }

func (c *versionCtx) note(format string, a ...any) {
	c.notes = append(c.notes, fmt.Sprintf(format, a...))
}

// detail records a per-operation remark once.
func (c *versionCtx) detail(format string, a ...any) {
	d := fmt.Sprintf(format, a...)
	if !slices.Contains(c.details, d) {
		c.details = append(c.details, d)
	}
}

func (versioning) Run(ctx context.Context, s *Session) Verdict {
	if len(s.Target.Operations) == 0 {
		return NotTested("no operations known, so no versioned path to compare")
	}
	c := &versionCtx{s: s, headers: map[string]bool{}}
	tested := c.oldVersions(ctx, c.variants())
	deprecated := c.deprecatedOps(ctx)
	if tested == 0 && deprecated == 0 && len(c.findings) == 0 {
		return NotTested("no operation has a version in its path (/v2/, /api/v2, v2.0) or a " +
			"version parameter, and none is marked deprecated")
	}
	reason := strings.Join(append(c.notes, c.details...), "; ")
	if len(c.findings) > 0 {
		return Fail(reason, c.findings...)
	}
	if n := s.Client.Stats().Errors.Load(); n > 0 {
		return Inconclusive(fmt.Sprintf("%d requests failed at the transport level; %s", n, reason))
	}
	return Pass(reason)
}

// sensitiveFieldWords mark response fields whose appearance only on the old version is an
// exposure, not a schema change.
var sensitiveFieldWords = []string{"password", "passwd", "pwd", "pass_hash", "secret",
	"api_key", "apikey", "access_token", "refresh_token", "auth_token", "session_token", "ssn",
	"salt", "private_key", "credit_card", "card_number", "cvv"}

// allowsOrigin reports whether a response lets origin read it.
func allowsOrigin(ex *httpx.Exchange, origin string) bool {
	a := ex.Header.Get("Access-Control-Allow-Origin")
	return a == origin || a == "*"
}

// sensitiveName reports a field name that holds a secret, in snake_case, camelCase or
// kebab-case.
func sensitiveName(k string) bool {
	var b strings.Builder
	for i, r := range k {
		if r >= 'A' && r <= 'Z' && i > 0 {
			b.WriteByte('_')
		}
		b.WriteRune(r)
	}
	k = strings.ToLower(strings.ReplaceAll(b.String(), "-", "_"))
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
	n, silent, refused := 0, 0, 0
	for _, op := range s.Ops(http.MethodGet) {
		if !op.Deprecated || n+refused >= maxDeprecatedOps || opsBroken(s) {
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
		// Only a served answer must announce the deprecation: a refusal (401 from the auth
		// layer, 404 for a made-up id) comes from code that knows nothing of it.
		if !Is2xx(ex.Status) {
			refused++
			c.checkHeaders(op, ex)
			continue
		}
		n++
		if ex.Header.Get("Deprecation") == "" {
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
	if n > 0 || refused > 0 {
		c.note("called %d deprecated operations: %d answered 2xx, %d of them without a "+
			"Deprecation header; %d refused (not judged)", n+refused, n, silent, refused)
	}
	return n + refused
}

// controlFingerprint is the scanner's fingerprint (rule, method, path) extended with the
// name of the control.
func controlFingerprint(f finding.Finding, control string) string {
	h := sha256.Sum256([]byte(f.Rule + "\x00" + f.Method + "\x00" + f.Path + "\x00" + control))
	return hex.EncodeToString(h[:8])
}
