// Package scan runs the probes against a target and assembles the report: probes run
// concurrently, then the late ones alone; verdicts are corrected for throttling, transport
// errors and a target that died, so that nothing unproven is reported as a pass.
package scan

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/apigate/apigate/internal/finding"
	"github.com/apigate/apigate/internal/httpx"
	"github.com/apigate/apigate/internal/target"
	"github.com/apigate/apigate/probes"
)

// ErrTargetDown is returned when the target stopped answering during the scan.
var ErrTargetDown = errors.New("target stopped answering during the scan")

// ErrNothingVerified is returned when no check reached a verdict (pass or fail) and at
// least one was inconclusive: the target answered, but too badly to prove anything.
var ErrNothingVerified = errors.New(
	"nothing could be verified: every check was inconclusive or not tested")

// ErrUnreachable is returned when the target answers nothing before probing starts.
var ErrUnreachable = errors.New("target unreachable")

// Options tunes a scan. The zero value runs every probe with a concurrency of 4.
type Options struct {
	// Probes to run; nil means probes.All().
	Probes []probes.Probe
	// Concurrency is how many probes run at once. Default 4.
	Concurrency int
	// Canary is the scan's unique marker; generated when empty.
	Canary string
	// Logger receives progress; nil discards it.
	Logger *slog.Logger
	// Version is written into the report.
	Version string
	// Tracker, when set, follows which checks are running, for timeout messages.
	Tracker *Tracker
	// Grace is how long probes may take to wind down once the context is done before the
	// scan stops waiting for them. Default 3s.
	Grace time.Duration
}

// Incomplete is the error of a scan that stopped before every check reached a verdict. It
// wraps the cause (context.Canceled, context.DeadlineExceeded, ErrTargetDown).
type Incomplete struct {
	Err error
	// Checks lists the checks left without a verdict (inconclusive), and those the budget
	// cut short after they proved findings, in checklist order.
	Checks []finding.Check
}

func (e *Incomplete) Error() string {
	if len(e.Checks) == 0 {
		return e.Err.Error()
	}
	names := make([]string, len(e.Checks))
	for i, c := range e.Checks {
		names[i] = string(c)
	}
	return fmt.Sprintf("%v; checks that did not complete: %s", e.Err, strings.Join(names, ", "))
}

func (e *Incomplete) Unwrap() error { return e.Err }

// Run probes t through c and returns the report. The error is non-nil when the scan itself
// failed (cancelled, deadline, target down); the report then still holds what was learnt,
// with every check that did not complete marked inconclusive, and the error is an
// *Incomplete naming them. Run returns within Options.Grace of ctx being done, even if a
// probe ignores its context.
func Run(ctx context.Context, t *target.Target, c *httpx.Client, opts Options) (*finding.Report, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	list := opts.Probes
	if list == nil {
		list = probes.All()
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 4
	}
	if opts.Canary == "" {
		opts.Canary = NewCanary()
	}
	if opts.Grace <= 0 {
		opts.Grace = 3 * time.Second
	}
	opts.Tracker.Enter(PhaseProbe)
	started := time.Now()
	rep := &finding.Report{Tool: "apigate", Version: opts.Version, Target: t.Base.String(), Started: started.UTC()}
	rep.Notes = append(rep.Notes, t.Limits...)
	rep.Findings = []finding.Finding{}

	if err := Reachable(ctx, t, c); err != nil {
		return unreached(ctx, rep, list, c.Redactor(), err)
	}

	done, begun := runAll(ctx, list, t, c, opts, started, log)
	scanErr := ctx.Err()
	if scanErr == nil && alive(ctx, t, c) != nil {
		scanErr = ErrTargetDown
	}
	if scanErr == nil {
		scanErr = budgetSpent(c)
	}
	if scanErr == nil {
		scanErr = unreliable(c)
	}

	var incomplete []finding.Check
	verified := 0
	for _, p := range list {
		v, requests, unfinished := verdict(p.Check(), done, begun, scanErr)
		if unfinished {
			incomplete = append(incomplete, p.Check())
		}
		if v.Status == finding.StatusPass || v.Status == finding.StatusFail {
			verified++
		}
		rep.Checks = append(rep.Checks, finding.CheckResult{
			Check: p.Check(), Status: v.Status, Reason: v.Reason, Requests: requests,
		})
		for _, f := range v.Findings {
			if f.Fingerprint == "" {
				f.Fingerprint = Fingerprint(f)
			}
			rep.Findings = append(rep.Findings, f)
		}
	}
	finding.Sort(rep.Findings)
	rep.Requests = int(c.Sent())
	rep.Duration = time.Since(started).Seconds()
	// Identities that logged in again mid-scan hold tokens the redactor has not seen yet.
	for _, sec := range t.AllSecrets() {
		c.Redactor().Add(sec, "IDENTITY_SECRET")
	}
	redactReport(rep, c.Redactor())
	if scanErr == nil && verified == 0 && len(incomplete) > 0 {
		// Every check was inconclusive or not tested: a green exit would claim a scan
		// that proved nothing.
		scanErr = ErrNothingVerified
	}
	if scanErr != nil {
		slices.SortFunc(incomplete, func(a, b finding.Check) int { return a.Number() - b.Number() })
		inc := &Incomplete{Err: scanErr, Checks: incomplete}
		fail(rep, inc)
		return rep, inc
	}
	return rep, nil
}

// unreached fills the report of a scan whose target never answered, or that was stopped
// before it could ask: every check did not run.
func unreached(ctx context.Context, rep *finding.Report, list []probes.Probe, red *httpx.Redactor,
	err error) (*finding.Report, error) {
	stopped := ctx.Err() != nil
	var names []finding.Check
	for _, p := range list {
		cr := finding.CheckResult{Check: p.Check(),
			Status: finding.StatusNotTested, Reason: "did not run: the target never answered"}
		if stopped {
			cr.Status, cr.Reason = finding.StatusInconclusive, "did not run: the scan stopped first"
			names = append(names, p.Check())
		}
		rep.Checks = append(rep.Checks, cr)
	}
	if stopped {
		inc := &Incomplete{Err: ctx.Err(), Checks: names}
		fail(rep, inc)
		return rep, inc
	}
	fail(rep, red.Redact(err.Error()))
	return rep, err
}

// runAll runs the concurrent probes, then the late ones one by one, and returns the
// outcomes of those that returned and the set of those that began. Once ctx is done it
// starts nothing more and waits at most opts.Grace for what is running.
func runAll(ctx context.Context, list []probes.Probe, t *target.Target, c *httpx.Client,
	opts Options, started time.Time, log *slog.Logger,
) (map[finding.Check]*outcome, map[finding.Check]bool) {
	var early, late []probes.Probe
	for _, p := range list {
		if _, ok := p.(probes.Late); ok {
			late = append(late, p)
		} else {
			early = append(early, p)
		}
	}
	slices.SortStableFunc(late, func(a, b probes.Probe) int {
		return a.(probes.Late).Late() - b.(probes.Late).Late()
	})

	results := make(map[finding.Check]*outcome)
	begun := make(map[finding.Check]bool)
	var mu sync.Mutex
	runOne := func(p probes.Probe) {
		mu.Lock()
		begun[p.Check()] = true
		mu.Unlock()
		opts.Tracker.started(p.Check())
		o := runProbe(ctx, p, t, c, started, opts.Canary, log)
		o.cut = ctx.Err() != nil
		opts.Tracker.finished(p.Check())
		mu.Lock()
		results[p.Check()] = o
		mu.Unlock()
	}

	sem := make(chan struct{}, opts.Concurrency)
	var wg sync.WaitGroup
launch:
	for _, p := range early {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			break launch
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			runOne(p)
		}()
	}
	finished := wait(ctx, &wg, opts.Grace)
	for _, p := range late {
		if !finished || ctx.Err() != nil {
			break
		}
		var one sync.WaitGroup
		one.Add(1)
		go func() {
			defer one.Done()
			runOne(p)
		}()
		finished = wait(ctx, &one, opts.Grace)
	}

	// Probes abandoned after the grace period may still write; hand back copies.
	mu.Lock()
	defer mu.Unlock()
	return maps.Clone(results), maps.Clone(begun)
}

// verdict is the final verdict of check, its request count, and whether the check did not
// complete. A check that never returned, or that the stop cut short, did not complete (a
// finding it proved before that still stands). When the scan failed, a pass from a check
// that finished is not claimed either, with a reason that says why; only a spent budget
// leaves such passes alone, because the checks it touched are corrected on their own.
func verdict(check finding.Check, done map[finding.Check]*outcome, begun map[finding.Check]bool,
	scanErr error) (probes.Verdict, int, bool) {
	o, ok := done[check]
	if !ok {
		o = &outcome{v: probes.Inconclusive("did not run: the scan stopped first")}
		if begun[check] {
			o.v.Reason = "did not complete: still running when the scan stopped"
		}
	}
	v := o.v
	switch {
	case scanErr == nil:
	case o.cut && v.Status == finding.StatusFail:
		v.Reason = fmt.Sprintf("did not complete: %s; the findings were proven before that: %s",
			cutShort(scanErr), v.Reason)
		return v, o.requests, true
	case o.cut:
		v = probes.Inconclusive("did not complete: " + cutShort(scanErr))
	case v.Status == finding.StatusPass && !errors.Is(scanErr, httpx.ErrBudget):
		v = probes.Inconclusive(fmt.Sprintf("passed, but %s, so this is not claimed",
			afterwards(scanErr)))
	}
	// A check the budget cut short did not complete even when it proved findings first.
	return v, o.requests, v.Status == finding.StatusInconclusive || o.unsent
}

// cutShort says what stopped a check that was still running.
func cutShort(scanErr error) string {
	switch {
	case errors.Is(scanErr, context.Canceled):
		return "the scan was interrupted while it ran"
	case errors.Is(scanErr, context.DeadlineExceeded):
		return "the scan passed its deadline while it ran"
	}
	return scanErr.Error()
}

// afterwards says what went wrong after a check had finished.
func afterwards(scanErr error) string {
	switch {
	case errors.Is(scanErr, context.Canceled):
		return "the scan was interrupted before it finished"
	case errors.Is(scanErr, context.DeadlineExceeded):
		return "the scan passed its deadline before it finished"
	case errors.Is(scanErr, ErrTargetDown):
		return "the target stopped answering later in the scan"
	}
	return "the scan failed (" + scanErr.Error() + ")"
}

// fail marks rep as the report of a failed scan: a note at the head of its notes, for
// readers, and its Error, for machines (JSON "complete": false, SARIF
// executionSuccessful: false).
func fail(rep *finding.Report, why any) {
	note := failureNote(why)
	rep.Notes = append([]string{note}, rep.Notes...)
	rep.Error = strings.TrimPrefix(note, failurePrefix)
}

// failureNote heads the report's notes when the scan failed, so that a report read on its
// own (a file, a PR comment) never looks like a clean result.
func failureNote(why any) string {
	msg := fmt.Sprint(why)
	if inc, ok := why.(*Incomplete); ok {
		switch {
		case errors.Is(inc.Err, context.Canceled):
			msg = strings.Replace(msg, inc.Err.Error(), "the scan was interrupted", 1)
		case errors.Is(inc.Err, context.DeadlineExceeded):
			msg = strings.Replace(msg, inc.Err.Error(), "the scan passed its deadline", 1)
		}
	}
	return failurePrefix + msg
}

const failurePrefix = "SCAN FAILED, this result is not a clean bill of health: "

// wait waits for wg, or for ctx to be done and then at most grace more. It reports whether
// everything finished.
func wait(ctx context.Context, wg *sync.WaitGroup, grace time.Duration) bool {
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return true
	case <-ctx.Done():
	}
	timer := time.NewTimer(grace)
	defer timer.Stop()
	select {
	case <-done:
		return true
	case <-timer.C:
		return false
	}
}

type outcome struct {
	v        probes.Verdict
	requests int
	// cut is set when the scan's context was already done as the probe returned.
	cut bool
	// unsent is set when some of the check's requests were not sent (refused by the budget,
	// or blocked): its verdict, even a failure, says "(incomplete: ...)".
	unsent bool
}

// runProbe runs one probe with its own client scope, turning a panic into an inconclusive
// verdict and correcting a pass that rests on throttled or failed requests.
func runProbe(ctx context.Context, p probes.Probe, t *target.Target, c *httpx.Client,
	started time.Time, canary string, log *slog.Logger) (o *outcome) {
	check := p.Check()
	sc := c.Scope(string(check))
	o = &outcome{}
	begin := time.Now()
	defer func() {
		if r := recover(); r != nil {
			log.Error("probe crashed", "check", check, "panic", r, "stack", string(debug.Stack()))
			o.v = probes.Inconclusive(fmt.Sprintf("the probe crashed: %v", r))
		}
		o.requests = int(sc.Stats().Requests.Load())
		log.Info("probe finished", "check", check, "status", o.v.Status,
			"findings", len(o.v.Findings), "requests", o.requests,
			"seconds", fmt.Sprintf("%.2f", time.Since(begin).Seconds()))
	}()

	log.Debug("probe starting", "check", check)
	s := &probes.Session{Target: t, Client: sc, Started: started, Canary: canary}
	o.v = unsent(correct(check, p.Run(ctx, s), sc.Stats(), log), sc.Stats(), sc)
	o.unsent = sc.Stats().Refused.Load() > 0 || sc.Stats().Blocked.Load() > 0
	return o
}

// correct normalises a verdict against what the probe's requests met: a pass resting on
// throttled or failed requests is inconclusive, and a finding whose only evidence is a 429
// proves nothing about the control the check tests.
func correct(check finding.Check, v probes.Verdict, st *httpx.Stats, log *slog.Logger) probes.Verdict {
	if v.Status == "" {
		v.Status = finding.StatusInconclusive
	}
	// Logging findings rest on the service's logs, not on the status of the request that
	// provoked them: a 429 login whose password was logged is still a leak.
	if check != finding.CheckRateLimit && check != finding.CheckLogging && len(v.Findings) > 0 {
		kept := v.Findings[:0:0]
		for _, f := range v.Findings {
			if f.Evidence.Status == http.StatusTooManyRequests {
				log.Info("finding dropped: its evidence is a throttled response",
					"check", check, "rule", f.Rule)
				continue
			}
			kept = append(kept, f)
		}
		if len(kept) == 0 {
			return probes.Inconclusive(
				"the target throttled this check's requests (429), so its findings rest on rate-limit answers")
		}
		v.Findings = kept
	}
	if len(v.Findings) > 0 {
		v.Status = finding.StatusFail
	}
	if v.Status == finding.StatusPass && check != finding.CheckRateLimit {
		if n := st.Throttled.Load(); n > 0 {
			return probes.Inconclusive(fmt.Sprintf(
				"the target throttled %d of this check's requests (429), so a pass cannot be claimed", n))
		}
		if n := st.Errors.Load(); n > 0 {
			return probes.Inconclusive(fmt.Sprintf(
				"%d of this check's requests failed at the transport level (reset, timeout or cut body)", n))
		}
	}
	return v
}

// Reachable returns nil when the target answers anything at all over HTTP, else an
// ErrUnreachable error with the last transport error. The pipeline asks it before
// discovery, so a dead or hung target fails fast instead of timing out on every
// well-known document path.
func Reachable(ctx context.Context, t *target.Target, c *httpx.Client) error {
	if err := alive(ctx, t, c); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("%w: no HTTP answer from %s: %w", ErrUnreachable, t.Base, err)
	}
	return nil
}

// alive returns nil when the target still answers anything at all over HTTP, else the last
// transport error.
func alive(ctx context.Context, t *target.Target, c *httpx.Client) error {
	sc := c.Scope("liveness")
	if c.Remaining() == 0 {
		return nil // unknown, and not the target's fault; a refusal here would blame the budget
	}
	var last error
	for i := range 2 {
		if i > 0 {
			select {
			case <-time.After(200 * time.Millisecond):
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		ex, err := sc.Do(ctx, httpx.Request{Method: "GET", URL: t.URL("/")})
		if ex.Status != 0 || errors.Is(err, httpx.ErrBudget) {
			return nil // an answer; or unknown, and not the target's fault
		}
		last = err
	}
	return last
}

// Fingerprint identifies a finding across runs by what does not change between them: the
// rule, the method and the path template, plus the finding's Key when a rule can find several
// things on one operation. Without a Key the hash is the one earlier versions computed, so
// baselines keep matching.
func Fingerprint(f finding.Finding) string {
	s := f.Rule + "\x00" + f.Method + "\x00" + f.Path
	if f.Key != "" {
		s += "\x00" + f.Key
	}
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:8])
}
