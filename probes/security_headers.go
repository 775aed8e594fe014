package probes

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/apigate/apigate/internal/finding"
	"github.com/apigate/apigate/internal/httpx"
	"github.com/apigate/apigate/internal/target"
)

// Rules of the security-headers check. Only successful (2xx) responses are judged, as
// gateways and error pages often lack the application's headers; HSTS belongs to the
// transport check and X-XSS-Protection is deprecated, so neither is demanded here.
var (
	RuleHeadersContentType = Rule{
		ID: "security-headers-content-type", Check: finding.CheckSecurityHeaders,
		Title: "Response without a matching Content-Type", Severity: finding.SeverityLow,
		CWE: []string{"CWE-16", "CWE-693"}, OWASP: "API8:2023",
		Summary: "A successful response has no Content-Type, or one that does not match its JSON body.",
		Help: "A browser that is not told a response is JSON may sniff it and render it as " +
			"HTML, turning any reflected value into cross-site scripting. Send " +
			"`Content-Type: application/json` (or the body's real media type) on every response.",
	}
	RuleHeadersNosniff = Rule{
		ID: "security-headers-nosniff", Check: finding.CheckSecurityHeaders,
		Title: "X-Content-Type-Options: nosniff missing", Severity: finding.SeverityLow,
		CWE: []string{"CWE-693"}, OWASP: "API8:2023",
		Summary: "Successful JSON responses do not carry X-Content-Type-Options: nosniff.",
		Help: "Without `nosniff` a browser may ignore the declared type and interpret an API " +
			"response as HTML or script. Add `X-Content-Type-Options: nosniff` to every " +
			"response, typically in one middleware or at the reverse proxy.",
	}
	RuleHeadersCache = Rule{
		ID: "security-headers-cache-control", Check: finding.CheckSecurityHeaders,
		Title: "Authenticated response may be cached", Severity: finding.SeverityLow,
		CWE: []string{"CWE-525"}, OWASP: "API8:2023",
		Summary: "Responses to authenticated requests lack Cache-Control: no-store.",
		Help: "Browsers, proxies and CDNs may store a response that does not forbid it, and " +
			"serve one user's data to the next person on a shared machine or cache. Send " +
			"`Cache-Control: no-store` on responses that carry user or sensitive data.",
	}
	RuleHeadersFraming = Rule{
		ID: "security-headers-framing", Check: finding.CheckSecurityHeaders,
		Title: "HTML response can be framed", Severity: finding.SeverityLow,
		CWE: []string{"CWE-1021"}, OWASP: "API8:2023",
		Summary: "An HTML response has neither CSP frame-ancestors nor X-Frame-Options.",
		Help: "A page that any site can embed in a frame can be used for clickjacking. Send " +
			"`Content-Security-Policy: frame-ancestors 'none'` (and `X-Frame-Options: DENY` " +
			"for old browsers) on HTML responses; pure JSON responses do not need them.",
	}
)

// maxHeaderOps caps the operations the security-headers check reads.
const maxHeaderOps = 20

// securityHeaders reads up to twenty GET operations (authenticated ones as the first
// identity) and judges only their 2xx answers; each rule gives at most one finding that
// lists every operation it applies to, since one missing middleware is one fix.
type securityHeaders struct{}

// NewSecurityHeaders returns the probe.
func NewSecurityHeaders() Probe { return securityHeaders{} }

func (securityHeaders) Check() finding.Check { return finding.CheckSecurityHeaders }

func (securityHeaders) Rules() []Rule {
	return []Rule{RuleHeadersContentType, RuleHeadersNosniff, RuleHeadersCache, RuleHeadersFraming}
}

// headerHit is one operation that broke a rule, with the exchange that shows it.
type headerHit struct {
	op     *target.Operation
	ex     *httpx.Exchange
	sev    finding.Severity
	reason string
}

func (p securityHeaders) Run(ctx context.Context, s *Session) Verdict {
	ops := s.readableOps(maxHeaderOps)
	if len(ops) == 0 {
		return NotTested("no GET operation is known, so there is no response to judge")
	}
	hits := map[string][]headerHit{}
	judged, authed := 0, 0
	for _, op := range ops {
		if ctx.Err() != nil {
			break
		}
		id := s.identityFor(op)
		ex, err := s.Send(ctx, id, "GET", FillPath(op, nil), nil, nil)
		if err != nil || !Is2xx(ex.Status) || len(ex.Body) == 0 {
			continue
		}
		judged++
		if id != nil {
			authed++
		}
		for _, h := range judgeHeaders(ex, id != nil) {
			h.op = op
			h.ex = ex
			hits[h.reason] = append(hits[h.reason], h)
		}
	}
	if judged == 0 {
		return Inconclusive(fmt.Sprintf(
			"none of the %d GET operations tried answered 2xx with a body, so no header could be judged",
			len(ops)))
	}
	var fs []finding.Finding
	for _, r := range p.Rules() {
		if list := hits[r.ID]; len(list) > 0 {
			fs = append(fs, headerFinding(s, r, list))
		}
	}
	summary := fmt.Sprintf("judged the headers of %d successful responses (%d authenticated)",
		judged, authed)
	if len(fs) > 0 {
		return Fail(summary, fs...)
	}
	return Pass(summary + ": Content-Type and nosniff present, authenticated responses not cacheable")
}

// judgeHeaders applies every rule to one successful response. The hit's reason field carries
// the rule ID until headerFinding groups them.
func judgeHeaders(ex *httpx.Exchange, authenticated bool) []headerHit {
	var out []headerHit
	mt := mediaType(ex)
	jsonBody := IsJSON(&httpx.Exchange{Header: http.Header{}, Body: ex.Body})
	switch {
	case mt == "":
		out = append(out, headerHit{reason: RuleHeadersContentType.ID, sev: finding.SeverityLow})
	case jsonBody && !strings.Contains(mt, "json"):
		out = append(out, headerHit{reason: RuleHeadersContentType.ID, sev: finding.SeverityLow})
	}
	if (jsonBody || strings.Contains(mt, "json")) &&
		!strings.EqualFold(strings.TrimSpace(ex.Header.Get("X-Content-Type-Options")), "nosniff") {
		out = append(out, headerHit{reason: RuleHeadersNosniff.ID, sev: finding.SeverityLow})
	}
	if authenticated {
		cc := strings.ToLower(strings.Join(ex.Header.Values("Cache-Control"), ","))
		switch {
		case strings.Contains(cc, "no-store"):
		case strings.Contains(cc, "private") && strings.Contains(cc, "no-cache"):
			out = append(out, headerHit{reason: RuleHeadersCache.ID, sev: finding.SeverityInfo})
		default:
			out = append(out, headerHit{reason: RuleHeadersCache.ID, sev: finding.SeverityLow})
		}
	}
	if mt == "text/html" && !framingSet(ex.Header) {
		out = append(out, headerHit{reason: RuleHeadersFraming.ID, sev: finding.SeverityLow})
	}
	return out
}

// framingSet reports whether the response forbids or restricts framing.
func framingSet(h http.Header) bool {
	if h.Get("X-Frame-Options") != "" {
		return true
	}
	for _, v := range h.Values("Content-Security-Policy") {
		if strings.Contains(strings.ToLower(v), "frame-ancestors") {
			return true
		}
	}
	return false
}

// headerFinding turns every hit of one rule into a single finding: the first operation is
// the evidence, the others are listed in the detail, so a missing middleware is one finding
// and not one per route.
func headerFinding(s *Session, r Rule, list []headerHit) finding.Finding {
	sev := finding.SeverityInfo
	var ops []*target.Operation
	for _, h := range list {
		sev = max(sev, h.sev)
		ops = append(ops, h.op)
	}
	first := list[0]
	var excerpt, what string
	switch r.ID {
	case RuleHeadersContentType.ID:
		excerpt = fmt.Sprintf("Content-Type: %q\n%s", first.ex.Header.Get("Content-Type"),
			Truncate(string(first.ex.Body), 120))
		what = "a JSON body is served without a JSON Content-Type"
	case RuleHeadersNosniff.ID:
		excerpt = headerOrAbsent(first.ex, "X-Content-Type-Options")
		what = "JSON is served without X-Content-Type-Options: nosniff"
	case RuleHeadersCache.ID:
		excerpt = headerOrAbsent(first.ex, "Cache-Control")
		what = "authenticated responses do not say Cache-Control: no-store"
		if sev == finding.SeverityInfo {
			what = "authenticated responses use private, no-cache instead of no-store"
		}
	case RuleHeadersFraming.ID:
		excerpt = headerOrAbsent(first.ex, "Content-Security-Policy", "X-Frame-Options")
		what = "HTML is served without frame-ancestors or X-Frame-Options"
	}
	detail := fmt.Sprintf("%s on %d operation(s): %s.", what, len(ops), opNames(ops, 12))
	f := s.NewFinding(r, first.op, first.ex, finding.ConfidenceHigh, "", excerpt, detail)
	f.Severity = sev
	return f
}

// headerOrAbsent renders the named headers for evidence, saying so when none is present.
func headerOrAbsent(ex *httpx.Exchange, names ...string) string {
	if x := HeaderExcerpt(ex, names...); x != "" {
		return x
	}
	return strings.Join(names, ", ") + ": (absent)"
}
