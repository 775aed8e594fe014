package probes

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strings"

	"github.com/apigate/apigate/internal/finding"
	"github.com/apigate/apigate/internal/httpx"
	"github.com/apigate/apigate/internal/target"
)

// Rules of the authentication check.
var (
	RuleAuthMissing = Rule{
		ID: "auth-missing", Check: finding.CheckAuthentication,
		Title:    "Protected operation answers without credentials",
		Severity: finding.SeverityHigh, CWE: []string{"CWE-306", "CWE-287"}, OWASP: "API2:2023",
		Summary: "An operation that needs authentication returned its data with no credentials.",
		Help: "Anyone who can reach the API can call this operation. Enforce authentication " +
			"in a middleware that covers every route by default and opt public routes out " +
			"explicitly, instead of adding checks route by route.",
	}
	RuleAuthInvalidToken = Rule{
		ID: "auth-invalid-token-accepted", Check: finding.CheckAuthentication,
		Title:    "Malformed credentials accepted",
		Severity: finding.SeverityHigh, CWE: []string{"CWE-287"}, OWASP: "API2:2023",
		Summary: "A request carrying a garbage token was answered as if authenticated.",
		Help: "The server checks that a credential is present but not that it is valid. " +
			"Validate every token (signature, issuer, audience, expiry) before trusting it.",
	}
	RuleJWTSignature = Rule{
		ID: "auth-jwt-signature-not-verified", Check: finding.CheckAuthentication,
		Title:    "JWT signature not verified",
		Severity: finding.SeverityCritical, CWE: []string{"CWE-347", "CWE-345"}, OWASP: "API2:2023",
		Summary: "A token whose signature or claims were altered was accepted.",
		Help: "Anyone can forge a token for any user by editing its payload. Verify the " +
			"signature with a vetted JWT library and a fixed list of accepted algorithms; " +
			"never decode a token without verifying it.",
	}
	RuleJWTAlgNone = Rule{
		ID: "auth-jwt-alg-none", Check: finding.CheckAuthentication,
		Title:    "JWT with alg=none accepted",
		Severity: finding.SeverityCritical, CWE: []string{"CWE-347"}, OWASP: "API2:2023",
		Summary: "An unsigned token (alg none) was accepted.",
		Help: "An unsigned token can name any user. Pin the accepted algorithms on the " +
			"verifying side (for example only HS256 or RS256) and reject `none` in any case.",
	}
	RuleJWTStripped = Rule{
		ID: "auth-jwt-signature-stripped", Check: finding.CheckAuthentication,
		Title:    "JWT without signature accepted",
		Severity: finding.SeverityCritical, CWE: []string{"CWE-347"}, OWASP: "API2:2023",
		Summary: "A token with its signature removed was accepted.",
		Help: "A token with no signature proves nothing. Require a valid signature on every " +
			"token; make the verifying code fail closed when the third segment is missing.",
	}
	RuleJWTAlgConfusion = Rule{
		ID: "auth-jwt-alg-confusion", Check: finding.CheckAuthentication,
		Title:    "JWT algorithm confusion (RS/HS) accepted",
		Severity: finding.SeverityCritical, CWE: []string{"CWE-347", "CWE-327"}, OWASP: "API2:2023",
		Summary: "An HS256 token signed with the server's public RSA key was accepted.",
		Help: "The verifier lets the token choose its algorithm, so the public key becomes an " +
			"HMAC secret that everyone knows. Pin the expected algorithm per key when " +
			"verifying and never accept HS* for keys meant for RS*/ES*.",
	}
	RuleJWTWeakSecret = Rule{
		ID: "auth-jwt-weak-secret", Check: finding.CheckAuthentication,
		Title:    "JWT signed with a guessable secret",
		Severity: finding.SeverityCritical, OWASP: "API2:2023",
		CWE:     []string{"CWE-1391", "CWE-321"},
		Summary: "The HMAC key of the API's tokens is a default or dictionary word.",
		Help: "Whoever guesses the key can mint tokens for any user. Use a random key of at " +
			"least 256 bits from a secret store, rotate it now, and never ship defaults.",
	}
	RuleJWTExpired = Rule{
		ID: "auth-jwt-expired-accepted", Check: finding.CheckAuthentication,
		Title:    "Expired JWT accepted",
		Severity: finding.SeverityHigh, CWE: []string{"CWE-613"}, OWASP: "API2:2023",
		Summary: "A correctly signed token whose exp is in the past was accepted.",
		Help: "Stolen tokens stay valid forever. Check `exp` (and `nbf`) on every request, " +
			"with at most a small clock-skew allowance.",
	}
	RuleJWTNoExpiry = Rule{
		ID: "auth-jwt-no-expiry", Check: finding.CheckAuthentication,
		Title:    "JWT without expiry",
		Severity: finding.SeverityLow, CWE: []string{"CWE-613"}, OWASP: "API2:2023",
		Summary: "The API issues tokens without an exp claim.",
		Help: "A token without `exp` never expires, so a leaked one works until the key is " +
			"rotated. Issue short-lived access tokens and refresh them.",
	}
	RuleLoginWrongPassword = Rule{
		ID: "auth-login-wrong-password", Check: finding.CheckAuthentication,
		Title:    "Login succeeds with a wrong password",
		Severity: finding.SeverityCritical, CWE: []string{"CWE-287"}, OWASP: "API2:2023",
		Summary: "The login operation issued credentials for a wrong password.",
		Help: "Anyone who knows a user name can log in. Compare the password with the stored " +
			"hash using a constant-time check and fail closed on every error path.",
	}
)

type authentication struct{}

// NewAuthentication returns the probe of checklist item 2: every non-public operation
// refuses missing, malformed and forged credentials.
func NewAuthentication() Probe { return authentication{} }

func (authentication) Check() finding.Check { return finding.CheckAuthentication }

func (authentication) Rules() []Rule {
	return []Rule{RuleAuthMissing, RuleAuthInvalidToken, RuleJWTSignature, RuleJWTAlgNone,
		RuleJWTStripped, RuleJWTAlgConfusion, RuleJWTWeakSecret, RuleJWTExpired, RuleJWTNoExpiry,
		RuleLoginWrongPassword}
}

// Caps keep the probe frugal: token handling is global in nearly every API, so the JWT
// variants need only a few operations; missing authentication is per route.
const (
	authMaxOps    = 24
	authMaxJWTOps = 3
	authMaxWrites = 6
)

func (authentication) Run(ctx context.Context, s *Session) Verdict {
	a := &authRun{s: s, ctx: ctx}
	a.id = firstIdentity(s)
	ops := a.protectedOps()
	a.loginChecks()
	if len(ops) == 0 && len(a.findings) == 0 {
		return NotTested("no operation needs authentication: every operation is declared " +
			"public or is a login, health or documentation route")
	}
	a.pr = newPathResolver(s, a.id)
	a.resources = findResources(s.Target.Operations)
	var reads, writes []*target.Operation
	for _, op := range ops {
		if isSafeMethod(op.Method) {
			reads = append(reads, op)
		} else {
			writes = append(writes, op)
		}
	}
	if len(reads) > authMaxOps {
		reads = reads[:authMaxOps]
	}
	for _, op := range reads {
		if ctx.Err() != nil {
			break
		}
		a.testRead(op)
	}
	a.testJWT()
	a.testWrites(writes)
	return a.verdict()
}

// authRun is the state of one run of the authentication probe.
type authRun struct {
	s   *Session
	ctx context.Context
	id  *target.Identity
	pr  *pathResolver
	// resources are the API's create/item pairs, for objects to act on.
	resources []*resource

	findings []finding.Finding
	// baselines are read operations whose authenticated answer is a usable reference.
	baselines []authBaseline
	tested    int      // operations sent bad credentials
	refused   int      // operations where every form was refused
	unclear   []string // operations with an inconclusive answer, for the reason
	untested  []string // operations without a reference answer
	forms     []string // the forms of bad credentials tried
	// publicLike are undeclared operations that answer anonymous callers with the same
	// impersonal data as the identity: treated as public, and named in the reason.
	publicLike []string
	// personalVals are the identity's own values (user name, e-mail), read once.
	personalVals []string
	learned      bool
}

// personal reports whether body carries the identity's own data, which marks an answer as
// one that needed authentication even when the API description says nothing.
func (a *authRun) personal(body []byte) bool {
	if !a.learned {
		a.learned = true
		a.personalVals = personalValues(a.ctx, a.s, a.id)
	}
	low := strings.ToLower(string(body))
	for _, v := range a.personalVals {
		if strings.Contains(low, strings.ToLower(v)) {
			return true
		}
	}
	return false
}

type authBaseline struct {
	op   *target.Operation
	path string
	ex   *httpx.Exchange
	// guarded is set once anonymous and malformed requests were refused, so forged tokens
	// accepted here prove a token flaw and not an open route.
	guarded bool
}

// firstIdentity is the first identity that carries credentials.
func firstIdentity(s *Session) *target.Identity {
	for _, id := range s.Target.Identities {
		r, _ := http.NewRequest(http.MethodGet, "http://x/", nil)
		id.Apply(r)
		if len(r.Header) > 0 {
			return id
		}
	}
	return nil
}

// authRoutes are operations that are public by nature even when nothing says so.
var (
	authRoute  = regexp.MustCompile(`(?i)(^|/)(login|logout|signin|sign-in|signup|sign-up|register|registration|token|oauth2?|auth|authenticate|session|sessions|password-reset|forgot-password)(/|$)`)
	infraRoute = regexp.MustCompile(`(?i)/(health|healthz|healthcheck|ready|readyz|livez|ping|version|openapi(\.json|\.yaml)?|swagger(\.json|-ui)?|docs|api-docs|favicon\.ico|robots\.txt)/?$`)
)

// protectedOps are the operations that should refuse anonymous callers: declared as needing
// security, or undeclared and not a login, health or documentation route.
func (a *authRun) protectedOps() []*target.Operation {
	var out []*target.Operation
	for _, op := range a.s.Target.Operations {
		if a.s.Target.IsPublic(op) || strings.EqualFold(op.Method, http.MethodOptions) {
			continue
		}
		if op.Security == target.SecurityUnknown {
			p := strings.TrimRight(op.Path, "/")
			if p == "" || authRoute.MatchString(p) || infraRoute.MatchString(p) {
				continue
			}
		}
		out = append(out, op)
	}
	// Declared-protected first, then reads without parameters (they need no fixture).
	sort.SliceStable(out, func(i, j int) bool {
		ri, rj := opRank(out[i]), opRank(out[j])
		return ri < rj
	})
	return out
}

func opRank(op *target.Operation) int {
	r := len(PathParams(op.Path))
	if op.Security != target.SecurityRequired {
		r += 10
	}
	return r
}

func isSafeMethod(m string) bool {
	return strings.EqualFold(m, http.MethodGet) || strings.EqualFold(m, http.MethodHead)
}

// authOutcome classifies one answer to bad credentials.
type authOutcome int

const (
	outRefused      authOutcome = iota // 401, 403, 404, login redirect, HTML login page
	outNotBypass                       // 400, 422, 5xx, other statuses: not an auth bypass
	outInconclusive                    // empty or error-shaped 2xx, or a 2xx unlike the baseline
	outAccepted                        // 2xx matching the authenticated baseline
	outError                           // no answer
)

var loginLocation = regexp.MustCompile(`(?i)(login|signin|sign-in|oauth|authorize|sso|saml|auth)`)

// judgeAuth applies the status matrix of detection-notes §2 to the answer ex, given the
// authenticated answer base (nil when there is none).
func judgeAuth(ex, base *httpx.Exchange) (authOutcome, string) {
	switch {
	case ex == nil || ex.Status == 0:
		return outError, "no answer"
	case ex.Status == 401 || ex.Status == 403 || ex.Status == 404 || ex.Status == 410:
		return outRefused, fmt.Sprintf("refused with %d", ex.Status)
	case ex.Status >= 300 && ex.Status < 400:
		if loginLocation.MatchString(ex.Header.Get("Location")) {
			return outRefused, "redirected to a login page"
		}
		return outNotBypass, fmt.Sprintf("redirect %d", ex.Status)
	case !Is2xx(ex.Status):
		return outNotBypass, fmt.Sprintf("status %d (not an authentication bypass)", ex.Status)
	}
	ct := strings.ToLower(ex.Header.Get("Content-Type"))
	if strings.Contains(ct, "html") && (base == nil || !strings.Contains(
		strings.ToLower(base.Header.Get("Content-Type")), "html")) {
		low := strings.ToLower(string(ex.Body))
		if strings.Contains(low, "password") || strings.Contains(low, "<form") {
			return outRefused, "answered with an HTML login page"
		}
	}
	if EmptyBody(ex.Body) {
		return outInconclusive, fmt.Sprintf("%d with an empty body", ex.Status)
	}
	if LooksLikeError(ex.Body) {
		return outInconclusive, fmt.Sprintf("%d with an error-shaped body", ex.Status)
	}
	if base == nil {
		return outInconclusive, fmt.Sprintf("%d with content, but no authenticated answer to compare", ex.Status)
	}
	if sim := Similarity(ex.Body, base.Body); sim >= 0.9 {
		return outAccepted, fmt.Sprintf("%d with the authenticated answer (%.0f%% similar)",
			ex.Status, sim*100)
	}
	return outInconclusive, fmt.Sprintf("%d with content unlike the authenticated answer",
		ex.Status)
}

// usable reports whether an authenticated answer can serve as the reference.
func usable(ex *httpx.Exchange) bool {
	return ex != nil && Is2xx(ex.Status) && !EmptyBody(ex.Body) && !LooksLikeError(ex.Body)
}

// credentialHeaders returns the headers the identity sends with its token replaced by tok;
// when the identity has no token, an Authorization header carrying tok.
func credentialHeaders(id *target.Identity, tok string) http.Header {
	h := http.Header{}
	if id == nil || id.Token() == "" {
		h.Set("Authorization", "Bearer "+tok)
		return h
	}
	r, _ := http.NewRequest(http.MethodGet, "http://x/", nil)
	id.Apply(r)
	orig := id.Token()
	for k, vs := range r.Header {
		for _, v := range vs {
			if strings.Contains(v, orig) {
				h.Add(k, strings.ReplaceAll(v, orig, tok))
			}
		}
	}
	if len(h) == 0 {
		h.Set("Authorization", "Bearer "+tok)
	}
	return h
}

// testRead sends a read operation with valid, no and malformed credentials.
func (a *authRun) testRead(op *target.Operation) {
	path, ok := a.pr.Resolve(a.ctx, op)
	if len(PathParams(op.Path)) > 0 && !ok && a.id != nil {
		// Nothing listed to read: create an object to read, when the API lets us.
		if r := readResource(a.resources, op); r != nil {
			if o, err := a.s.createObject(a.ctx, a.id, r, a.s.Canary+"-authr"); err == nil {
				defer a.s.deleteObject(a.ctx, a.id, r, o)
				path, ok = withRequiredQuery(op, r.ItemPath(op, o)), true
			}
		}
		if !ok {
			a.untested = append(a.untested, op.Method+" "+op.Path+" (no existing object to read)")
			return
		}
	}
	var base *httpx.Exchange
	if a.id != nil {
		ex, err := a.s.Send(a.ctx, a.id, op.Method, path, nil, nil)
		if err != nil || !usable(ex) {
			a.untested = append(a.untested,
				op.Method+" "+op.Path+" (no usable authenticated answer)")
			return
		}
		base = ex
	}

	forms := []struct {
		name string
		rule Rule
		hdr  http.Header
	}{
		{"no credentials", RuleAuthMissing, nil},
		{"a malformed token", RuleAuthInvalidToken,
			credentialHeaders(a.id, "apigate-malformed-"+a.s.Canary)},
	}
	worst := outRefused
	for _, f := range forms {
		a.noteForm(f.name)
		ex, err := a.s.Send(a.ctx, nil, op.Method, path, nil, f.hdr)
		if err != nil && ex == nil {
			continue
		}
		out, why := judgeAuth(ex, base)
		if base == nil && out == outInconclusive && op.Security == target.SecurityRequired &&
			Is2xx(ex.Status) && !EmptyBody(ex.Body) && !LooksLikeError(ex.Body) {
			// No identity to compare with: a declared-protected operation that serves
			// content anonymously is still a finding, with less certainty.
			a.findings = append(a.findings, a.missingFinding(op, ex, f.rule, f.name,
				finding.ConfidenceMedium, why+"; the API description says it needs authentication"))
			worst = outAccepted
			break
		}
		if base == nil && out == outInconclusive && op.Security == target.SecurityUnknown &&
			Is2xx(ex.Status) {
			// Nothing declares it protected and no identity shows what it would serve.
			a.publicLike = append(a.publicLike, op.Method+" "+op.Path)
			return
		}
		if out == outAccepted && op.Security == target.SecurityUnknown && !a.personal(base.Body) {
			// Undeclared, and the same impersonal answer with or without credentials: a
			// public route with optional authentication, as far as anyone can tell.
			a.publicLike = append(a.publicLike, op.Method+" "+op.Path)
			return
		}
		switch out {
		case outAccepted:
			a.findings = append(a.findings, a.missingFinding(op, ex, f.rule, f.name,
				finding.ConfidenceHigh, why))
			worst = outAccepted
		case outInconclusive, outError:
			a.unclear = append(a.unclear, fmt.Sprintf("%s %s with %s: %s", op.Method, op.Path,
				f.name, why))
			if worst < outInconclusive {
				worst = outInconclusive
			}
		}
		if out == outAccepted {
			break
		}
	}
	a.tested++
	if worst <= outNotBypass {
		a.refused++
	}
	if base != nil {
		a.baselines = append(a.baselines, authBaseline{op: op, path: path, ex: base,
			guarded: worst == outRefused})
	}
}

func (a *authRun) noteForm(name string) {
	for _, f := range a.forms {
		if f == name {
			return
		}
	}
	a.forms = append(a.forms, name)
}

// missingFinding reports an operation answered without valid credentials. Writes and admin
// routes are raised to critical.
func (a *authRun) missingFinding(op *target.Operation, ex *httpx.Exchange, r Rule, form string,
	conf finding.Confidence, why string) finding.Finding {
	f := a.s.NewFinding(r, op, ex, conf,
		fmt.Sprintf("%s %s answers with %s", op.Method, op.Path, form),
		safeExcerpt(ex.Body, 400),
		fmt.Sprintf("Sent with %s, the operation answered %s.", form, why))
	if !isSafeMethod(op.Method) || strings.Contains(strings.ToLower(op.Path), "admin") {
		f.Severity = finding.SeverityCritical
	}
	return f
}

func (a *authRun) verdict() Verdict {
	if len(a.findings) > 0 {
		return Fail(fmt.Sprintf("%d finding(s); tested %d operation(s) with %s",
			len(a.findings), a.tested, strings.Join(a.forms, ", ")), a.findings...)
	}
	note := ""
	if len(a.publicLike) > 0 {
		note = fmt.Sprintf("; %d undeclared operation(s) answer anonymous callers with the same "+
			"impersonal data and were treated as public (declare them in the API description "+
			"or config): %s", len(a.publicLike), strings.Join(capList(a.publicLike, 3), ", "))
	}
	if len(a.untested) > 0 {
		note += fmt.Sprintf("; %d operation(s) not tested: %s", len(a.untested),
			strings.Join(capList(a.untested, 3), "; "))
	}
	if len(a.unclear) > 0 {
		return Inconclusive(fmt.Sprintf("no bypass proven, but %d answer(s) were unclear: %s%s",
			len(a.unclear), strings.Join(capList(a.unclear, 3), "; "), note))
	}
	if a.refused == 0 {
		return NotTested(strings.TrimPrefix("no protected operation could be tested"+note, "; "))
	}
	return Pass(fmt.Sprintf("tested %d protected operation(s) with %s; all refused%s",
		a.refused, strings.Join(a.forms, ", "), note))
}

// capList keeps the first n items and says how many were left out.
func capList(items []string, n int) []string {
	if len(items) <= n {
		return items
	}
	out := append([]string{}, items[:n]...)
	return append(out, fmt.Sprintf("and %d more", len(items)-n))
}

// readResource is the resource whose read operation op is.
func readResource(rs []*resource, op *target.Operation) *resource {
	for _, r := range rs {
		if r.Read == op {
			return r
		}
	}
	return nil
}
