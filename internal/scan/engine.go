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
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"github.com/apigate/apigate/internal/finding"
	"github.com/apigate/apigate/internal/httpx"
	"github.com/apigate/apigate/internal/target"
	"github.com/apigate/apigate/probes"
)

// ErrTargetDown is returned when the target stopped answering during the scan.
var ErrTargetDown = errors.New("target stopped answering during the scan")

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
}

// Run probes t through c and returns the report. The error is non-nil when the scan itself
// failed (cancelled, deadline, target down); the report then still holds what was learnt,
// with every check that did not complete marked inconclusive.
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
	started := time.Now()
	rep := &finding.Report{Tool: "apigate", Version: opts.Version, Target: t.Base.String(), Started: started.UTC()}
	rep.Notes = append(rep.Notes, t.Limits...)

	if !alive(ctx, t, c) {
		return rep, fmt.Errorf("%w: no HTTP answer from %s", ErrUnreachable, t.Base)
	}

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
	var mu sync.Mutex
	runOne := func(p probes.Probe) {
		o := runProbe(ctx, p, t, c, started, opts.Canary, log)
		mu.Lock()
		results[p.Check()] = o
		mu.Unlock()
	}

	sem := make(chan struct{}, opts.Concurrency)
	var wg sync.WaitGroup
	for _, p := range early {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			runOne(p)
		}()
	}
	wg.Wait()
	for _, p := range late {
		if ctx.Err() != nil {
			break
		}
		runOne(p)
	}

	scanErr := ctx.Err()
	if scanErr == nil && !alive(ctx, t, c) {
		scanErr = ErrTargetDown
	}

	for _, p := range list {
		o, ok := results[p.Check()]
		if !ok {
			o = &outcome{v: probes.Inconclusive("did not run: the scan stopped first")}
		}
		v := o.v
		if scanErr != nil && v.Status == finding.StatusPass {
			v.Status, v.Reason = finding.StatusInconclusive,
				fmt.Sprintf("did not complete: %v", scanErr)
		}
		rep.Checks = append(rep.Checks, finding.CheckResult{
			Check: p.Check(), Status: v.Status, Reason: v.Reason, Requests: o.requests,
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
	if rep.Findings == nil {
		rep.Findings = []finding.Finding{}
	}
	return rep, scanErr
}

type outcome struct {
	v        probes.Verdict
	requests int
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
	o.v = p.Run(ctx, s)
	if o.v.Status == "" {
		o.v.Status = finding.StatusInconclusive
	}
	if len(o.v.Findings) > 0 {
		o.v.Status = finding.StatusFail
	}
	st := sc.Stats()
	if o.v.Status == finding.StatusPass && check != finding.CheckRateLimit {
		if n := st.Throttled.Load(); n > 0 {
			o.v = probes.Inconclusive(fmt.Sprintf(
				"the target throttled %d of this check's requests (429), so a pass cannot be claimed", n))
		} else if n := st.Errors.Load(); n > 0 {
			o.v = probes.Inconclusive(fmt.Sprintf(
				"%d of this check's requests failed at the transport level (reset, timeout or cut body)", n))
		}
	}
	return o
}

// alive tells whether the target still answers anything at all over HTTP.
func alive(ctx context.Context, t *target.Target, c *httpx.Client) bool {
	sc := c.Scope("liveness")
	for range 2 {
		ex, _ := sc.Do(ctx, httpx.Request{Method: "GET", URL: t.URL("/")})
		if ex.Status != 0 {
			return true
		}
		if errors.Is(ex.Err, httpx.ErrBudget) {
			return true // unknown, and not the target's fault
		}
		time.Sleep(200 * time.Millisecond)
	}
	return false
}

// Fingerprint identifies a finding across runs by what does not change between them: the
// rule, the method and the path template.
func Fingerprint(f finding.Finding) string {
	h := sha256.Sum256([]byte(f.Rule + "\x00" + f.Method + "\x00" + f.Path))
	return hex.EncodeToString(h[:8])
}
