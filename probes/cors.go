package probes

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/apigate/apigate/internal/finding"
	"github.com/apigate/apigate/internal/httpx"
	"github.com/apigate/apigate/internal/target"
)

// Rules of the CORS check. A finding needs the server to trust an origin it was sent, so
// a fixed allow-listed Access-Control-Allow-Origin never fires, and `*` without credentials
// on public data is left to the reason line: any site may read what anyone may read.
var (
	RuleCORSReflected = Rule{
		ID: "cors-reflected-origin", Check: finding.CheckCORS,
		Title: "Arbitrary Origin trusted by CORS", Severity: finding.SeverityHigh,
		CWE: []string{"CWE-942", "CWE-346"}, OWASP: "API8:2023",
		Summary: "The API echoes any Origin in Access-Control-Allow-Origin.",
		Help: "When the API copies the request's Origin into `Access-Control-Allow-Origin` " +
			"(worse, with `Access-Control-Allow-Credentials: true`), any web site a user " +
			"visits can read the API's responses with that user's cookies. Compare the " +
			"Origin against an exact allow-list and answer without CORS headers otherwise.",
	}
	RuleCORSNull = Rule{
		ID: "cors-null-origin", Check: finding.CheckCORS,
		Title: "Origin null trusted by CORS", Severity: finding.SeverityHigh,
		CWE: []string{"CWE-942", "CWE-346"}, OWASP: "API8:2023",
		Summary: "The API allows the `null` origin, which any sandboxed iframe can send.",
		Help: "Browsers send `Origin: null` from sandboxed iframes, `data:` URLs and local " +
			"files, so trusting it is trusting every site. Remove `null` from the allow-list.",
	}
	RuleCORSBypass = Rule{
		ID: "cors-origin-bypass", Check: finding.CheckCORS,
		Title: "CORS allow-list bypassed by a look-alike origin", Severity: finding.SeverityHigh,
		CWE: []string{"CWE-942", "CWE-346"}, OWASP: "API8:2023",
		Summary: "A look-alike origin (prefix, suffix, unescaped dot, odd characters) is trusted.",
		Help: "An allow-list checked with a prefix, suffix, substring or an unanchored regex " +
			"with unescaped dots accepts attacker domains such as `api.example.com.evil.net`. " +
			"Compare the parsed origin (scheme, host, port) for exact equality with the " +
			"allowed values.",
	}
	RuleCORSHTTPOrigin = Rule{
		ID: "cors-http-origin", Check: finding.CheckCORS,
		Title: "Plain-HTTP origin trusted by an HTTPS API", Severity: finding.SeverityMedium,
		CWE: []string{"CWE-942", "CWE-319"}, OWASP: "API8:2023",
		Summary: "An https API trusts the http:// version of an origin.",
		Help: "A page served over plain HTTP can be altered by anyone on the network path, " +
			"so trusting it lets a network attacker read the API's responses. Allow only " +
			"https:// origins.",
	}
	RuleCORSSubdomain = Rule{
		ID: "cors-any-subdomain", Check: finding.CheckCORS,
		Title: "Any sub-domain trusted with credentials", Severity: finding.SeverityLow,
		CWE: []string{"CWE-942"}, OWASP: "API8:2023",
		Summary: "Any sub-domain of the API's host is trusted, with credentials.",
		Help: "Trusting every sub-domain means one cross-site scripting bug or dangling DNS " +
			"record on any of them exposes the API. List the sub-domains that need access.",
	}
	RuleCORSWildcard = Rule{
		ID: "cors-wildcard", Check: finding.CheckCORS,
		Title: "Wildcard CORS on credentialed or private responses", Severity: finding.SeverityLow,
		CWE: []string{"CWE-942"}, OWASP: "API8:2023",
		Summary: "`Access-Control-Allow-Origin: *` is sent with credentials or on cookie-authenticated data.",
		Help: "Browsers refuse `*` together with credentials, so this combination is a " +
			"misconfiguration that usually precedes a switch to reflecting the origin. " +
			"Use `*` only for public data and an exact allow-list elsewhere.",
	}
	RuleCORSPreflight = Rule{
		ID: "cors-preflight-permissive", Check: finding.CheckCORS,
		Title: "Preflight allows any method and header", Severity: finding.SeverityInfo,
		CWE: []string{"CWE-942"}, OWASP: "API8:2023",
		Summary: "The preflight echoes whatever methods and headers an untrusted origin asks for.",
		Help: "Echoing `Access-Control-Request-Method` and `-Headers` lets a trusted-by-mistake " +
			"origin send state-changing requests with custom headers. Answer preflights with " +
			"a fixed list of the methods and headers the API uses.",
	}
	RuleCORSVary = Rule{
		ID: "cors-vary-origin-missing", Check: finding.CheckCORS,
		Title: "Origin-dependent CORS without Vary: Origin", Severity: finding.SeverityLow,
		CWE: []string{"CWE-942", "CWE-524"}, OWASP: "API8:2023",
		Summary: "Access-Control-Allow-Origin changes with the Origin but Vary lacks Origin.",
		Help: "A shared cache that is not told the response varies by Origin may serve one " +
			"origin's CORS headers to another, breaking clients or widening access. Send " +
			"`Vary: Origin` whenever the CORS headers depend on the request's Origin.",
	}
)

// maxCORSRoutes caps the routes tried; half authenticated and half public when possible.
const maxCORSRoutes = 6

// cors sends, to up to six routes (authenticated ones with the first identity's
// credentials), the target's own origin and then attacker, null, look-alike, sub-domain and
// plain-http origins, one preflight from an attacker origin, and one credential-less request
// to a protected route. A finding needs Access-Control-Allow-Origin to trust the origin that
// was sent; its severity follows the credentials flag and whether the API authenticates with
// cookies (which browsers attach) or bearer headers (which they do not).
type cors struct{}

// NewCORS returns the probe.
func NewCORS() Probe { return cors{} }

func (cors) Check() finding.Check { return finding.CheckCORS }

func (cors) Rules() []Rule {
	return []Rule{RuleCORSReflected, RuleCORSNull, RuleCORSBypass, RuleCORSHTTPOrigin,
		RuleCORSSubdomain, RuleCORSWildcard, RuleCORSPreflight, RuleCORSVary}
}

// originVariant is one Origin value and the rule it proves when trusted.
type originVariant struct {
	name   string
	origin string
	rule   *Rule
}

// originVariants builds the origins to send for a target at base.
func originVariants(scheme, host, hostname string) []originVariant {
	r := randLabel(8)
	vs := []originVariant{
		{"an arbitrary origin", scheme + "://apigate-" + r + ".com", &RuleCORSReflected},
		{"the null origin", "null", &RuleCORSNull},
		{"a prefix look-alike", scheme + "://" + hostname + ".apigate-" + r + ".com", &RuleCORSBypass},
		{"a suffix look-alike", scheme + "://apigate" + r + host, &RuleCORSBypass},
		{"a special-character look-alike", scheme + "://" + hostname + "`.apigate-" + r + ".com", &RuleCORSBypass},
		{"an underscore look-alike", scheme + "://" + hostname + "_.apigate-" + r + ".com", &RuleCORSBypass},
		{"a sub-domain", scheme + "://apigate-" + r + "." + host, &RuleCORSSubdomain},
	}
	if i := strings.Index(hostname, "."); i > 0 {
		dotless := hostname[:i] + "x" + hostname[i+1:]
		vs = append(vs, originVariant{"an unescaped-dot look-alike",
			scheme + "://" + strings.Replace(host, hostname, dotless, 1), &RuleCORSBypass})
	}
	if scheme == "https" {
		vs = append(vs, originVariant{"the plain-http origin", "http://" + host, &RuleCORSHTTPOrigin})
	}
	return vs
}

// corsHit is one route that trusted one variant.
type corsHit struct {
	op      *target.Operation
	ex      *httpx.Exchange
	variant string
	sev     finding.Severity
	creds   bool
	authed  bool
}

// corsRun holds what the check learnt.
type corsRun struct {
	s        *Session
	hits     map[string][]corsHit // rule ID -> hits
	cookies  bool                 // some identity authenticates with cookies
	bearer   bool                 // identities authenticate with headers only
	wildcard []string
	routes   int
	sent     int
	spent    bool // the request budget refused a request: the loops stop
}

// count records one request's outcome: counted only if it went out, and a refusal by the
// budget stops the check.
func (r *corsRun) count(ex *httpx.Exchange, err error) {
	if wentOut(ex, err) {
		r.sent++
	}
	r.spent = r.spent || errors.Is(err, httpx.ErrBudget)
}

func (p cors) Run(ctx context.Context, s *Session) Verdict {
	r := &corsRun{s: s, hits: map[string][]corsHit{}}
	r.cookies, r.bearer = authKinds(s.Target.Identities, s.Target.Operations)
	ops := s.readableOps(maxCORSRoutes)
	if len(ops) == 0 {
		ops = []*target.Operation{{Method: "GET", Path: "/", Security: target.SecurityNone}}
	}
	u := s.Target.Base
	variants := originVariants(u.Scheme, u.Host, u.Hostname())
	own := u.Scheme + "://" + u.Host
	preflightDone, anonDone := false, false
	for _, op := range ops {
		if ctx.Err() != nil || r.spent {
			break
		}
		id := s.identityFor(op)
		path := FillPath(op, nil)
		base, err := r.get(ctx, id, path, own)
		if err != nil || base.Status == 0 {
			continue
		}
		r.routes++
		ownACAO := strings.TrimSpace(base.Header.Get("Access-Control-Allow-Origin"))
		dynamic, echoed, varies := false, false, false
	variants:
		for _, v := range variants {
			if r.spent {
				break
			}
			ex, err := r.get(ctx, id, path, v.origin)
			if err != nil || ex.Status == 0 {
				continue
			}
			acao := strings.TrimSpace(ex.Header.Get("Access-Control-Allow-Origin"))
			varies = varies || acao != ownACAO
			creds := strings.EqualFold(strings.TrimSpace(
				ex.Header.Get("Access-Control-Allow-Credentials")), "true")
			switch {
			case acao == "*":
				r.judgeWildcard(op, ex, id != nil, creds)
			case originEqual(acao, v.origin) || (strings.Contains(v.origin, "`") &&
				strings.Contains(acao, "`")):
				dynamic = true
				r.add(*v.rule, corsHit{op: op, ex: ex, variant: v.name, creds: creds,
					authed: id != nil, sev: r.grade(*v.rule, creds, id != nil)})
				r.checkVary(op, ex)
				echoed = echoed || v.rule == &RuleCORSReflected
			}
			if echoed && v.rule == &RuleCORSNull {
				break variants // everything is echoed here: look-alikes prove nothing more
			}
		}
		// An origin decision that differs between the own origin and others must vary; a
		// fixed value, even the own origin, needs no Vary.
		if !dynamic && varies && originEqual(ownACAO, own) {
			r.checkVary(op, base)
		}
		if id != nil && !echoed && !anonDone && !r.spent {
			// Some stacks answer CORS before authentication, or only on their error
			// responses: the same route without credentials may still trust the origin.
			anonDone = true
			r.anonymous(ctx, op, path, variants[0])
		}
		if !preflightDone && !r.spent {
			preflightDone = true
			r.preflight(ctx, op, id, path)
		}
	}
	if r.routes == 0 {
		return Inconclusive("no route answered, so CORS could not be judged")
	}
	fs := r.findings()
	reason := fmt.Sprintf("sent %d requests with attacker, null, look-alike and sub-domain "+
		"origins (and a preflight) to %d routes", r.sent, r.routes)
	if len(r.wildcard) > 0 {
		reason += fmt.Sprintf("; Access-Control-Allow-Origin: * without credentials on %s "+
			"(acceptable for data that needs no cookie)", strings.Join(r.wildcard, ", "))
	}
	if r.spent {
		reason += "; " + budgetStop
	}
	if len(fs) > 0 {
		return Fail(reason, fs...)
	}
	return Pass(reason + "; no untrusted origin was allowed")
}

func (r *corsRun) get(ctx context.Context, id *target.Identity,
	path, origin string) (*httpx.Exchange, error) {
	ex, err := r.s.Send(ctx, id, "GET", path, nil, http.Header{"Origin": {origin}})
	r.count(ex, err)
	return ex, err
}

// anonymous sends the arbitrary origin to a protected route without credentials.
func (r *corsRun) anonymous(ctx context.Context, op *target.Operation, path string, v originVariant) {
	ex, err := r.get(ctx, nil, path, v.origin)
	if err != nil || ex.Status == 0 {
		return
	}
	if originEqual(strings.TrimSpace(ex.Header.Get("Access-Control-Allow-Origin")), v.origin) {
		creds := strings.EqualFold(strings.TrimSpace(
			ex.Header.Get("Access-Control-Allow-Credentials")), "true")
		r.add(*v.rule, corsHit{op: op, ex: ex, variant: v.name + " without credentials",
			creds: creds, sev: r.grade(*v.rule, creds, false)})
		r.checkVary(op, ex)
	}
}

// authKinds tells whether the API authenticates with cookies (which browsers attach to
// cross-origin requests by themselves) or only with headers such as a bearer token. The
// identities say how the scanner logs in, the document's security schemes how the API
// says it does; both count, so the verdict is the same whether identities are configured
// or not. Cookies (or HTTP Basic) anywhere win: one ambient credential is enough.
func authKinds(ids []*target.Identity, ops []*target.Operation) (cookies, headersOnly bool) {
	declared := false
	for _, op := range ops {
		for _, k := range op.AuthSchemes {
			declared = true
			if k == target.AuthCookie || k == target.AuthBasic {
				cookies = true
			}
		}
	}
	for _, id := range ids {
		req, _ := http.NewRequest("GET", "http://x/", nil)
		id.Apply(req)
		basic := strings.HasPrefix(req.Header.Get("Authorization"), "Basic ")
		if req.Header.Get("Cookie") != "" || basic {
			cookies = true
		}
	}
	if len(ids) == 0 && !declared {
		return false, false // nothing says how the API authenticates
	}
	return cookies, !cookies
}

// grade sets the severity of a trusted origin from the credentials flag and how the API
// authenticates: browsers attach cookies to cross-origin requests, never a bearer token.
func (r *corsRun) grade(rule Rule, creds, authed bool) finding.Severity {
	switch rule.ID {
	case RuleCORSSubdomain.ID:
		if creds {
			return finding.SeverityLow
		}
		return finding.SeverityInfo
	case RuleCORSHTTPOrigin.ID:
		if creds && !r.bearer {
			return finding.SeverityMedium
		}
		return finding.SeverityLow
	}
	switch {
	case creds && !r.bearer:
		return finding.SeverityHigh
	case creds:
		return finding.SeverityMedium // bearer tokens are not sent by the browser on its own
	case authed && r.cookies:
		return finding.SeverityMedium
	}
	return finding.SeverityLow
}

func (r *corsRun) add(rule Rule, h corsHit) {
	if rule.ID == RuleCORSSubdomain.ID && !h.creds {
		return // trusting one's own sub-domains without credentials is a policy, not a flaw
	}
	r.hits[rule.ID] = append(r.hits[rule.ID], h)
}

// judgeWildcard records `*`: a finding only with credentials or on cookie-authenticated
// data; on anything else it is noted in the reason.
func (r *corsRun) judgeWildcard(op *target.Operation, ex *httpx.Exchange, authed, creds bool) {
	if creds || (authed && r.cookies) {
		for _, h := range r.hits[RuleCORSWildcard.ID] {
			if h.op == op {
				return
			}
		}
		r.hits[RuleCORSWildcard.ID] = append(r.hits[RuleCORSWildcard.ID],
			corsHit{op: op, ex: ex, variant: "any origin", creds: creds, authed: authed,
				sev: finding.SeverityLow})
		return
	}
	name := op.Method + " " + op.Path
	for _, w := range r.wildcard {
		if w == name {
			return
		}
	}
	r.wildcard = append(r.wildcard, name)
}

// checkVary records a dynamic CORS response that does not vary by Origin.
func (r *corsRun) checkVary(op *target.Operation, ex *httpx.Exchange) {
	vary := strings.ToLower(strings.Join(ex.Header.Values("Vary"), ","))
	if strings.Contains(vary, "origin") || strings.TrimSpace(vary) == "*" {
		return
	}
	for _, h := range r.hits[RuleCORSVary.ID] {
		if h.op == op {
			return
		}
	}
	r.hits[RuleCORSVary.ID] = append(r.hits[RuleCORSVary.ID],
		corsHit{op: op, ex: ex, variant: "the Origin", sev: finding.SeverityLow})
}

// preflight sends one OPTIONS request from an attacker origin asking for a destructive
// method and a random header. Trusting the origin there, even when the simple request did
// not, is reported; echoing the asked method and header adds an informational finding.
func (r *corsRun) preflight(ctx context.Context, op *target.Operation, id *target.Identity,
	path string) {
	origin := r.s.Target.Base.Scheme + "://apigate-" + randLabel(8) + ".com"
	hdr := "x-apigate-" + randLabel(6)
	ex, err := r.s.Client.Do(ctx, httpx.Request{Method: "OPTIONS", URL: r.s.Target.URL(path),
		Header: http.Header{"Origin": {origin}, "Access-Control-Request-Method": {"DELETE"},
			"Access-Control-Request-Headers": {"authorization," + hdr}}})
	r.count(ex, err)
	if err != nil || ex.Status == 0 {
		return
	}
	acao := strings.TrimSpace(ex.Header.Get("Access-Control-Allow-Origin"))
	if !originEqual(acao, origin) {
		return
	}
	creds := strings.EqualFold(ex.Header.Get("Access-Control-Allow-Credentials"), "true")
	if len(r.hits[RuleCORSReflected.ID]) == 0 {
		r.add(RuleCORSReflected, corsHit{op: op, ex: ex, variant: "an arbitrary origin in a preflight",
			creds: creds, authed: id != nil, sev: r.grade(RuleCORSReflected, creds, id != nil)})
	}
	methods := strings.ToUpper(strings.Join(ex.Header.Values("Access-Control-Allow-Methods"), ","))
	headers := strings.ToLower(strings.Join(ex.Header.Values("Access-Control-Allow-Headers"), ","))
	if strings.Contains(headers, hdr) || strings.TrimSpace(headers) == "*" ||
		strings.TrimSpace(methods) == "*" {
		r.hits[RuleCORSPreflight.ID] = append(r.hits[RuleCORSPreflight.ID],
			corsHit{op: op, ex: ex, variant: "a random header", creds: creds,
				sev: finding.SeverityInfo})
	}
}

// originEqual compares an ACAO value with the origin sent: scheme and host ignore case,
// nothing else does.
func originEqual(acao, sent string) bool {
	if acao == "" {
		return false
	}
	if acao == sent {
		return true
	}
	as, ah, ok1 := strings.Cut(acao, "://")
	ss, sh, ok2 := strings.Cut(sent, "://")
	return ok1 && ok2 && strings.EqualFold(as, ss) && strings.EqualFold(ah, sh)
}

// findings turns the hits into one finding per rule: the most severe route is the
// evidence, the others are listed in the detail.
func (r *corsRun) findings() []finding.Finding {
	var out []finding.Finding
	for _, rule := range NewCORS().Rules() {
		hits := r.hits[rule.ID]
		if len(hits) == 0 {
			continue
		}
		best := hits[0]
		var ops []*target.Operation
		for _, h := range hits {
			ops = append(ops, h.op)
			if h.sev > best.sev {
				best = h
			}
		}
		excerpt := HeaderExcerpt(best.ex, "Access-Control-Allow-Origin",
			"Access-Control-Allow-Credentials", "Access-Control-Allow-Methods",
			"Access-Control-Allow-Headers", "Vary")
		detail := r.detail(rule, best, ops)
		f := r.s.NewFinding(rule, best.op, best.ex, finding.ConfidenceHigh, "", excerpt, detail)
		f.Severity = best.sev
		out = append(out, f)
	}
	return out
}

func (r *corsRun) detail(rule Rule, h corsHit, ops []*target.Operation) string {
	sent := h.ex.ReqHeader.Get("Origin")
	var d string
	switch rule.ID {
	case RuleCORSVary.ID:
		d = "Access-Control-Allow-Origin follows the request's Origin but the response has no Vary: Origin"
	case RuleCORSPreflight.ID:
		d = fmt.Sprintf("the preflight from %s was granted the method and random header it asked for", sent)
	case RuleCORSWildcard.ID:
		d = "Access-Control-Allow-Origin is * "
		if h.creds {
			d += "together with Access-Control-Allow-Credentials: true"
		} else {
			d += "on a cookie-authenticated response"
		}
	default:
		d = fmt.Sprintf("%s (%s) was trusted", capitalize(h.variant), sent)
		if h.creds {
			d += " with Access-Control-Allow-Credentials: true"
		} else {
			d += " without credentials"
		}
		if h.creds && r.bearer {
			d += "; the API authenticates with a bearer header, which browsers do not " +
				"attach on their own, so the severity is lowered"
		}
	}
	return fmt.Sprintf("%s, on %d route(s): %s.", d, len(ops), opNames(ops, 8))
}
