package probes

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strings"

	"github.com/apigate/apigate/internal/finding"
	"github.com/apigate/apigate/internal/httpx"
	"github.com/apigate/apigate/internal/target"
)

// Rules of the data-exposure check.
var (
	RuleExposurePassword = Rule{
		ID: "exposure-password", Check: finding.CheckDataExposure,
		Title:    "Password returned in clear text",
		Severity: finding.SeverityHigh, CWE: []string{"CWE-200", "CWE-256"}, OWASP: "API3:2023",
		Summary: "A response carries a user's password in clear text.",
		Help: "Passwords must never leave the server, and must not be stored in a readable " +
			"form. Store a slow salted hash (argon2id, bcrypt) and build responses from an " +
			"explicit list of fields instead of serialising the database row.",
	}
	RuleExposureHash = Rule{
		ID: "exposure-password-hash", Check: finding.CheckDataExposure,
		Title:    "Password hash disclosed",
		Severity: finding.SeverityHigh, CWE: []string{"CWE-200"}, OWASP: "API3:2023",
		Summary: "A response carries a password hash or salt.",
		Help: "A disclosed hash can be cracked offline. Serialise responses through a " +
			"dedicated schema or DTO that leaves credential columns out.",
	}
	RuleExposureSecret = Rule{
		ID: "exposure-secret", Check: finding.CheckDataExposure,
		Title:    "Secret key disclosed",
		Severity: finding.SeverityHigh, CWE: []string{"CWE-200", "CWE-522"}, OWASP: "API3:2023",
		Summary: "A response carries a private key, cloud key, API key or other secret.",
		Help: "Whoever reads the response can use the key. Remove it from the response, " +
			"rotate it now, and keep such values in a secret store that responses never read.",
	}
	RuleExposureToken = Rule{
		ID: "exposure-token", Check: finding.CheckDataExposure,
		Title:    "Token disclosed outside a login",
		Severity: finding.SeverityHigh, CWE: []string{"CWE-200", "CWE-522"}, OWASP: "API3:2023",
		Summary: "A response that is not a login or token endpoint carries a bearer, reset or one-time token.",
		Help: "A token in an ordinary response lets whoever reads it act as its owner. Return " +
			"tokens only from the endpoints that issue them, and never other users' tokens.",
	}
	RuleExposureJWTClaims = Rule{
		ID: "exposure-jwt-claims", Check: finding.CheckDataExposure,
		Title:    "Secret inside a JWT payload",
		Severity: finding.SeverityHigh, CWE: []string{"CWE-200", "CWE-522"}, OWASP: "API3:2023",
		Summary: "A JWT the API hands out carries a password, hash or secret in its readable payload.",
		Help: "JWT payloads are only base64-encoded; anyone holding the token reads them. Put " +
			"only identifiers and authorisation claims in tokens.",
	}
	RuleExposurePII = Rule{
		ID: "exposure-pii", Check: finding.CheckDataExposure,
		Title:    "Card number or sensitive personal data disclosed",
		Severity: finding.SeverityHigh, CWE: []string{"CWE-359"}, OWASP: "API3:2023",
		Summary: "A response carries a payment card number, SSN, CVV, IBAN or similar.",
		Help: "Return such values masked (last four digits at most) and only to their owner, " +
			"through an explicit response schema.",
	}
	RuleExposureCrossUser = Rule{
		ID: "exposure-pii-cross-user", Check: finding.CheckDataExposure,
		Title:    "Other users' personal data in a listing",
		Severity: finding.SeverityHigh, CWE: []string{"CWE-359", "CWE-213"}, OWASP: "API3:2023",
		Summary: "One user's response lists another user's e-mail address or phone number.",
		Help: "Listings should carry only what every caller may see. Filter collections to " +
			"the caller's own records, or drop contact fields from the shared view.",
	}
)

type dataExposure struct{}

// NewDataExposure returns the probe of checklist item 6: responses carry no secrets,
// hashes, stray tokens, card data or other users' personal data.
func NewDataExposure() Probe { return dataExposure{} }

func (dataExposure) Check() finding.Check { return finding.CheckDataExposure }

func (dataExposure) Rules() []Rule {
	return []Rule{RuleExposurePassword, RuleExposureHash, RuleExposureSecret, RuleExposureToken,
		RuleExposureJWTClaims, RuleExposurePII, RuleExposureCrossUser}
}

const exposureMaxOps = 20

func (dataExposure) Run(ctx context.Context, s *Session) Verdict {
	e := &exposureRun{s: s, ctx: ctx, seen: map[string]bool{}}
	for i := 0; i < 2; i++ {
		if id := s.Identity(i); id != nil {
			e.ids = append(e.ids, id)
		}
	}
	e.learnContacts()
	ops := exposureOps(s)
	resolvers := map[*target.Identity]*pathResolver{}
	for _, op := range ops {
		for _, viewer := range e.viewers(op) {
			if ctx.Err() != nil {
				break
			}
			pr := resolvers[viewer]
			if pr == nil {
				pr = newPathResolver(s, viewer)
				resolvers[viewer] = pr
			}
			path, _ := pr.Resolve(ctx, op)
			ex, err := s.Send(ctx, viewer, http.MethodGet, path, nil, nil)
			if err != nil || !Is2xx(ex.Status) || !IsJSON(ex) && !isTextual(mediaType(ex)) {
				continue
			}
			e.judge(op, viewer, ex)
		}
	}
	e.scanLogins()
	return e.verdict()
}

// exposureRun is the state of one run of the data-exposure probe.
type exposureRun struct {
	s   *Session
	ctx context.Context
	ids []*target.Identity
	// contacts holds each identity's own e-mail addresses and phone numbers.
	contacts map[*target.Identity][]string
	findings []finding.Finding
	seen     map[string]bool
	scanned  int
}

// exposureOps are the GET operations worth reading, those without parameters first.
func exposureOps(s *Session) []*target.Operation {
	var out []*target.Operation
	for _, op := range s.Ops(http.MethodGet) {
		if isDocsPath(op.Path) || infraRoute.MatchString(op.Path) {
			continue
		}
		out = append(out, op)
	}
	sort.SliceStable(out, func(i, j int) bool {
		return len(PathParams(out[i].Path)) < len(PathParams(out[j].Path))
	})
	if len(out) > exposureMaxOps {
		out = out[:exposureMaxOps]
	}
	return out
}

// viewers are the callers an operation is read as: anonymous for public operations, and
// each identity (up to two) for the others, so one user's view of another shows up.
func (e *exposureRun) viewers(op *target.Operation) []*target.Identity {
	if e.s.Target.IsPublic(op) || len(e.ids) == 0 {
		return []*target.Identity{nil}
	}
	return e.ids
}

func viewerName(id *target.Identity) string {
	if id == nil {
		return "an anonymous caller"
	}
	return id.Name
}

// tokenRoute names operations that legitimately hand out tokens.
var tokenRoute = regexp.MustCompile(`(?i)(^|/)(login|signin|sign-in|token|tokens|oauth2?|refresh|session|sessions|authenticate|auth|api-keys?|apikeys?|credentials)(/|$)`)

func tokenIssuing(op *target.Operation) bool {
	if tokenRoute.MatchString(op.Path) {
		return true
	}
	if op.Response != nil {
		for k := range op.Response.Properties {
			if normKey(k) == "accesstoken" {
				return true
			}
		}
	}
	return false
}

// ownValues are the viewer's own credentials: finding them in its own answer is an echo.
func ownValues(id *target.Identity) []string {
	if id == nil {
		return nil
	}
	return append([]string{id.Token()}, id.Secrets...)
}

func (e *exposureRun) judge(op *target.Operation, viewer *target.Identity, ex *httpx.Exchange) {
	e.scanned++
	opt := scanOptions{TokenIssuing: tokenIssuing(op), Own: ownValues(viewer)}
	var hits []exposureHit
	if IsJSON(ex) {
		hits = scanJSON(ex.Body, opt)
	} else {
		hits = scanText(ex.Body, opt)
	}
	e.report(op, viewer, ex, hits, "")
	e.otherTokens(op, viewer, ex)
	if viewer != nil && len(PathParams(op.Path)) == 0 {
		e.crossUser(op, viewer, ex)
	}
}

// otherTokens reports a response that carries another identity's credential: whoever
// reads it can act as that user.
func (e *exposureRun) otherTokens(op *target.Operation, viewer *target.Identity,
	ex *httpx.Exchange) {
	for _, other := range e.ids {
		tok := other.Token()
		if other == viewer || len(tok) < 16 || !strings.Contains(string(ex.Body), tok) {
			continue
		}
		key := "other-token " + op.Method + " " + op.Path
		if e.seen[key] {
			return
		}
		e.seen[key] = true
		f := e.s.NewFinding(RuleExposureToken, op, ex, finding.ConfidenceHigh,
			fmt.Sprintf("%s %s hands %s the token of %s", op.Method, op.Path, viewerName(viewer),
				other.Name),
			fmt.Sprintf("the response body contains %s's current bearer token (%d characters)",
				other.Name, len(tok)),
			fmt.Sprintf("Read as %s, the response carries the credential %s is logged in with.",
				viewerName(viewer), other.Name))
		f.Severity = finding.SeverityCritical
		e.findings = append(e.findings, f)
	}
}

// report turns hits into one finding per rule and operation.
func (e *exposureRun) report(op *target.Operation, viewer *target.Identity, ex *httpx.Exchange,
	hits []exposureHit, echoed string) {
	byRule := map[string][]exposureHit{}
	var order []string
	for _, h := range hits {
		r := ruleForKind(h.Kind)
		if _, ok := byRule[r.ID]; !ok {
			order = append(order, r.ID)
		}
		byRule[r.ID] = append(byRule[r.ID], h)
	}
	for _, id := range order {
		hs := byRule[id]
		// Other users' values name the finding before the caller's own.
		sort.SliceStable(hs, func(i, j int) bool {
			return !strings.HasPrefix(hs[i].What, "the caller's own") &&
				strings.HasPrefix(hs[j].What, "the caller's own")
		})
		r := ruleForKind(hs[0].Kind)
		key := r.ID + " " + op.Method + " " + op.Path
		if e.seen[key] {
			continue
		}
		e.seen[key] = true
		conf := finding.ConfidenceMedium
		sev := r.Severity
		var lines []string
		for i, h := range hs {
			if h.Strong {
				conf = finding.ConfidenceHigh
			}
			if h.What == "PEM private key" || strings.HasPrefix(h.What, "AWS") {
				sev = finding.SeverityCritical
			}
			if i < 4 {
				lines = append(lines, fmt.Sprintf("%s: %s (%s)", h.Path, h.Shown, h.What))
			}
		}
		if len(hs) > 4 {
			lines = append(lines, fmt.Sprintf("and %d more", len(hs)-4))
		}
		detail := fmt.Sprintf("Read as %s, the response carries %s in %d field(s).",
			viewerName(viewer), hs[0].What, len(hs))
		if echoed != "" {
			detail += " " + echoed
		}
		f := e.s.NewFinding(r, op, ex, conf,
			fmt.Sprintf("%s %s discloses %s", op.Method, op.Path, hs[0].What),
			strings.Join(lines, "\n"), detail)
		f.Severity = sev
		e.findings = append(e.findings, f)
	}
}

func ruleForKind(k exposureKind) Rule {
	switch k {
	case kindPassword:
		return RuleExposurePassword
	case kindHash:
		return RuleExposureHash
	case kindSecret:
		return RuleExposureSecret
	case kindToken:
		return RuleExposureToken
	case kindJWTClaims:
		return RuleExposureJWTClaims
	}
	return RuleExposurePII
}

// learnContacts reads each identity's own record to know its e-mail addresses and phone
// numbers; a listing that shows them to another identity is a cross-user disclosure.
func (e *exposureRun) learnContacts() {
	e.contacts = map[*target.Identity][]string{}
	if len(e.ids) < 2 {
		return
	}
	me := meOp(e.s.Target.Operations, http.MethodGet)
	for _, id := range e.ids {
		if id.Login != nil {
			u, ok := id.Login.Body[id.Login.UsernameField].(string)
			if ok && strings.Contains(u, "@") {
				e.contacts[id] = append(e.contacts[id], strings.ToLower(u))
			}
		}
		if me == nil || len(PathParams(me.Path)) > 0 {
			continue
		}
		ex, err := e.s.Send(e.ctx, id, http.MethodGet, me.Path, nil, nil)
		if err != nil || !Is2xx(ex.Status) {
			continue
		}
		e.contacts[id] = append(e.contacts[id], contactValues(ex.Body)...)
	}
}

// contactValues are the e-mail addresses and phone numbers of a record.
func contactValues(body []byte) []string {
	var v any
	if json.Unmarshal(body, &v) != nil {
		return nil
	}
	var out []string
	walkJSON("", v, func(_, key string, val any) {
		s, ok := val.(string)
		if !ok {
			return
		}
		nk := normKey(key)
		switch {
		case strings.Contains(nk, "email") && strings.Contains(s, "@"):
			out = append(out, strings.ToLower(s))
		case (strings.Contains(nk, "phone") || strings.Contains(nk, "mobile")) && len(s) >= 7:
			out = append(out, s)
		}
	})
	return out
}

// crossUser reports a listing read by viewer that shows another identity's contact data.
func (e *exposureRun) crossUser(op *target.Operation, viewer *target.Identity, ex *httpx.Exchange) {
	mine := map[string]bool{}
	for _, c := range e.contacts[viewer] {
		mine[c] = true
	}
	body := strings.ToLower(string(ex.Body))
	for other, cs := range e.contacts {
		if other == viewer {
			continue
		}
		for _, c := range cs {
			if mine[c] || !strings.Contains(body, strings.ToLower(c)) {
				continue
			}
			key := RuleExposureCrossUser.ID + " " + op.Path
			if e.seen[key] {
				return
			}
			e.seen[key] = true
			e.findings = append(e.findings, e.s.NewFinding(RuleExposureCrossUser, op, ex,
				finding.ConfidenceHigh,
				fmt.Sprintf("%s %s shows %s the contact data of %s", op.Method, op.Path,
					viewer.Name, other.Name),
				"…"+maskContact(c)+"…",
				fmt.Sprintf("Read as %s, the listing contains %s's own %s, taken from %s's own record.",
					viewer.Name, other.Name, contactKind(c), other.Name)))
			return
		}
	}
}

func contactKind(c string) string {
	if strings.Contains(c, "@") {
		return "e-mail address"
	}
	return "phone number"
}

// maskContact hides most of an e-mail address or phone number.
func maskContact(c string) string {
	if user, domain, ok := strings.Cut(c, "@"); ok {
		if len(user) > 2 {
			user = user[:2] + strings.Repeat("*", len(user)-2)
		}
		return user + "@" + domain
	}
	if len(c) > 4 {
		return strings.Repeat("*", len(c)-4) + c[len(c)-4:]
	}
	return c
}

// scanLogins logs in once per identity and scans the answer: tokens are expected there,
// but a password, a hash or a full user record with secrets is not.
func (e *exposureRun) scanLogins() {
	done := map[string]bool{}
	for _, id := range e.ids {
		l := id.Login
		if l == nil || done[l.Path] || e.ctx.Err() != nil {
			continue
		}
		done[l.Path] = true
		method := l.Method
		if method == "" {
			method = http.MethodPost
		}
		ex, err := e.s.Send(e.ctx, nil, method, l.Path, l.Body, nil)
		if err != nil || !Is2xx(ex.Status) || !IsJSON(ex) {
			continue
		}
		e.scanned++
		op := &target.Operation{Method: method, Path: l.Path}
		for _, o := range e.s.Target.Operations {
			if strings.EqualFold(o.Method, method) && target.MatchPath(o.Path, l.Path) {
				op = o
			}
		}
		sent, _ := l.Body[l.PasswordField].(string)
		hits := scanJSON(ex.Body, scanOptions{TokenIssuing: true, Own: []string{sent}})
		echoed := len(sent) >= 4 && strings.Contains(string(ex.Body), sent)
		if echoed {
			hits = withoutKind(hits, kindPassword) // reported below as an echo
		}
		e.report(op, id, ex, hits,
			"This is the login answer, where tokens are expected; this value is not one.")
		if echoed {
			// Our own password reflected: weaker than a stored one, still worth fixing.
			f := e.s.NewFinding(RuleExposurePassword, op, ex, finding.ConfidenceMedium,
				fmt.Sprintf("%s %s echoes the password it was sent", op.Method, op.Path),
				"the login answer contains the password of the request", fmt.Sprintf(
					"Logging in as %s returned the submitted password in the answer body.", id.Name))
			f.Severity = finding.SeverityMedium
			e.findings = append(e.findings, f)
		}
	}
}

func (e *exposureRun) verdict() Verdict {
	if len(e.findings) > 0 {
		var kinds []string
		seen := map[string]bool{}
		for _, f := range e.findings {
			if r, ok := RuleByID(f.Rule); ok && !seen[r.ID] {
				seen[r.ID] = true
				kinds = append(kinds, strings.ToLower(r.Title[:1])+r.Title[1:])
			}
		}
		return Fail(fmt.Sprintf("%d finding(s) in %d response(s) scanned: %s", len(e.findings),
			e.scanned, strings.Join(kinds, "; ")), e.findings...)
	}
	if e.scanned == 0 {
		return NotTested("no GET operation returned a JSON or text answer to scan")
	}
	who := "anonymous callers"
	if len(e.ids) > 0 {
		var names []string
		for _, id := range e.ids {
			names = append(names, id.Name)
		}
		who = strings.Join(names, " and ") + " (and anonymous callers on public routes)"
	}
	cross := ""
	if len(e.ids) < 2 {
		cross = "; other users' personal data not checked (needs two identities)"
	}
	return Pass(fmt.Sprintf("scanned %d response(s) read as %s: no passwords, hashes, keys, "+
		"stray tokens or card data%s", e.scanned, who, cross))
}

func withoutKind(hits []exposureHit, k exposureKind) []exposureHit {
	var out []exposureHit
	for _, h := range hits {
		if h.Kind != k {
			out = append(out, h)
		}
	}
	return out
}
