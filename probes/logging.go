package probes

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/apigate/apigate/internal/finding"
	"github.com/apigate/apigate/internal/httpx"
	"github.com/apigate/apigate/internal/target"
)

// Rules of the logging check. The OWASP API Top 10 2023 has no logging entry; the web
// Top 10's A09:2021 is the closest.
var (
	RuleLogAuthFailure = Rule{
		ID: "logging-auth-failure-unlogged", Check: finding.CheckLogging,
		Title:    "Authentication or authorization failures leave no trace in the logs",
		Severity: finding.SeverityMedium, CWE: []string{"CWE-778", "CWE-223"}, OWASP: "A09:2021",
		Summary: "Failed logins, refused tokens or refused object access produced no log line.",
		Help: "Without a record of failures, password guessing and token abuse go unnoticed and " +
			"cannot be investigated. Log every authentication and authorization failure as a " +
			"structured event (e.g. `authn_login_fail`, `authz_fail` from the OWASP logging " +
			"vocabulary) with time, client address, route and request id, never the secret.",
	}
	RuleLogSecret = Rule{
		ID: "logging-secret-in-logs", Check: finding.CheckLogging,
		Title:    "Secrets sent by a client are written to the logs",
		Severity: finding.SeverityHigh, CWE: []string{"CWE-532"}, OWASP: "A09:2021",
		Summary: "A password, token, API key, cookie or card number the scanner sent appears in the service's logs.",
		Help: "Anyone who can read the logs (operators, log pipelines, a leaked archive) can " +
			"reuse the credentials. Never log request bodies of login calls or raw " +
			"`Authorization`, `Cookie` and API-key headers; mask them at the logger " +
			"(keep a prefix only, such as `Bearer eyJ…`) and redact card numbers.",
	}
	RuleLogInjection = Rule{
		ID: "logging-injection", Check: finding.CheckLogging,
		Title:    "Log injection: CR/LF in input forges log lines",
		Severity: finding.SeverityLow, CWE: []string{"CWE-117"}, OWASP: "A09:2021",
		Summary: "A username with CR/LF produced a separate, attacker-written line in the logs.",
		Help: "Forged lines can hide an attack or blame someone else, and break log parsers. " +
			"Write structured logs (JSON) or escape CR, LF and other control characters in " +
			"every value taken from a request before logging it.",
	}
)

// Timing of the log read.
const (
	logPollEvery = 250 * time.Millisecond
	// logClockSkew widens the window read, since the service's clock may differ.
	logClockSkew = 2 * time.Second
)

// logFlushWait is how long the probe waits for its request ids to reach the logs. A
// variable only so that tests of services that never log them need not wait it out.
var logFlushWait = 2 * time.Second

// testCardNumber is the Luhn-valid card number every payment processor documents as a test
// card: it is recognisable and belongs to nobody.
const testCardNumber = "4111111111111111"

type logging struct{}

// NewLogging returns the probe for checklist item 10: it provokes authentication failures
// and sends canary secrets, then reads the service's logs for them.
func NewLogging() Probe { return logging{} }

func (logging) Check() finding.Check { return finding.CheckLogging }

// Late runs the probe after the concurrent probes, before rate-limit: it reads the logs
// they left and its failed logins must not meet a lockout.
func (logging) Late() int { return 1 }

func (logging) Rules() []Rule { return []Rule{RuleLogAuthFailure, RuleLogSecret, RuleLogInjection} }

// canarySecret is a secret value the probe sends and then looks for in the logs.
type canarySecret struct {
	label, what, value string
	sev                finding.Severity
	ex                 *httpx.Exchange // the request that carried it
}

// authEvent is one failure the probe provoked, to be found in the logs.
type authEvent struct {
	kind  string // "failed login", "invalid token", "forbidden object"
	rid   string
	ex    *httpx.Exchange
	at    time.Time
	match eventMatch
}

type eventMatch int

const (
	matchNone   eventMatch = iota
	matchAccess            // only an access-log line with the status
	matchEvent             // an application line naming the failure
)

// logRun is the state of one run of the probe.
type logRun struct {
	s       *Session
	n       int
	ua      string
	secrets []*canarySecret
	events  []*authEvent
	forged  string // the text of the forged line
	injEx   *httpx.Exchange
	notes   []string
}

func (r *logRun) header() (http.Header, string) {
	r.n++
	rid := fmt.Sprintf("%s-%d", r.s.Canary, r.n)
	return http.Header{"X-Request-Id": {rid}, "User-Agent": {r.ua}}, rid
}

func (logging) Run(ctx context.Context, s *Session) Verdict {
	if s.Target.Logs == nil {
		return NotTested("no access to the service's logs; scan with --compose or the demo")
	}
	r := &logRun{s: s, ua: "apigate-log-probe/" + s.Canary}
	high, med := finding.SeverityHigh, finding.SeverityMedium
	r.secrets = []*canarySecret{
		{label: "CANARY_PASSWORD", what: "password", value: "Cnry-" + s.Canary + "-Pw!", sev: high},
		{label: "CANARY_TOKEN", what: "bearer token", value: "cnry." + s.Canary + ".sig", sev: high},
		{label: "CANARY_API_KEY", what: "API key", value: "cnry-" + s.Canary, sev: high},
		{label: "CANARY_COOKIE", what: "session cookie", value: "cnryck" + s.Canary, sev: med},
		{label: "TEST_CARD", what: "card number", value: testCardNumber, sev: high},
	}
	red := s.Client.Redactor()
	for _, c := range r.secrets {
		red.Add(c.value, c.label)
		red.Explain(c.label, fmt.Sprintf("a made-up %s the logging check sent to see whether "+
			"it reaches the logs; any value you can search the logs for will do", c.what))
	}
	red.Explain("TEST_CARD", "the Visa test card number payment processors document "+
		"(it belongs to nobody); any test card number will do")

	for _, step := range []func(context.Context){r.failedLogins, r.invalidToken,
		r.forbiddenObject, r.injection} {
		if opsBroken(s) {
			return Inconclusive(fmt.Sprintf("%d requests failed at the transport level, so "+
				"the failures the logs should show were not all provoked", maxTransportErrors))
		}
		step(ctx)
	}
	if len(r.events) == 0 && r.injEx == nil && !r.anySent() {
		return NotTested("could not provoke any failure: no login, no protected operation")
	}

	lines, err := r.readLogs(ctx)
	if err != nil {
		return Inconclusive(fmt.Sprintf("could not read the service's logs: %v", err))
	}
	if len(lines) == 0 {
		return Inconclusive("the service writes nothing to stdout/stderr during the scan, so " +
			"its logging cannot be verified (it may log to files or a collector)")
	}
	return r.judge(lines)
}

func (r *logRun) anySent() bool {
	for _, c := range r.secrets {
		if c.ex != nil {
			return true
		}
	}
	return false
}

func (r *logRun) secret(label string) *canarySecret {
	for _, c := range r.secrets {
		if c.label == label {
			return c
		}
	}
	return nil
}

// record notes a failure the logs should show. A throttled answer is never one: the engine
// keeps logging findings resting on a 429 (a leaked secret is proved by the log line), so
// an "unlogged failure" must not be built on a request that was never processed.
func (r *logRun) record(kind, rid string, ex *httpx.Exchange) {
	if ex.Status == http.StatusTooManyRequests {
		return
	}
	r.events = append(r.events, &authEvent{kind: kind, rid: rid, ex: ex, at: time.Now()})
}

// failedLogins sends three wrong passwords (the canary password) for the test user: the
// hardened demo locks after five, so three leave room for other probes. It uses the last
// identity: the authentication and rate-limit probes spend the first one's failures.
func (r *logRun) failedLogins(ctx context.Context) {
	l := findLogin(r.s, true)
	if l == nil {
		r.notes = append(r.notes, "no login to fail (no identity with a login, no login operation)")
		return
	}
	pw := r.secret("CANARY_PASSWORD")
	throttled := 0
	for range 3 {
		h, rid := r.header()
		ex, err := l.Send(ctx, r.s, pw.value, h)
		if err == nil && pw.ex == nil {
			pw.ex = ex
		}
		switch {
		case err != nil:
		case ex.Status == http.StatusTooManyRequests:
			// The limiter answered before any password was checked (earlier checks' failed
			// logins may have used up its quota): no login failed, so there is nothing the
			// log must show, and the lack of a trace proves nothing.
			throttled++
		case ex.Status == 401 || ex.Status == 403:
			r.record("failed login", rid, ex)
		}
	}
	switch {
	case throttled == 3:
		r.notes = append(r.notes, fmt.Sprintf("failed logins not tested: %s %s answered 429 "+
			"to all 3 wrong passwords, so no login was attempted", l.Method, l.Path))
	case throttled > 0:
		r.notes = append(r.notes, fmt.Sprintf("%d of 3 wrong passwords to %s %s were answered "+
			"429 (throttled, not attempted) and are not counted", throttled, l.Method, l.Path))
	}
	// The card travels in a login body for a canary user, not the test account.
	h, _ := r.header()
	card := r.secret("TEST_CARD")
	cl := l.WithUser(r.s.Canary + "-card@example.invalid")
	body := cl.Body(pw.value)
	body["card_number"] = testCardNumber
	if ex, err := r.s.Send(ctx, nil, l.Method, l.Path, body, h); err == nil {
		card.ex = ex
	}
}

// invalidToken calls a protected operation with a bearer token that is not a valid JWT,
// carrying the API-key and cookie canaries too.
func (r *logRun) invalidToken(ctx context.Context) {
	path := "/"
	var op *target.Operation
	for _, o := range r.s.Ops(http.MethodGet) {
		if !r.s.Target.IsPublic(o) {
			op, path = o, FillPath(o, nil)
			break
		}
	}
	h, rid := r.header()
	tok, key, ck := r.secret("CANARY_TOKEN"), r.secret("CANARY_API_KEY"), r.secret("CANARY_COOKIE")
	h.Set("Authorization", "Bearer "+tok.value)
	h.Set("X-API-Key", key.value)
	h.Set("Cookie", "session="+ck.value)
	ex, err := r.s.Send(ctx, nil, http.MethodGet, path, nil, h)
	if err != nil {
		return
	}
	tok.ex, key.ex, ck.ex = ex, ex, ex
	if op != nil && (ex.Status == 401 || ex.Status == 403) {
		r.record("invalid token", rid, ex)
	}
}

// injection sends a login whose username and User-Agent carry CR/LF followed by a forged
// line. Go refuses CR/LF in header values, so the User-Agent carries them URL-encoded.
func (r *logRun) injection(ctx context.Context) {
	r.forged = "authn_login_success user=admin forged-by-" + r.s.Canary
	l := findLogin(r.s, true)
	h, _ := r.header()
	h.Set("User-Agent", r.ua+"%0d%0a"+r.forged)
	if l == nil {
		// Without a login, the path is the only input: many access logs write it decoded.
		ex, err := r.s.Send(ctx, nil, http.MethodGet, "/apigate-"+r.s.Canary+"%0d%0a"+
			strings.ReplaceAll(r.forged, " ", "%20"), nil, h)
		if err == nil {
			r.injEx = ex
		}
		return
	}
	il := l.WithUser("apigate-" + r.s.Canary + "\r\n" + r.forged)
	if ex, err := il.Send(ctx, r.s, "apigate-wrong-"+r.s.Canary, h); err == nil {
		r.injEx = ex
	}
}

// readLogs polls the logs until every request id appears or logFlushWait passes.
func (r *logRun) readLogs(ctx context.Context) ([]target.LogLine, error) {
	deadline := time.Now().Add(logFlushWait)
	since := r.s.Started.Add(-logClockSkew)
	for {
		lines, err := r.s.Target.Logs.Logs(ctx, since)
		if err != nil {
			return nil, err
		}
		if time.Now().After(deadline) || r.allSeen(lines) {
			return lines, nil
		}
		select {
		case <-ctx.Done():
			return lines, nil
		case <-time.After(logPollEvery):
		}
	}
}

func (r *logRun) allSeen(lines []target.LogLine) bool {
	if len(r.events) == 0 {
		return false
	}
	for _, e := range r.events {
		found := false
		for _, l := range lines {
			if strings.Contains(l.Text, e.rid) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}
