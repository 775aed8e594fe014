package scan_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apigate/apigate/internal/finding"
	"github.com/apigate/apigate/internal/hostile"
	"github.com/apigate/apigate/internal/httpx"
	"github.com/apigate/apigate/internal/scan"
	"github.com/apigate/apigate/internal/target"
	"github.com/apigate/apigate/probes"
)

// naive is the probe a careless author writes: it sends n GETs to path, ignores every
// error and status, and passes. The engine must never let such a pass through when the
// requests behind it failed or were throttled.
type naive struct {
	check finding.Check
	path  string
	n     int
	late  int
}

func (p naive) Check() finding.Check { return p.check }
func (p naive) Rules() []probes.Rule { return nil }
func (p naive) Run(ctx context.Context, s *probes.Session) probes.Verdict {
	for range p.n {
		_, _ = s.Send(ctx, s.Identity(0), "GET", p.path, nil, nil)
	}
	return probes.Pass(fmt.Sprintf("sent %d requests, all fine", p.n))
}

// lateNaive is naive run after the concurrent probes, as the rate-limit probe is.
type lateNaive struct{ naive }

func (p lateNaive) Late() int { return p.late }

// stuck ignores its context and never returns until the test ends.
type stuck struct {
	check   finding.Check
	release chan struct{}
}

func (p stuck) Check() finding.Check { return p.check }
func (p stuck) Rules() []probes.Rule { return nil }
func (p stuck) Run(context.Context, *probes.Session) probes.Verdict {
	<-p.release
	return probes.Pass("finished at last")
}

// reporter fails with a finding built from whatever the target answered.
type reporter struct {
	check finding.Check
	path  string
}

func (p reporter) Check() finding.Check { return p.check }
func (p reporter) Rules() []probes.Rule { return nil }
func (p reporter) Run(ctx context.Context, s *probes.Session) probes.Verdict {
	ex, err := s.Send(ctx, s.Identity(0), "GET", p.path, nil, nil)
	if err != nil {
		return probes.Inconclusive(err.Error())
	}
	rule := probes.Rule{ID: string(p.check) + "-flaw", Check: p.check, Severity: finding.SeverityHigh}
	return probes.Fail("the target answered "+string(ex.Body),
		s.NewFinding(rule, nil, ex, finding.ConfidenceHigh, "", string(ex.Body), ""))
}

type panicker struct{ check finding.Check }

func (p panicker) Check() finding.Check { return p.check }
func (p panicker) Rules() []probes.Rule { return nil }
func (p panicker) Run(context.Context, *probes.Session) probes.Verdict {
	var m map[string]int
	m["boom"]++
	return probes.Pass("unreachable")
}

func newTarget(t *testing.T, srv *hostile.Server, reqTimeout time.Duration) (*target.Target, *httpx.Client) {
	t.Helper()
	return newTargetWith(t, srv, httpx.Config{Timeout: reqTimeout})
}

// newBudgetTarget is newTarget with a request budget of n and a 1s request timeout.
func newBudgetTarget(t *testing.T, srv *hostile.Server, n int64) (*target.Target, *httpx.Client) {
	t.Helper()
	return newTargetWith(t, srv, httpx.Config{Timeout: time.Second, Budget: n})
}

// newTargetWith aims a client configured by cfg, allowed only srv's host, at srv.
func newTargetWith(t *testing.T, srv *hostile.Server, cfg httpx.Config) (*target.Target, *httpx.Client) {
	t.Helper()
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	cfg.AllowedHosts = []string{u.Host}
	c, err := httpx.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &target.Target{Base: u}, c
}

func statuses(rep *finding.Report) map[finding.Check]finding.CheckResult {
	m := map[finding.Check]finding.CheckResult{}
	for _, cr := range rep.Checks {
		m[cr.Check] = cr
	}
	return m
}

func TestTargetDiesMidScan(t *testing.T) {
	mux := http.NewServeMux()
	srv := hostile.Start(t, mux)
	mux.Handle("/", srv.KillAfter(25, hostile.Plain()))
	tg, c := newTarget(t, srv, 2*time.Second)
	list := []probes.Probe{
		naive{check: finding.CheckAuthentication, path: "/a", n: 5}, // may finish before the kill
		naive{check: finding.CheckCORS, path: "/b", n: 40},
		naive{check: finding.CheckSafeErrors, path: "/c", n: 40},
		lateNaive{naive{check: finding.CheckRateLimit, path: "/d", n: 40, late: 1}},
	}
	start := time.Now()
	rep, err := scan.Run(context.Background(), tg, c, scan.Options{Probes: list, Concurrency: 3})
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("scan of a dead target took %s", took)
	}
	if !errors.Is(err, scan.ErrTargetDown) {
		t.Fatalf("err = %v, want ErrTargetDown", err)
	}
	var inc *scan.Incomplete
	if !errors.As(err, &inc) || len(inc.Checks) != len(list) {
		t.Fatalf("err = %v, want every check named as not completed", err)
	}
	for _, cr := range rep.Checks {
		if cr.Status != finding.StatusInconclusive {
			t.Errorf("%s: %s (%s), want inconclusive on a target that died", cr.Check, cr.Status, cr.Reason)
		}
	}
	if !strings.Contains(err.Error(), "checks that did not complete: authentication, rate-limit, "+
		"safe-errors, cors") {
		t.Errorf("error does not list the checks in checklist order: %v", err)
	}
}

func TestRateLimitedTargetGivesNoPassAndNoFinding(t *testing.T) {
	srv := hostile.Start(t, hostile.RateLimitAfter(10, hostile.Plain()))
	tg, c := newTarget(t, srv, 2*time.Second)
	list := []probes.Probe{
		naive{check: finding.CheckAuthentication, path: "/a", n: 10},
		naive{check: finding.CheckCORS, path: "/b", n: 10},
		reporter{check: finding.CheckSafeErrors, path: "/c"},
		lateNaive{naive{check: finding.CheckRateLimit, path: "/d", n: 10, late: 1}},
	}
	rep, err := scan.Run(context.Background(), tg, c, scan.Options{Probes: list, Concurrency: 1})
	if err != nil {
		t.Fatalf("scan: %v", err)
	}
	got := statuses(rep)
	for _, ch := range []finding.Check{finding.CheckAuthentication, finding.CheckCORS, finding.CheckSafeErrors} {
		if got[ch].Status != finding.StatusInconclusive || !strings.Contains(got[ch].Reason, "429") {
			t.Errorf("%s: %s (%s), want inconclusive because of 429s", ch, got[ch].Status, got[ch].Reason)
		}
	}
	if len(rep.Findings) != 0 {
		t.Errorf("findings resting on 429 answers were reported: %+v", rep.Findings)
	}
	// Being throttled is exactly what the rate-limit check wants to see.
	if got[finding.CheckRateLimit].Status != finding.StatusPass {
		t.Errorf("rate-limit: %+v, want its own pass kept", got[finding.CheckRateLimit])
	}
}

func TestDeadlineWithAStuckProbe(t *testing.T) {
	srv := hostile.Start(t, hostile.Plain())
	tg, c := newTarget(t, srv, 2*time.Second)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	list := []probes.Probe{
		naive{check: finding.CheckAuthentication, path: "/a", n: 2},
		stuck{check: finding.CheckCORS, release: release},
		naive{check: finding.CheckSafeErrors, path: "/c", n: 2},
		lateNaive{naive{check: finding.CheckRateLimit, path: "/d", n: 2, late: 1}},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 700*time.Millisecond)
	defer cancel()
	tr := &scan.Tracker{}
	tr.Watch(ctx)
	start := time.Now()
	rep, err := scan.Run(ctx, tg, c, scan.Options{Probes: list, Grace: 300 * time.Millisecond, Tracker: tr})
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("Run returned %s after start; deadline 0.7s + grace 0.3s", took)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the deadline", err)
	}
	got := statuses(rep)
	if cr := got[finding.CheckCORS]; cr.Status != finding.StatusInconclusive ||
		!strings.Contains(cr.Reason, "still running") {
		t.Errorf("stuck check: %+v, want inconclusive, still running", cr)
	}
	if cr := got[finding.CheckRateLimit]; cr.Status != finding.StatusInconclusive ||
		!strings.Contains(cr.Reason, "did not run") {
		t.Errorf("late check after the deadline: %+v, want did not run", cr)
	}
	// Checks that finished before the deadline passed, but the scan as a whole did not
	// complete, so no pass is claimed anywhere.
	for _, cr := range rep.Checks {
		if cr.Status == finding.StatusPass {
			t.Errorf("%s passes in a scan stopped by its deadline", cr.Check)
		}
	}
	if w := tr.StoppedAt(); w != "during probing (check cors still running)" {
		t.Errorf("StoppedAt = %q", w)
	}
}

func TestCrashingProbeIsInconclusive(t *testing.T) {
	srv := hostile.Start(t, hostile.Plain())
	tg, c := newTarget(t, srv, 2*time.Second)
	rep, err := scan.Run(context.Background(), tg, c, scan.Options{Probes: []probes.Probe{
		panicker{check: finding.CheckCORS},
		naive{check: finding.CheckAuthentication, path: "/", n: 1},
	}})
	if err != nil {
		t.Fatalf("scan: %v", err)
	}
	got := statuses(rep)
	if cr := got[finding.CheckCORS]; cr.Status != finding.StatusInconclusive || !strings.Contains(cr.Reason, "crashed") {
		t.Errorf("crashing probe: %+v", cr)
	}
	if got[finding.CheckAuthentication].Status != finding.StatusPass {
		t.Errorf("a crash in one probe changed another: %+v", got[finding.CheckAuthentication])
	}
}

// TestTransportFaultsTurnPassesInconclusive aims a naive probe at each transport-level
// fault on one path while the rest of the API behaves.
func TestTransportFaultsTurnPassesInconclusive(t *testing.T) {
	faults := map[string]func(*hostile.Server) http.Handler{
		"hang":     hostile.Hang,
		"trickle":  func(*hostile.Server) http.Handler { return hostile.Trickle(200 * time.Millisecond) },
		"reset":    func(*hostile.Server) http.Handler { return hostile.Reset() },
		"cut body": func(*hostile.Server) http.Handler { return hostile.CutBody(5000, 100) },
		"headers":  func(*hostile.Server) http.Handler { return hostile.HugeHeaders(400 << 10) },
	}
	for name, fault := range faults {
		t.Run(name, func(t *testing.T) {
			mux := http.NewServeMux()
			srv := hostile.Start(t, mux)
			mux.Handle("/", hostile.Plain())
			mux.Handle("/api/", fault(srv))
			tg, c := newTarget(t, srv, 500*time.Millisecond)
			var wg sync.WaitGroup
			wg.Add(1)
			var rep *finding.Report
			var err error
			start := time.Now()
			go func() {
				defer wg.Done()
				rep, err = scan.Run(context.Background(), tg, c, scan.Options{Probes: []probes.Probe{
					naive{check: finding.CheckInputValidation, path: "/api/items", n: 3},
					naive{check: finding.CheckCORS, path: "/fine", n: 3},
				}})
			}()
			wg.Wait()
			if took := time.Since(start); took > 8*time.Second {
				t.Errorf("took %s", took)
			}
			if err != nil {
				t.Fatalf("scan: %v", err)
			}
			got := statuses(rep)
			if cr := got[finding.CheckInputValidation]; cr.Status != finding.StatusInconclusive ||
				!strings.Contains(cr.Reason, "transport") {
				t.Errorf("faulty path: %+v, want inconclusive (transport)", cr)
			}
			if got[finding.CheckCORS].Status != finding.StatusPass {
				t.Errorf("healthy path: %+v, want pass", got[finding.CheckCORS])
			}
		})
	}
}

func TestUnreachableTargetRunsNothing(t *testing.T) {
	srv := hostile.Start(t, hostile.Reset())
	tg, c := newTarget(t, srv, time.Second)
	rep, err := scan.Run(context.Background(), tg, c, scan.Options{Probes: []probes.Probe{
		naive{check: finding.CheckCORS, path: "/", n: 1},
	}})
	if !errors.Is(err, scan.ErrUnreachable) {
		t.Fatalf("err = %v, want ErrUnreachable", err)
	}
	if len(rep.Checks) != 1 || rep.Checks[0].Status != finding.StatusNotTested {
		t.Errorf("checks = %+v, want one not-tested", rep.Checks)
	}
	if srv.Requests() != 2 {
		t.Errorf("target saw %d requests, want only the 2 liveness tries", srv.Requests())
	}
}

// TestNothingVerifiedIsAnError: a target that answers, but so badly that no check reaches
// a verdict, fails the scan instead of letting it exit green.
func TestNothingVerifiedIsAnError(t *testing.T) {
	mux := http.NewServeMux()
	srv := hostile.Start(t, mux)
	mux.Handle("/", hostile.Plain())
	mux.Handle("/api/", hostile.CutBody(5000, 100))
	tg, c := newTarget(t, srv, time.Second)
	rep, err := scan.Run(context.Background(), tg, c, scan.Options{Probes: []probes.Probe{
		naive{check: finding.CheckCORS, path: "/api/a", n: 2},
		naive{check: finding.CheckSafeErrors, path: "/api/b", n: 2},
	}})
	if !errors.Is(err, scan.ErrNothingVerified) {
		t.Fatalf("err = %v, want ErrNothingVerified", err)
	}
	if !strings.Contains(err.Error(), "checks that did not complete: safe-errors, cors") {
		t.Errorf("error does not name the checks: %v", err)
	}
	for _, cr := range rep.Checks {
		if cr.Status != finding.StatusInconclusive {
			t.Errorf("%s: %s", cr.Check, cr.Status)
		}
	}
}
