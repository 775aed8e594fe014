package probes

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/apigate/apigate/internal/finding"
	"github.com/apigate/apigate/internal/httpx"
	"github.com/apigate/apigate/internal/target"
)

// Rules of the safe-errors check. Body signatures live in signatures.go; a bare 500 with a
// generic body is not an error disclosure (the input-validation check judges the status).
var (
	RuleErrorsDebugConsole = Rule{
		ID: "safe-errors-debug-console", Check: finding.CheckSafeErrors,
		Title: "Interactive debugger exposed", Severity: finding.SeverityCritical,
		CWE: []string{"CWE-94", "CWE-489"}, OWASP: "API8:2023",
		Summary: "An error response serves an interactive debugger that can run code on the server.",
		Help: "A debugger console such as Werkzeug's lets anyone who triggers an error run " +
			"code in the server process. Turn debug mode off in every deployed environment " +
			"(`FLASK_DEBUG=0`, `debug=False`) and serve a generic error body instead.",
	}
	RuleErrorsDebugPage = Rule{
		ID: "safe-errors-debug-page", Check: finding.CheckSafeErrors,
		Title: "Framework debug page exposed", Severity: finding.SeverityHigh,
		CWE: []string{"CWE-489", "CWE-215"}, OWASP: "API8:2023",
		Summary: "An error response is a framework's debug page (Django DEBUG, Rails, ASP.NET).",
		Help: "Debug pages show source code, settings, routes and sometimes secrets to " +
			"whoever triggers an error. Disable debug mode in deployed builds (Django " +
			"`DEBUG = False`, Rails production environment, ASP.NET custom errors) and " +
			"return a generic error with a correlation ID.",
	}
	RuleErrorsStackTrace = Rule{
		ID: "safe-errors-stack-trace", Check: finding.CheckSafeErrors,
		Title: "Stack trace in an error response", Severity: finding.SeverityMedium,
		CWE: []string{"CWE-209", "CWE-200"}, OWASP: "API8:2023",
		Summary: "An error response carries a stack trace with file paths and code locations.",
		Help: "Stack traces reveal the framework, library versions, file layout and code " +
			"paths, which helps an attacker aim further attacks. Catch errors in one handler " +
			"that logs the trace server-side and returns a generic body (for example RFC 9457 " +
			"problem+json) with a correlation ID.",
	}
	RuleErrorsSQL = Rule{
		ID: "safe-errors-sql-error", Check: finding.CheckSafeErrors,
		Title: "Database error in a response", Severity: finding.SeverityMedium,
		CWE: []string{"CWE-209", "CWE-89"}, OWASP: "API8:2023",
		Summary: "Crafted input produced a database error message in the response.",
		Help: "A database syntax error after a quote in the input usually means the value " +
			"reached the SQL text unescaped: a likely SQL injection, and the message helps " +
			"exploit it. Use parameterised queries everywhere and never return driver errors " +
			"to clients.",
	}
	RuleErrorsDefaultPage = Rule{
		ID: "safe-errors-default-error-page", Check: finding.CheckSafeErrors,
		Title: "Framework default error page", Severity: finding.SeverityLow,
		CWE: []string{"CWE-209"}, OWASP: "API8:2023",
		Summary: "An error response is a framework's default error page, naming the framework.",
		Help: "Default error pages (Spring's Whitelabel page and similar) tell an attacker " +
			"which framework runs the API. Register an error handler that returns the API's " +
			"own JSON error format.",
	}
	RuleErrorsVersionHeader = Rule{
		ID: "safe-errors-version-header", Check: finding.CheckSafeErrors,
		Title: "Version banner in response headers", Severity: finding.SeverityLow,
		CWE: []string{"CWE-497"}, OWASP: "API8:2023",
		Summary: "Response headers announce the server software and its version.",
		Help: "Version banners (`Server: nginx/1.25.3`, `X-Powered-By: Express`) let an " +
			"attacker look up known vulnerabilities without probing. Remove `X-Powered-By` " +
			"and framework version headers and strip the version from `Server` " +
			"(e.g. `server_tokens off`).",
	}
)

// Caps that keep the check to a few hundred requests on a large API.
const (
	maxErrorOps      = 15
	maxErrorFindings = 20
)

// safeErrors provokes errors (malformed JSON, wrong types, quotes, overlong values, path
// junk, an unknown route and method, a wrong Content-Type) and matches each textual answer
// against the platform signatures of signatures.go, ignoring documentation routes and
// anything the operation's valid answer already contained. Version banners are read from
// every answer's headers.
type safeErrors struct{}

// NewSafeErrors returns the probe.
func NewSafeErrors() Probe { return safeErrors{} }

func (safeErrors) Check() finding.Check { return finding.CheckSafeErrors }

func (safeErrors) Rules() []Rule {
	return []Rule{RuleErrorsDebugConsole, RuleErrorsDebugPage, RuleErrorsStackTrace,
		RuleErrorsSQL, RuleErrorsDefaultPage, RuleErrorsVersionHeader}
}

// trigger is one request meant to provoke an error.
type trigger struct {
	what   string
	method string
	path   string
	body   []byte
	ctype  string
}

// errorRun accumulates what the check saw.
type errorRun struct {
	s        *Session
	findings []finding.Finding
	sent     int
	spent    bool // the request budget refused a request: the loops stop
	server5x int
	// disclosures are the signatures seen, turned into findings at the end.
	disclosures []*disclosure
	// clean and junk hold every answer, split by whether the request was a valid baseline;
	// banners are reported from a clean one, so the finding's path is the operation's.
	clean, junk []noted
}

type noted struct {
	op *target.Operation
	ex *httpx.Exchange
}

func (p safeErrors) Run(ctx context.Context, s *Session) Verdict {
	r := &errorRun{s: s}
	ops := errorOps(s)
	methodTried := map[string]bool{}
	reached := 0 // operations at least one error-provoking request went out to
	for _, op := range ops {
		if ctx.Err() != nil || r.spent {
			break
		}
		id := s.identityFor(op)
		var baseline *httpx.Exchange
		if op.Method == "GET" {
			var err error
			baseline, err = s.Send(ctx, id, "GET", FillPath(op, nil), nil, nil)
			r.spent = r.spent || errors.Is(err, httpx.ErrBudget)
			if baseline != nil && baseline.Status != 0 {
				r.clean = append(r.clean, noted{op, baseline})
			}
		}
		ts := errorTriggers(s, op)
		if !methodTried[op.Path] {
			methodTried[op.Path] = true
			ts = append(ts, trigger{what: "an unsupported method", method: "APIGATE",
				path: FillPath(op, nil)})
		}
		before := r.sent
		for _, t := range ts {
			if r.spent {
				break
			}
			r.try(ctx, id, op, t, baseline)
		}
		if r.sent > before {
			reached++
		}
	}
	// A route nothing defines, with characters routers and SQL dislike.
	unknown := trigger{what: "an unknown route", method: "GET",
		path: "/apigate-" + randLabel(8) + "/%27%22%29--"}
	where := fmt.Sprintf("%d operations", reached)
	if before := r.sent; !r.spent {
		r.try(ctx, s.Identity(0), nil, unknown, nil)
		if r.sent > before {
			where += " and an unknown route"
		}
	}
	r.disclosureFindings()
	r.versionHeaders()

	reason := fmt.Sprintf("sent %d error-provoking requests to %s (malformed JSON, wrong "+
		"types, quotes and SQL metacharacters, path junk, unsupported method, wrong "+
		"Content-Type)", r.sent, where)
	if r.server5x > 0 {
		reason += fmt.Sprintf("; %d answered 5xx without revealing internals", r.server5x)
	}
	if r.spent {
		reason += "; " + budgetStop
	}
	if len(r.findings) > 0 {
		return Fail(reason, r.findings...)
	}
	return Pass(reason + "; no stack trace, database error, debug page or version banner seen")
}

// errorOps picks the operations to provoke, skipping documentation routes and putting those
// with inputs first, since they are the likeliest to fail loudly.
func errorOps(s *Session) []*target.Operation {
	var ops []*target.Operation
	for _, op := range s.Target.Operations {
		if !isDocsPath(op.Path) {
			ops = append(ops, op)
		}
	}
	inputs := func(op *target.Operation) int {
		n := len(op.Params)
		if op.RequestBody != nil {
			n += 2
		}
		return n
	}
	sort.SliceStable(ops, func(i, j int) bool { return inputs(ops[i]) > inputs(ops[j]) })
	if len(ops) > maxErrorOps {
		ops = ops[:maxErrorOps]
	}
	return ops
}

// longErrorString is the length of the overlong values: long enough to overflow fixed
// buffers and column sizes, short enough for any URL length limit a proxy enforces.
const longErrorString = 6000

// sqlBreaker is placed in strings: a quote of each kind, a parenthesis and a comment.
const sqlBreaker = `'")--`

// errorTriggers lists the error-provoking requests for one operation.
func errorTriggers(s *Session, op *target.Operation) []trigger {
	var ts []trigger
	path := FillPath(op, nil)
	if params := PathParams(op.Path); len(params) > 0 {
		quoted, huge := map[string]string{}, map[string]string{}
		for _, p := range params {
			quoted[p] = "1%27%22%29--"
			huge[p] = "99999999999999999999999999"
		}
		ts = append(ts,
			trigger{what: "a quote in the path id", method: op.Method, path: FillPath(op, quoted)},
			trigger{what: "an out-of-range id", method: op.Method, path: FillPath(op, huge)},
			trigger{what: "path junk", method: op.Method, path: path + "/..;/%00"},
		)
	}
	var query []string
	for _, p := range op.Params {
		if p.In == "query" {
			query = append(query, p.Name+"=%27%22%29--")
		}
	}
	if len(query) > 0 {
		first, _, _ := strings.Cut(query[0], "=")
		ts = append(ts,
			trigger{what: "quotes in query parameters", method: op.Method,
				path: path + "?" + strings.Join(query, "&")},
			trigger{what: "a very long query value", method: op.Method,
				path: path + "?" + first + "=" + strings.Repeat("A", longErrorString)})
	}
	if op.RequestBody != nil {
		ex := Example(op.RequestBody, "")
		if m, ok := ex.(map[string]any); ok && (op.Method == "PUT" || op.Method == "PATCH") {
			for k := range m {
				if credentialField(k) {
					delete(m, k) // an update must not lock the identity out
				}
			}
		}
		ts = append(ts,
			trigger{what: "malformed JSON", method: op.Method, path: path,
				body: []byte(`{"apigate": `), ctype: "application/json"},
			trigger{what: "wrong types in every field", method: op.Method, path: path,
				body: mustJSON(mapScalars(ex, func(v any) any {
					if _, ok := v.(string); ok {
						return 12345
					}
					return "abc" + sqlBreaker
				})), ctype: "application/json"},
			trigger{what: "quotes in every string field", method: op.Method, path: path,
				body: mustJSON(mapScalars(ex, func(v any) any {
					if _, ok := v.(string); ok {
						return sqlBreaker + " " + s.Canary
					}
					return v
				})), ctype: "application/json"},
			trigger{what: "a very long string in every string field", method: op.Method,
				path: path, body: mustJSON(mapScalars(ex, func(v any) any {
					if _, ok := v.(string); ok {
						return strings.Repeat("A", longErrorString)
					}
					return v
				})), ctype: "application/json"},
			trigger{what: "a wrong Content-Type", method: op.Method, path: path,
				body: []byte(`<apigate>'</apigate>`), ctype: "application/xml"},
		)
	}
	return ts
}

// mapScalars returns a copy of a JSON-like value with f applied to every scalar.
func mapScalars(v any, f func(any) any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = mapScalars(e, f)
		}
		return m
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = mapScalars(e, f)
		}
		return out
	}
	return f(v)
}

// try sends one trigger and records any disclosure it provokes.
func (r *errorRun) try(ctx context.Context, id *target.Identity, op *target.Operation,
	t trigger, baseline *httpx.Exchange) {
	var h http.Header
	var body any
	if t.body != nil {
		h = http.Header{"Content-Type": {t.ctype}}
		body = t.body
	}
	ex, err := r.s.Send(ctx, id, t.method, t.path, body, h)
	if wentOut(ex, err) {
		r.sent++
	}
	r.spent = r.spent || errors.Is(err, httpx.ErrBudget)
	if ex == nil || ex.Status == 0 {
		return
	}
	r.junk = append(r.junk, noted{op, ex})
	disclosed := false
	defer func() {
		if ex.Status >= 500 && !gatewayStatus(ex.Status) && !disclosed {
			r.server5x++
		}
	}()
	if !isTextual(mediaType(ex)) || isDocsPath(t.path) || len(r.disclosures) >= maxErrorFindings {
		return
	}
	var already []signatureHit
	if baseline != nil && baseline.Status != 0 {
		already = matchSignatures(baseline.Body)
	}
	hits := matchSignatures(ex.Body)
	debugPage := false
	for _, hit := range hits {
		debugPage = debugPage || hit.Sig.Rule == &RuleErrorsDebugConsole ||
			hit.Sig.Rule == &RuleErrorsDebugPage
	}
	for _, hit := range hits {
		if containsSig(already, hit.Sig) {
			continue
		}
		if debugPage && hit.Sig.Rule == &RuleErrorsStackTrace {
			continue // the debug page finding already says the trace is shown
		}
		disclosed = true
		r.disclose(op, t, ex, hit)
	}
}

// disclosure is one signature seen on one or more operations.
type disclosure struct {
	key   string
	hit   signatureHit
	op    *target.Operation
	ex    *httpx.Exchange
	what  string
	where []string // every operation that showed it, the first one included
}

// disclose records a hit. A database error is kept per operation, since each is its own
// injection point; a trace or debug page comes from one error handler shared by every
// route, so it is one finding that lists the operations.
func (r *errorRun) disclose(op *target.Operation, t trigger, ex *httpx.Exchange, hit signatureHit) {
	name := opKey(op, "/{unknown-route}")
	key := hit.Sig.Rule.ID + " " + hit.Sig.ID
	if hit.Sig.Rule == &RuleErrorsSQL {
		key += " " + name
	}
	for _, d := range r.disclosures {
		if d.key == key {
			if !slices.Contains(d.where, name) {
				d.where = append(d.where, name)
			}
			return
		}
	}
	r.disclosures = append(r.disclosures, &disclosure{key: key, hit: hit, op: op, ex: ex,
		what: t.what, where: []string{name}})
}

// disclosureFindings turns the recorded disclosures into findings.
func (r *errorRun) disclosureFindings() {
	for _, d := range r.disclosures {
		sig := d.hit.Sig
		detail := fmt.Sprintf("%s sent to %s produced a %s %s (signature %s).",
			capitalize(d.what), d.where[0], sig.Platform, strings.ToLower(sig.Rule.Title), sig.ID)
		if sig.Rule == &RuleErrorsSQL {
			detail += " The input reached a SQL statement: test this parameter for SQL injection."
		}
		if len(d.where) > 1 {
			detail += fmt.Sprintf(" The same appeared on %d other operation(s): %s.",
				len(d.where)-1, strings.Join(headList(d.where[1:], 8), ", "))
		}
		f := r.s.NewFinding(*sig.Rule, d.op, d.ex, finding.ConfidenceHigh, "", d.hit.Excerpt, detail)
		f.Key = sig.ID // two signatures of one rule may share their first operation
		if sig.Severity != 0 {
			f.Severity = sig.Severity
		}
		if d.op == nil {
			f.Path = "/{unknown-route}" // the random route would change the fingerprint every run
		}
		r.findings = append(r.findings, f)
	}
}

func containsSig(hits []signatureHit, sig *errorSignature) bool {
	for _, h := range hits {
		if h.Sig == sig {
			return true
		}
	}
	return false
}

func opKey(op *target.Operation, path string) string {
	if op != nil {
		return op.Method + " " + op.Path
	}
	return path
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// versionHeader names a header that discloses software, and when its value counts.
type versionHeader struct {
	name string
	// value must match for a finding; nil means any non-empty value.
	value *regexp.Regexp
}

// versionHeaders are the banners the check reports. Server and Via count only with a
// version number: "Server: nginx" alone says little and is not worth a finding.
var versionHeaders = []versionHeader{
	{name: "Server", value: regexp.MustCompile(`\d`)},
	{name: "X-Powered-By"},
	{name: "X-AspNet-Version"},
	{name: "X-AspNetMvc-Version"},
	{name: "X-Backend-Server"},
	{name: "X-Debug-Token"},
	{name: "X-Debug-Token-Link"},
	{name: "X-ChromeLogger-Data"},
	{name: "X-Generator"},
	{name: "Via", value: regexp.MustCompile(`[A-Za-z][\w.-]*/\d`)},
}

// versionHeaders reports each disclosing header once, with the first response carrying it.
func (r *errorRun) versionHeaders() {
	for _, vh := range versionHeaders {
		for _, n := range append(append([]noted(nil), r.clean...), r.junk...) {
			ex := n.ex
			v := strings.TrimSpace(ex.Header.Get(vh.name))
			if v == "" || (vh.value != nil && !vh.value.MatchString(v)) {
				continue
			}
			detail := fmt.Sprintf("The %s header names the software behind the API (%s).",
				vh.name, Truncate(v, 80))
			f := r.s.NewFinding(RuleErrorsVersionHeader, n.op, ex, finding.ConfidenceHigh,
				"Version banner in the "+vh.name+" header", HeaderExcerpt(ex, vh.name), detail)
			f.Key = vh.name
			if n.op == nil {
				f.Path = "/{unknown-route}"
			}
			r.findings = append(r.findings, f)
			break
		}
	}
}
