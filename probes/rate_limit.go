package probes

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apigate/apigate/internal/finding"
	"github.com/apigate/apigate/internal/httpx"
	"github.com/apigate/apigate/internal/target"
)

// Rules of the rate-limit check.
var (
	RuleRateLimitMissing = Rule{
		ID: "rate-limit-missing", Check: finding.CheckRateLimit,
		Title:    "No rate limit observed on an endpoint",
		Severity: finding.SeverityLow, CWE: []string{"CWE-770", "CWE-799"}, OWASP: "API4:2023",
		Summary: "A burst of identical requests was answered in full with no throttling and no advertised limit.",
		Help: "Without a rate limit one client can exhaust the service's capacity or scrape it. " +
			"Limit requests per client (token or account, not only IP) and answer `429 Too Many " +
			"Requests` with `Retry-After`; advertise the policy with the `RateLimit` and " +
			"`RateLimit-Policy` headers. The finding only says no limit was seen at the burst " +
			"size; a higher limit may exist.",
	}
	RuleRateLimitLogin = Rule{
		ID: "rate-limit-login-brute-force", Check: finding.CheckRateLimit,
		Title:    "Login accepts unlimited failed attempts",
		Severity: finding.SeverityMedium, CWE: []string{"CWE-307"}, OWASP: "API2:2023",
		Summary: "Repeated wrong passwords for one account were never throttled, delayed or locked out.",
		Help: "An attacker can guess passwords online as fast as the server answers. Count " +
			"failed logins per account and per client, then slow down (growing delays), answer " +
			"`429` or lock the account temporarily; keep the refusal message the same for " +
			"known and unknown usernames so the lockout does not reveal accounts.",
	}
	RuleRateLimitBypass = Rule{
		ID: "rate-limit-bypass", Check: finding.CheckRateLimit,
		Title:    "Rate limit bypassed by a spoofable header or a path variant",
		Severity: finding.SeverityMedium, CWE: []string{"CWE-770", "CWE-348"}, OWASP: "API4:2023",
		Summary: "Once throttled, a request with a forged client-IP header or a path variant was served again.",
		Help: "The limiter keys on a value the client controls (`X-Forwarded-For`, `X-Real-IP`, " +
			"the raw path), so changing it resets the limit. Key limits on the authenticated " +
			"principal, and take the client address only from the proxy you run (a fixed " +
			"number of trusted hops); normalise paths before counting.",
	}
	RuleRateLimitEnumeration = Rule{
		ID: "rate-limit-lockout-enumeration", Check: finding.CheckRateLimit,
		Title:    "Login lockout reveals which usernames exist",
		Severity: finding.SeverityLow, CWE: []string{"CWE-204"}, OWASP: "API2:2023",
		Summary: "Failed logins lock existing accounts but never unknown usernames, so the lockout answers whether an account exists.",
		Help: "An attacker learns valid usernames by sending a few wrong passwords and watching " +
			"for the lockout, then targets only those. Count failures per submitted username " +
			"whether or not it exists (or per client), and answer locked and unknown accounts " +
			"the same way.",
	}
	RuleRateLimitRetryAfter = Rule{
		ID: "rate-limit-retry-after-invalid", Check: finding.CheckRateLimit,
		Title:    "Invalid Retry-After on a throttled response",
		Severity: finding.SeverityInfo, CWE: []string{"CWE-16"}, OWASP: "API4:2023",
		Summary: "A 429 or 503 carried a Retry-After that is neither delay-seconds nor an HTTP-date.",
		Help: "Clients cannot back off correctly from a malformed `Retry-After`, so they retry " +
			"at once and keep the service overloaded. Send a whole number of seconds " +
			"(`Retry-After: 30`) or an IMF-fixdate (RFC 9110 section 10.2.3).",
	}
)

// Defaults of the rate-limit probe.
const (
	defaultBurst         = 100
	defaultLoginAttempts = 15
	burstConcurrency     = 10
)

type rateLimit struct{}

// NewRateLimit returns the probe for checklist item 5: a burst against a cheap endpoint and
// a failed-login series, each looking for 429 (or 503 with Retry-After) or advertised
// RateLimit headers, and, once throttled, for a bypass.
func NewRateLimit() Probe { return rateLimit{} }

func (rateLimit) Check() finding.Check { return finding.CheckRateLimit }

// Late puts the probe after every other one, and after logging: its burst may throttle the
// scanner and its failed logins may lock the test account.
func (rateLimit) Late() int { return 2 }

func (rateLimit) Rules() []Rule {
	return []Rule{RuleRateLimitMissing, RuleRateLimitLogin, RuleRateLimitBypass,
		RuleRateLimitEnumeration, RuleRateLimitRetryAfter}
}

// partVerdict is the outcome of one half of the probe.
type partVerdict struct {
	status   finding.Status
	reason   string
	findings []finding.Finding
}

func (rateLimit) Run(ctx context.Context, s *Session) Verdict {
	burst := s.burstPart(ctx)
	login := s.loginPart(ctx)
	return combineParts(burst, login)
}

// combineParts merges the burst and login halves: any finding fails the check; a pass needs
// at least one half passed and none inconclusive.
func combineParts(parts ...partVerdict) Verdict {
	var fs []finding.Finding
	var reasons []string
	var pass, inconc int
	for _, p := range parts {
		fs = append(fs, p.findings...)
		reasons = append(reasons, p.reason)
		switch p.status {
		case finding.StatusPass:
			pass++
		case finding.StatusInconclusive:
			inconc++
		}
	}
	reason := strings.Join(reasons, "; ")
	switch {
	case len(fs) > 0:
		return Fail(reason, fs...)
	case inconc > 0:
		return Inconclusive(reason)
	case pass > 0:
		return Pass(reason)
	}
	return NotTested(reason)
}

// burstEndpoint is the cheap request the burst repeats.
type burstEndpoint struct {
	op   *target.Operation
	id   *target.Identity
	path string
	// base is the 2xx answer that made it the choice, to recognise the same resource.
	base *httpx.Exchange
}

// pickBurstEndpoint finds a GET that answers 2xx: authenticated ones first (limits are
// usually per principal), then public ones, then the root.
func (s *Session) pickBurstEndpoint(ctx context.Context) *burstEndpoint {
	id := s.Identity(0)
	var cands []*burstEndpoint
	for pass := 0; pass < 2; pass++ {
		for _, op := range s.Ops(http.MethodGet) {
			public := s.Target.IsPublic(op)
			if op.Deprecated || looksLikeLogin(op.Path) || strings.Contains(op.Path, "logout") {
				continue
			}
			hasParams := strings.ContainsAny(op.Path, "{<:")
			if (pass == 0) == hasParams {
				continue // literal paths first
			}
			who := id
			if public {
				who = nil
			}
			cands = append(cands, &burstEndpoint{op: op, id: who, path: FillPath(op, nil)})
		}
	}
	// Authenticated candidates first.
	var ordered []*burstEndpoint
	for _, c := range cands {
		if c.id != nil {
			ordered = append(ordered, c)
		}
	}
	for _, c := range cands {
		if c.id == nil {
			ordered = append(ordered, c)
		}
	}
	ordered = append(ordered, &burstEndpoint{path: "/"})
	for i, c := range ordered {
		if i >= 5 || opsBroken(s) {
			break
		}
		ex, err := s.Send(ctx, c.id, http.MethodGet, c.path, nil, nil)
		if err == nil && Is2xx(ex.Status) {
			c.base = ex
			return c
		}
	}
	return nil
}

// burstResult is what a burst observed.
type burstResult struct {
	sent       int
	elapsed    time.Duration
	ok2xx      int
	plain503   int
	blocked403 int
	other      int
	errors     int
	refused    int             // not sent: the request budget (or allow-list) refused them
	throttled  *httpx.Exchange // the first 429, or 503 with Retry-After
	throttleAt int             // how many responses had arrived when it came
	states     []RateLimitState
	stateEx    []*httpx.Exchange
	last       *httpx.Exchange
}

// isThrottle reports a response that is a rate-limit refusal by itself.
func isThrottle(ex *httpx.Exchange) bool {
	return ex.Status == http.StatusTooManyRequests ||
		(ex.Status == http.StatusServiceUnavailable && ex.Header.Get("Retry-After") != "")
}

// runBurst sends up to n requests to e with bounded concurrency, stopping at the first
// throttled response.
func (s *Session) runBurst(ctx context.Context, e *burstEndpoint, n int) *burstResult {
	res := &burstResult{}
	var next atomic.Int64
	var stop atomic.Bool
	var mu sync.Mutex
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < min(burstConcurrency, n); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() && ctx.Err() == nil {
				if next.Add(1) > int64(n) {
					return
				}
				ex, err := s.Send(ctx, e.id, http.MethodGet, e.path, nil, nil)
				if opsBroken(s) {
					stop.Store(true)
				}
				mu.Lock()
				res.record(ex, err)
				if err == nil && isThrottle(ex) && res.throttled == nil {
					res.throttled, res.throttleAt = ex, res.sent
					stop.Store(true)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	return res
}

func (r *burstResult) record(ex *httpx.Exchange, err error) {
	if httpx.IsFatal(err) {
		r.refused++
		return
	}
	r.sent++
	if err != nil || ex == nil || ex.Status == 0 {
		r.errors++
		return
	}
	r.last = ex
	if st, ok := ParseRateLimit(ex.Header); ok {
		r.states = append(r.states, st)
		r.stateEx = append(r.stateEx, ex)
	}
	switch {
	case Is2xx(ex.Status):
		r.ok2xx++
	case isThrottle(ex):
	case ex.Status == http.StatusServiceUnavailable:
		r.plain503++
	case ex.Status == http.StatusForbidden:
		r.blocked403++
	default:
		r.other++
	}
}

// advertisedDecrease reports whether the advertised remaining quota went down during the
// series, with the first and lowest values seen.
func advertisedDecrease(states []RateLimitState) (first, lowest RateLimitState, ok bool) {
	have := false
	for _, st := range states {
		if st.Remaining < 0 {
			continue
		}
		if !have {
			first, lowest, have = st, st, true
			continue
		}
		if st.Remaining < lowest.Remaining {
			lowest = st
		}
	}
	return first, lowest, have && lowest.Remaining < first.Remaining
}

func (s *Session) burstPart(ctx context.Context) partVerdict {
	n, capped := s.burstSize()
	if n < minBurst {
		return partVerdict{status: finding.StatusInconclusive, reason: fmt.Sprintf(
			"burst not tested: the request budget (--max-requests %d) has %d requests left",
			s.Client.Budget(), s.Client.Remaining())}
	}
	pv := s.burstOf(ctx, n)
	if capped != "" {
		pv.reason += " (" + capped + ")"
	}
	return pv
}

// burstOf sends a burst of n requests and judges what came back.
func (s *Session) burstOf(ctx context.Context, n int) partVerdict {
	e := s.pickBurstEndpoint(ctx)
	if e == nil && s.Client.Stats().Errors.Load() > 0 {
		return partVerdict{status: finding.StatusInconclusive,
			reason: "burst not tested: the target's answers failed at the transport level"}
	}
	if e == nil {
		return partVerdict{status: finding.StatusNotTested,
			reason: "burst not tested: no GET endpoint answered 2xx to serve as a cheap target"}
	}
	who := "anonymously"
	if e.id != nil {
		who = "as " + e.id.Name
	}
	r := s.runBurst(ctx, e, n)
	secs := r.elapsed.Seconds()
	where := fmt.Sprintf("GET %s %s", e.path, who)

	if r.throttled != nil {
		return s.throttledBurst(ctx, e, r, where)
	}
	if first, lowest, ok := advertisedDecrease(r.states); ok {
		return partVerdict{status: finding.StatusPass, reason: fmt.Sprintf(
			"burst of %d requests to %s in %.2fs was not refused, but the service advertises a "+
				"limit whose remaining quota went down from %d to %d (%s)",
			r.sent, where, secs, first.Remaining, lowest.Remaining, lowest)}
	}
	if r.plain503 > 0 || r.blocked403 > 0 {
		return partVerdict{status: finding.StatusInconclusive, reason: fmt.Sprintf(
			"burst of %d requests to %s: %d answered 503 without Retry-After and %d answered "+
				"403; overload or a block page, not a recognisable rate limit",
			r.sent, where, r.plain503, r.blocked403)}
	}
	if r.refused > 0 {
		return partVerdict{status: finding.StatusInconclusive, reason: fmt.Sprintf(
			"burst to %s: %d of %d requests were sent before the request budget ran out, "+
				"so the absence of a limit is not shown", where, r.sent, n)}
	}
	if r.errors > 0 || r.other > 0 || r.ok2xx < n {
		return partVerdict{status: finding.StatusInconclusive, reason: fmt.Sprintf(
			"burst to %s: only %d of %d requests answered 2xx (%d transport errors, %d other "+
				"statuses), so the absence of a limit is not shown",
			where, r.ok2xx, n, r.errors, r.other)}
	}
	rule := RuleRateLimitMissing
	sev := finding.SeverityLow
	if expensivePath(e.path) {
		sev = finding.SeverityMedium
	}
	title := fmt.Sprintf("No rate limit observed at %d requests in %.2fs on GET %s",
		r.sent, secs, e.path)
	detail := fmt.Sprintf("All %d requests (concurrency %d) answered 2xx with no 429 and no "+
		"RateLimit or X-RateLimit headers; a limit above %d requests may still exist.",
		r.sent, burstConcurrency, r.sent)
	excerpt := fmt.Sprintf("%d/%d responses: HTTP %d", r.ok2xx, r.sent, r.last.Status)
	f := s.NewFinding(rule, e.op, r.last, finding.ConfidenceMedium, title, excerpt, detail)
	f.Severity = sev
	return partVerdict{status: finding.StatusFail, findings: []finding.Finding{f},
		reason: fmt.Sprintf("no throttling observed at %d requests in %.2fs to %s",
			r.sent, secs, where)}
}

// expensivePath reports endpoints whose abuse costs more than a read: search, export, etc.
func expensivePath(p string) bool {
	p = strings.ToLower(p)
	for _, w := range []string{"search", "export", "report", "upload", "download", "query"} {
		if strings.Contains(p, w) {
			return true
		}
	}
	return false
}

// throttledBurst records a burst that was throttled: checks Retry-After, whether it is
// honoured, and whether the limit can be bypassed.
func (s *Session) throttledBurst(ctx context.Context, e *burstEndpoint, r *burstResult,
	where string) partVerdict {
	ex := r.throttled
	reason := fmt.Sprintf("throttled (HTTP %d) after %d requests to %s in %.2fs",
		ex.Status, r.throttleAt, where, r.elapsed.Seconds())
	var fs []finding.Finding
	ra := ex.Header.Get("Retry-After")
	if ra != "" {
		if d, ok := ParseRetryAfter(ra, time.Now()); !ok {
			fs = append(fs, s.NewFinding(RuleRateLimitRetryAfter, e.op, ex, finding.ConfidenceHigh,
				"", HeaderExcerpt(ex, "Retry-After"),
				"The Retry-After value is neither delay-seconds nor an HTTP-date."))
		} else {
			reason += fmt.Sprintf(", Retry-After %s", d.Round(time.Second))
		}
	}
	if st, ok := ParseRateLimit(ex.Header); ok {
		reason += "; policy " + st.String()
	}
	bypass, note := s.tryBypass(ctx, e)
	if d, ok := ParseRetryAfter(ra, time.Now()); ok && d >= 2*time.Second &&
		strings.HasPrefix(note, "the limit had already lifted") {
		note = fmt.Sprintf("Retry-After asked for %s but the next request was served at once",
			d.Round(time.Second))
	}
	if bypass != nil {
		fs = append(fs, *bypass)
		reason += "; " + note
	} else if note != "" {
		reason += "; " + note
	}
	if len(fs) > 0 {
		return partVerdict{status: finding.StatusFail, reason: reason, findings: fs}
	}
	return partVerdict{status: finding.StatusPass, reason: reason}
}

// bypassVariant changes a throttled request in one way an attacker controls.
type bypassVariant struct {
	name   string
	path   string
	header http.Header
}

func bypassVariants(path, canary string) []bypassVariant {
	// Documentation addresses (RFC 5737): they are only header values, never contacted.
	vs := []bypassVariant{
		{name: "X-Forwarded-For", path: path, header: http.Header{"X-Forwarded-For": {"203.0.113.7"}}},
		{name: "X-Real-IP", path: path, header: http.Header{"X-Real-Ip": {"203.0.113.8"}}},
		{name: "X-Client-IP", path: path, header: http.Header{"X-Client-Ip": {"203.0.113.9"}}},
	}
	base, query, _ := strings.Cut(path, "?")
	if !strings.HasSuffix(base, "/") {
		vs = append(vs, bypassVariant{name: "trailing slash", path: withQuery(base+"/", query)})
	}
	if c := flipCase(base); c != base {
		vs = append(vs, bypassVariant{name: "path case", path: withQuery(c, query)})
	}
	dummy := "apigate=" + canary
	if query != "" {
		dummy = query + "&" + dummy
	}
	vs = append(vs, bypassVariant{name: "dummy query parameter", path: base + "?" + dummy})
	return append(vs, versionDowngrades(path)...)
}

// versionDowngrades asks an older API version for the same thing: limits added in v2 are
// often missing on v1 (checks are per route).
func versionDowngrades(path string) []bypassVariant {
	base, query, _ := strings.Cut(path, "?")
	older, _, ok := olderVersions(base)
	if !ok {
		return nil
	}
	return []bypassVariant{{name: "older API version", path: withQuery(older[0], query)}}
}

func withQuery(p, q string) string {
	if q == "" {
		return p
	}
	return p + "?" + q
}

// flipCase upper-cases the first letter of the last literal path segment.
func flipCase(p string) string {
	segs := strings.Split(p, "/")
	for i := len(segs) - 1; i >= 0; i-- {
		s := segs[i]
		if s == "" || target.IsParam(s) {
			continue
		}
		c := s[0]
		if c >= 'a' && c <= 'z' {
			segs[i] = string(c-32) + s[1:]
			return strings.Join(segs, "/")
		}
	}
	return p
}

// tryBypass checks whether the limit still holds (a control request is refused), then
// sends each variant once; a variant served 2xx while the control before and after it is
// still refused is a bypass.
func (s *Session) tryBypass(ctx context.Context, e *burstEndpoint) (*finding.Finding, string) {
	control := func() bool {
		ex, err := s.Send(ctx, e.id, http.MethodGet, e.path, nil, nil)
		return err == nil && isThrottle(ex)
	}
	if !control() {
		return nil, "the limit had already lifted when re-tested, so bypasses were not tried"
	}
	for _, v := range bypassVariants(e.path, s.Canary) {
		if opsBroken(s) {
			break
		}
		ex, err := s.Send(ctx, e.id, http.MethodGet, v.path, nil, v.header)
		if err != nil || !Is2xx(ex.Status) || LooksLikeError(ex.Body) ||
			(e.base != nil && !sameResource(e.base.Body, ex.Body)) {
			continue // refused, or another page (a catch-all answering the path variant)
		}
		if !control() {
			return nil, "the limit lifted while bypasses were tried"
		}
		excerpt := fmt.Sprintf("HTTP %d for the variant while the plain request still got 429",
			ex.Status)
		if v.header != nil {
			excerpt = HeaderExcerpt(&httpx.Exchange{Header: v.header}, "X-Forwarded-For",
				"X-Real-IP", "X-Client-IP") + "\n" + excerpt
		}
		f := s.NewFinding(RuleRateLimitBypass, e.op, ex, finding.ConfidenceHigh,
			fmt.Sprintf("Rate limit on GET %s bypassed with %s", e.path, v.name), excerpt,
			fmt.Sprintf("After throttling, the same request with %s was served again while the "+
				"unchanged request was still refused.", v.name))
		return &f, "bypassed with " + v.name
	}
	return nil, "no bypass with X-Forwarded-For, X-Real-IP, X-Client-IP, path variants or an " +
		"older API version"
}

// sameResource reports whether two answers look like the same resource: JSON of the same
// shape (the same top-level keys, or both lists), or near-identical text.
func sameResource(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) == nil && json.Unmarshal(b, &y) == nil {
		switch xa := x.(type) {
		case []any:
			_, ok := y.([]any)
			return ok
		case map[string]any:
			yb, ok := y.(map[string]any)
			if !ok || len(xa) != len(yb) {
				return false
			}
			for k := range xa {
				if _, ok := yb[k]; !ok {
					return false
				}
			}
			return true
		}
	}
	return Similarity(a, b) >= 0.8
}
