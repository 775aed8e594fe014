package probes

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/apigate/apigate/internal/finding"
	"github.com/apigate/apigate/internal/httpx"
	"github.com/apigate/apigate/internal/target"
)

// Rules of the input-validation check.
var (
	RuleInputServerError = Rule{
		ID: "input-validation-server-error", Check: finding.CheckInputValidation,
		Title: "Invalid input causes a server error", Severity: finding.SeverityMedium,
		CWE: []string{"CWE-20", "CWE-248"}, OWASP: "API8:2023",
		Summary: "A single invalid value made the API answer 5xx or drop the connection.",
		Help: "A 5xx or a dropped connection on bad input means the value reached code that " +
			"did not expect it: an unhandled exception, a panic, sometimes a query or parser " +
			"that can be abused. Validate every request against its schema at the edge and " +
			"answer 400 or 422 with a description of what is wrong.",
	}
	RuleInputAccepted = Rule{
		ID: "input-validation-accepted", Check: finding.CheckInputValidation,
		Title: "Schema-violating input accepted and stored", Severity: finding.SeverityLow,
		CWE: []string{"CWE-20"}, OWASP: "API8:2023",
		Summary: "A value the schema forbids was accepted with 2xx and is stored.",
		Help: "Values outside the documented type, range, length or format end up in the " +
			"database and in every consumer of it, where they break assumptions (negative " +
			"quantities, oversized names). Enforce the OpenAPI schema on input, for example " +
			"with a validation middleware, and reject violations with 400 or 422.",
	}
	RuleInputSlow = Rule{
		ID: "input-validation-slow-input", Check: finding.CheckInputValidation,
		Title: "Large input slows the API down", Severity: finding.SeverityMedium,
		CWE: []string{"CWE-400", "CWE-770"}, OWASP: "API4:2023",
		Summary: "An oversized value took far longer than a valid request, or timed out.",
		Help: "Input that costs the server ten times the normal work lets a few clients " +
			"exhaust it. Cap body and field sizes (maxLength, a body limit at the proxy) " +
			"and reject oversized input before parsing or processing it.",
	}
)

// Caps that keep the check fast on the demo and bounded on large APIs.
const (
	maxInputOps       = 8
	maxMutationsPerOp = 14
	// slowFactor and slowFloor define a DoS signal: ten times the baseline, and at least
	// this long, so sub-millisecond baselines do not turn jitter into findings.
	slowFactor = 10
	slowFloor  = 500 * time.Millisecond
)

// inputValidation sends, for up to eight operations with a body or parameters, a valid
// baseline and then requests that each break the schema in exactly one place. A 5xx or a
// dropped connection is a finding; a 2xx is one only when reading the object back shows the
// invalid value stored; an oversized input ten times slower than the baseline is a DoS
// signal. Gateways' 502/503/504 and 429 are never blamed on the input.
type inputValidation struct{}

// NewInputValidation returns the probe.
func NewInputValidation() Probe { return inputValidation{} }

func (inputValidation) Check() finding.Check { return finding.CheckInputValidation }

func (inputValidation) Rules() []Rule {
	return []Rule{RuleInputServerError, RuleInputAccepted, RuleInputSlow}
}

// inputRun holds the state of one run.
type inputRun struct {
	s        *Session
	findings []finding.Finding
	created  map[string]string // collection path -> id of an object the baseline created
	sent     int
	ops      int
	skipped  []string
	rejected int
	unproven int
	spent    bool // the request budget refused a request: the loops stop
}

// count records one request's outcome: counted only if it went out, and a refusal by the
// budget stops the run.
func (r *inputRun) count(ex *httpx.Exchange, err error) {
	if wentOut(ex, err) {
		r.sent++
	}
	if errors.Is(err, httpx.ErrBudget) {
		r.spent = true
	}
}

func (p inputValidation) Run(ctx context.Context, s *Session) Verdict {
	r := &inputRun{s: s, created: map[string]string{}}
	ops := inputOps(s)
	if len(ops) == 0 {
		return NotTested("no operation takes a request body or parameters to mutate")
	}
	for _, op := range ops {
		if ctx.Err() != nil || r.spent {
			break
		}
		id := s.identityFor(op)
		if id == nil && !s.Target.IsPublic(op) && op.Security == target.SecurityRequired {
			r.skipped = append(r.skipped, op.Method+" "+op.Path+" (needs an identity)")
			continue
		}
		r.testOp(ctx, op, id)
	}
	if r.ops == 0 {
		return NotTested("no operation could be tested: " + strings.Join(r.skipped, "; "))
	}
	reason := fmt.Sprintf("sent %d requests to %d operations: a valid baseline each, then "+
		"one invalid value per request (wrong types, ranges, lengths, formats, missing and "+
		"extra fields, malformed JSON, wrong Content-Type); %d invalid requests were "+
		"rejected with 4xx", r.sent, r.ops, r.rejected)
	if r.unproven > 0 {
		reason += fmt.Sprintf("; %d invalid values were answered 2xx but could not be read "+
			"back to prove they were stored", r.unproven)
	}
	if len(r.skipped) > 0 {
		reason += "; skipped " + strings.Join(r.skipped, "; ")
	}
	if r.spent {
		reason += "; " + budgetStop
	}
	if len(r.findings) > 0 {
		return Fail(reason, r.findings...)
	}
	if r.rejected == 0 {
		// An API that answers 2xx to everything (a catch-all, a mock, a handler that
		// ignores its input) shows no sign of validation; that is not a pass.
		return Inconclusive(reason + "; no invalid request was rejected and none could be " +
			"shown stored, so there is no evidence that input is validated")
	}
	return Pass(reason + "; none caused a 5xx, a dropped connection or a slowdown")
}

// inputOps picks operations with something to mutate: creations first (they provide ids
// for the others), then updates, then reads with parameters. Deletions are never sent.
func inputOps(s *Session) []*target.Operation {
	rank := map[string]int{"POST": 0, "PUT": 1, "PATCH": 1, "GET": 2}
	var ops []*target.Operation
	for _, op := range s.Target.Operations {
		if _, ok := rank[op.Method]; !ok || isDocsPath(op.Path) {
			continue
		}
		hasQuery := false
		for _, p := range op.Params {
			hasQuery = hasQuery || p.In == "query" || p.In == "path"
		}
		if op.RequestBody != nil || hasQuery {
			ops = append(ops, op)
		}
	}
	sort.SliceStable(ops, func(i, j int) bool { return rank[ops[i].Method] < rank[ops[j].Method] })
	if len(ops) > maxInputOps {
		ops = ops[:maxInputOps]
	}
	return ops
}

// testOp sends the baseline and the mutations of one operation.
func (r *inputRun) testOp(ctx context.Context, op *target.Operation, id *target.Identity) {
	vals := r.pathValues(op)
	path := FillPath(op, vals)
	var valid map[string]any
	var body []byte
	ct := op.RequestContentType
	if ct == "" {
		ct = "application/json"
	}
	if op.RequestBody != nil && op.RequestBody.Type == "object" {
		valid, _ = Example(op.RequestBody, "").(map[string]any)
		if current := r.current(ctx, op, id, vals); current != nil {
			// An update starts from the object as it is, so the baseline changes nothing
			// and the object can be put back afterwards.
			for k := range valid {
				if v, ok := current[k]; ok && v != nil {
					valid[k] = v
				}
			}
			defer r.restore(ctx, op, id, path, valid, ct)
		} else {
			r.markCanary(op.RequestBody, valid)
		}
		body = encodeBody(valid)
	}
	base, err := r.send(ctx, id, op.Method, path, body, ct)
	if httpx.IsFatal(err) {
		r.skipped = append(r.skipped, op.Method+" "+op.Path+" (baseline not sent: "+err.Error()+")")
		return
	}
	if err != nil || base.Status == 0 {
		r.skipped = append(r.skipped, op.Method+" "+op.Path+" (baseline failed)")
		return
	}
	if base.Status >= 500 {
		r.skipped = append(r.skipped, fmt.Sprintf("%s %s (the valid baseline itself answered %d)",
			op.Method, op.Path, base.Status))
		return
	}
	r.ops++
	if op.Method == "POST" && Is2xx(base.Status) {
		if oid := createdID(base); oid != "" {
			r.created[op.Path] = oid
		}
	}
	var all []mutation
	if valid != nil {
		all = append(all, bodyMutations(op, path, valid)...)
	}
	all = append(all, paramMutations(op, vals, body, ct)...)
	var crashed, slow, accepted []string
	var crashEx, slowEx *httpx.Exchange
	var crashMu, slowMu mutation
	for _, m := range pickMutations(all, maxMutationsPerOp) {
		if ctx.Err() != nil || r.spent {
			break
		}
		ex, err := r.send(ctx, id, op.Method, m.path, m.body, m.ctype)
		if err != nil && dropped(err) {
			// A connection can drop for reasons of its own (an idle keep-alive closed by
			// the server): only a payload that drops it twice is blamed.
			ex, err = r.send(ctx, id, op.Method, m.path, m.body, m.ctype)
		}
		switch {
		case err != nil && m.large && isTimeout(err):
			slow = append(slow, m.name)
			if slowEx == nil {
				slowEx, slowMu = ex, m
			}
		case err != nil && dropped(err):
			crashed = append(crashed, m.name)
			if crashEx == nil {
				crashEx, crashMu = ex, m
			}
		case err != nil:
		case ex.Status >= 500 && !gatewayStatus(ex.Status):
			crashed = append(crashed, m.name)
			if crashEx == nil {
				crashEx, crashMu = ex, m
			}
		case m.large && base.Duration > 0 && ex.Duration > slowFloor &&
			ex.Duration > slowFactor*base.Duration:
			slow = append(slow, m.name)
			if slowEx == nil {
				slowEx, slowMu = ex, m
			}
		case ex.Status >= 400 && ex.Status < 500:
			r.rejected++
		case Is2xx(ex.Status) && m.violates && len(accepted) == 0:
			if f, ok := r.confirmStored(ctx, op, id, m, ex, vals); ok {
				accepted = append(accepted, m.name)
				r.findings = append(r.findings, f)
			}
		}
	}
	if crashEx != nil {
		r.findings = append(r.findings, r.crashFinding(op, base, crashEx, crashMu, crashed))
	}
	if slowEx != nil {
		detail := fmt.Sprintf("%s took %s where the valid request took %s.",
			"A request with "+slowMu.name, durationText(slowEx), roundDur(base.Duration))
		excerpt := fmt.Sprintf("baseline %s, %s: %s", roundDur(base.Duration),
			slowMu.name, durationText(slowEx))
		r.findings = append(r.findings, r.s.NewFinding(RuleInputSlow, op, slowEx,
			finding.ConfidenceMedium, "", excerpt, detail))
	}
}

func durationText(ex *httpx.Exchange) string {
	if ex.Err != nil && isTimeout(ex.Err) {
		return "no answer before the timeout"
	}
	return roundDur(ex.Duration)
}

// roundDur renders a duration readably: milliseconds, or tenths of them when shorter.
func roundDur(d time.Duration) string {
	if d < time.Millisecond {
		return d.Round(100 * time.Microsecond).String()
	}
	return d.Round(time.Millisecond).String()
}

func (r *inputRun) crashFinding(op *target.Operation, base, ex *httpx.Exchange, m mutation,
	all []string) finding.Finding {
	conf := finding.ConfidenceHigh
	sev := finding.SeverityMedium
	var excerpt, what string
	if ex.Status == 0 {
		excerpt = "connection closed without a response: " + errText(ex.Err)
		what = "the server dropped the connection (a crashed handler)"
	} else {
		excerpt = fmt.Sprintf("HTTP %d\n%s", ex.Status, Truncate(string(ex.Body), 300))
		what = fmt.Sprintf("the server answered %d", ex.Status)
		if !Is2xx(base.Status) {
			// The valid baseline was refused with a 4xx (a 409 for a taken name, a 404):
			// the handler dealt with it, and the only change is the payload, so the 5xx is
			// the payload's and the severity stays. What a 4xx baseline weakens is the
			// comparison (the payload is not the only difference from a success), so only
			// the confidence drops. The severity must not follow the baseline's status:
			// that status can change between identical runs against one server, and a CI
			// gate on severity would flip with it.
			conf = finding.ConfidenceMedium
		}
	}
	detail := fmt.Sprintf("With %s, %s, while the valid request got %d.", m.name, what,
		base.Status)
	if len(all) > 1 {
		detail += fmt.Sprintf(" %d other mutations did the same: %s.", len(all)-1,
			strings.Join(headList(all[1:], 6), "; "))
	}
	f := r.s.NewFinding(RuleInputServerError, op, ex, conf, "", excerpt, detail)
	f.Severity = sev
	return f
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// confirmStored reads the object back and reports a finding only if the invalid value is
// really there. A 2xx that cannot be read back is counted, not reported.
func (r *inputRun) confirmStored(ctx context.Context, op *target.Operation, id *target.Identity,
	m mutation, ex *httpx.Exchange, vals map[string]string) (finding.Finding, bool) {
	readPath := r.readBackPath(op, ex, vals)
	if readPath == "" || (m.stored == nil && !m.missing) {
		r.unproven++
		return finding.Finding{}, false
	}
	back, err := r.s.Send(ctx, id, "GET", readPath, nil, nil)
	r.count(back, err)
	if err != nil || !Is2xx(back.Status) {
		r.unproven++
		return finding.Finding{}, false
	}
	flat := Flatten(back.Body)
	var proof string
	switch {
	case m.stored != nil && storedAs(flat, m.field, m.stored):
		proof = fmt.Sprintf("GET %s -> %s=%s", readPath, m.field,
			Truncate(flat[m.field], 80))
	case m.stored == nil:
		if v, ok := flat[m.field]; !ok || v == "null" {
			proof = fmt.Sprintf("GET %s -> the object exists without %s", readPath, m.field)
		}
	}
	if proof == "" {
		r.unproven++
		return finding.Finding{}, false
	}
	detail := fmt.Sprintf("%s was accepted with %d and read back from GET %s.",
		"A request with "+m.name, ex.Status, readPath)
	f := r.s.NewFinding(RuleInputAccepted, op, ex, finding.ConfidenceHigh, "", proof, detail)
	if m.class == "range" || m.class == "type" {
		f.Severity = finding.SeverityMedium
	}
	return f, true
}

// readBackPath finds where the object a write touched can be read: the item route of a
// creation (by the id in its answer or Location), or the written item route itself.
func (r *inputRun) readBackPath(op *target.Operation, ex *httpx.Exchange,
	vals map[string]string) string {
	switch op.Method {
	case "POST":
		oid := createdID(ex)
		if oid == "" {
			return ""
		}
		for _, g := range r.s.Ops("GET") {
			params := PathParams(g.Path)
			if len(params) > 0 && strings.TrimSuffix(g.Path, "/{"+params[len(params)-1]+"}") ==
				strings.TrimSuffix(op.Path, "/") {
				v := copyStrings(vals)
				v[params[len(params)-1]] = oid
				return FillPath(g, v)
			}
		}
		if loc := ex.Header.Get("Location"); strings.HasPrefix(loc, "/") {
			return loc
		}
	case "PUT", "PATCH":
		for _, g := range r.s.Ops("GET") {
			if g.Path == op.Path {
				return FillPath(g, vals)
			}
		}
	}
	return ""
}

// current reads the object an update will change, from the GET on the same path; nil for
// creations or when it cannot be read.
func (r *inputRun) current(ctx context.Context, op *target.Operation, id *target.Identity,
	vals map[string]string) map[string]any {
	if op.Method != "PUT" && op.Method != "PATCH" {
		return nil
	}
	for _, g := range r.s.Ops("GET") {
		if g.Path != op.Path {
			continue
		}
		ex, err := r.s.Send(ctx, id, "GET", FillPath(g, vals), nil, nil)
		r.count(ex, err)
		if err != nil || !Is2xx(ex.Status) {
			return nil
		}
		var m map[string]any
		if json.Unmarshal(ex.Body, &m) != nil {
			return nil
		}
		return m
	}
	return nil
}

// restore writes an updated object back as it was before the check, so an accepted invalid
// value does not linger in the identity's own profile for the other checks to trip on.
func (r *inputRun) restore(ctx context.Context, op *target.Operation, id *target.Identity,
	path string, valid map[string]any, ct string) {
	if ctx.Err() == nil {
		_, _ = r.send(ctx, id, op.Method, path, encodeBody(valid), ct)
	}
}

// pathValues fills an operation's path parameters, using an id a creation returned for the
// parent collection when there is one, so updates hit a real object.
func (r *inputRun) pathValues(op *target.Operation) map[string]string {
	vals := map[string]string{}
	params := PathParams(op.Path)
	if len(params) == 0 {
		return vals
	}
	last := params[len(params)-1]
	parent := strings.TrimSuffix(op.Path, "/{"+last+"}")
	if oid, ok := r.created[parent]; ok {
		vals[last] = oid
	}
	return vals
}

// markCanary puts the scan's canary in the free-text string fields of a valid body, so
// objects the check creates can be recognised, and so that fields that must be unique
// (usernames, e-mail addresses) differ from one scan to the next: a baseline that reused
// last scan's username would meet a 409 and change the verdict between identical runs.
// A value that the field's pattern, format or length would refuse is not used.
func (r *inputRun) markCanary(sc *target.Schema, body map[string]any) {
	for k, v := range body {
		p := sc.Properties[k]
		if _, ok := v.(string); !ok || p == nil || len(p.Enum) > 0 {
			continue
		}
		if c, ok := canaryValue(p, k, r.s.Canary); ok {
			body[k] = c
		}
	}
}

// canaryValue is a value for field name of schema p that carries the canary: an address
// at example.invalid for e-mail fields, the bare canary (letters and digits, which most
// username patterns allow) for patterned fields, "apigate-<canary>" for free text. It
// reports false when the field's constraints refuse every candidate.
func canaryValue(p *target.Schema, name, canary string) (string, bool) {
	lower := strings.ToLower(name)
	var c string
	switch {
	case p.Format == "email" || p.Format == "idn-email" || strings.Contains(lower, "email"):
		c = canary + "@example.invalid"
	case p.Format != "":
		return "", false // a date, a uuid, a URI: the canary cannot be one
	case p.Pattern != "":
		c = canary
	default:
		c = "apigate-" + canary
	}
	if p.MaxLength != nil && len(c) > *p.MaxLength {
		if strings.Contains(c, "@") {
			return "", false
		}
		c = canary[:min(len(canary), max(*p.MaxLength, 0))]
		if len(c) < 8 { // too short to stay unique between scans
			return "", false
		}
	}
	if p.MinLength != nil && len(c) < *p.MinLength {
		return "", false
	}
	if p.Pattern != "" {
		re, err := regexp.Compile(p.Pattern)
		if err != nil || !re.MatchString(c) {
			return "", false
		}
	}
	return c, true
}

func (r *inputRun) send(ctx context.Context, id *target.Identity, method, path string,
	body []byte, ct string) (*httpx.Exchange, error) {
	var h http.Header
	var b any
	if body != nil {
		h = http.Header{"Content-Type": {ct}}
		b = body
	}
	ex, err := r.s.Send(ctx, id, method, path, b, h)
	r.count(ex, err)
	return ex, err
}

// createdID finds the id of an object a creation returned: an id-like field of the JSON
// answer (also inside a "data" envelope), else the last segment of Location.
func createdID(ex *httpx.Exchange) string {
	flat := Flatten(ex.Body)
	for _, k := range []string{"id", "ID", "Id", "_id", "uuid", "data.id", "data._id"} {
		if v, ok := flat[k]; ok {
			return strings.Trim(v, `"`)
		}
	}
	if loc := ex.Header.Get("Location"); loc != "" {
		loc = strings.TrimSuffix(loc, "/")
		return loc[strings.LastIndex(loc, "/")+1:]
	}
	return ""
}

// gatewayStatus marks 5xx codes proxies and overloaded servers send; they say nothing
// about the application's handling of the input.
func gatewayStatus(code int) bool { return code == 502 || code == 503 || code == 504 }

// dropped reports a connection that ended without a response: the symptom of a handler
// that panicked in a Go server, or of a process that crashed.
func dropped(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || strings.Contains(err.Error(), "EOF") ||
		strings.Contains(err.Error(), "connection reset")
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}
