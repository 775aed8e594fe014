package scan_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/apigate/apigate/internal/finding"
	"github.com/apigate/apigate/internal/hostile"
	"github.com/apigate/apigate/internal/httpx"
	"github.com/apigate/apigate/internal/scan"
	"github.com/apigate/apigate/probes"
)

// TestSpentBudgetFailsTheScan: checks whose requests the budget refused cannot pass, the
// report says the budget ran out, refusals are not counted as requests, and the scan
// fails. A check that ran whole before the budget ran out keeps its pass.
func TestSpentBudgetFailsTheScan(t *testing.T) {
	srv := hostile.Start(t, hostile.Plain())
	tg, c := newBudgetTarget(t, srv, 10)
	rep, err := scan.Run(context.Background(), tg, c, scan.Options{Concurrency: 1,
		Probes: []probes.Probe{
			naive{check: finding.CheckAuthentication, path: "/a", n: 2},
			naive{check: finding.CheckCORS, path: "/b", n: 30},
			reporter{check: finding.CheckSafeErrors, path: "/c"},
		}})
	if !errors.Is(err, httpx.ErrBudget) {
		t.Fatalf("err = %v, want the spent budget", err)
	}
	const why = "request budget (--max-requests 10) exhausted after 10 requests"
	got := statuses(rep)
	for _, ch := range []finding.Check{finding.CheckCORS, finding.CheckSafeErrors} {
		if cr := got[ch]; cr.Status != finding.StatusInconclusive || cr.Reason != why {
			t.Errorf("%s: %s (%s), want inconclusive: %s", ch, cr.Status, cr.Reason, why)
		}
	}
	if cr := got[finding.CheckAuthentication]; cr.Status != finding.StatusPass {
		t.Errorf("authentication ran whole before the budget ran out: %+v", cr)
	}
	if rep.Requests != 10 || srv.Requests() != 10 {
		t.Errorf("report counts %d requests, target saw %d; want 10 (refusals are not requests)",
			rep.Requests, srv.Requests())
	}
	if len(rep.Notes) == 0 || !strings.HasPrefix(rep.Notes[0], "SCAN FAILED") ||
		!strings.Contains(rep.Notes[0], why) {
		t.Errorf("notes = %q, want a failure note naming the budget", rep.Notes)
	}
	if rep.Complete() || !strings.Contains(rep.Error, why) {
		t.Errorf("report error = %q, want the budget", rep.Error)
	}
}

// TestMostRequestsFailingFailsTheScan: a target that answers / but hangs on its API gives
// a failed scan, not a green one resting on the few checks that got an answer; a target
// that merely rejects requests (4xx) is a normal scan.
func TestMostRequestsFailingFailsTheScan(t *testing.T) {
	mux := http.NewServeMux()
	srv := hostile.Start(t, mux)
	mux.Handle("/", hostile.Plain())
	mux.Handle("/api/", hostile.Hang(srv))
	tg, c := newTarget(t, srv, 150*time.Millisecond)
	rep, err := scan.Run(context.Background(), tg, c, scan.Options{Probes: []probes.Probe{
		naive{check: finding.CheckCORS, path: "/api/a", n: 6},
		naive{check: finding.CheckSafeErrors, path: "/api/b", n: 6},
		reporter{check: finding.CheckSecurityHeaders, path: "/"},
	}})
	if !errors.Is(err, scan.ErrUnreliable) {
		t.Fatalf("err = %v, want ErrUnreliable", err)
	}
	if !strings.Contains(err.Error(), "the target failed 12 of 15 requests (timeouts/resets)") {
		t.Errorf("err = %v, want the counts", err)
	}
	if !strings.Contains(rep.Notes[0], "verdicts are unreliable") {
		t.Errorf("notes = %q", rep.Notes)
	}
	// The finding was proven on an answer; it stands.
	if got := statuses(rep)[finding.CheckSecurityHeaders]; got.Status != finding.StatusFail {
		t.Errorf("security-headers: %+v, want its proven finding kept", got)
	}

	rejecting := hostile.Start(t, hostile.Body(http.StatusNotFound, "text/plain", []byte("no")))
	tg, c = newTarget(t, rejecting, time.Second)
	_, err = scan.Run(context.Background(), tg, c, scan.Options{Probes: []probes.Probe{
		naive{check: finding.CheckCORS, path: "/api/a", n: 12},
	}})
	if err != nil {
		t.Errorf("a target answering 404 everywhere failed the scan: %v", err)
	}
}

// TestTargetDownReasonsAreTrue: a check that passed before the target died is not
// claimed, and its reason says exactly that; a check that met the dead target says so.
func TestTargetDownReasonsAreTrue(t *testing.T) {
	mux := http.NewServeMux()
	srv := hostile.Start(t, mux)
	mux.Handle("/", srv.KillAfter(6, hostile.Plain()))
	tg, c := newTarget(t, srv, time.Second)
	rep, err := scan.Run(context.Background(), tg, c, scan.Options{Concurrency: 1,
		Probes: []probes.Probe{
			naive{check: finding.CheckAuthentication, path: "/a", n: 2},
			naive{check: finding.CheckCORS, path: "/b", n: 12},
		}})
	if !errors.Is(err, scan.ErrTargetDown) {
		t.Fatalf("err = %v, want ErrTargetDown", err)
	}
	got := statuses(rep)
	if cr := got[finding.CheckAuthentication]; cr.Status != finding.StatusInconclusive ||
		cr.Reason != "passed, but the target stopped answering later in the scan, so this is not claimed" {
		t.Errorf("authentication: %+v", cr)
	}
	if cr := got[finding.CheckCORS]; cr.Status != finding.StatusInconclusive ||
		!strings.Contains(cr.Reason, "failed at the transport level") {
		t.Errorf("cors: %+v", cr)
	}
}

// slowFinder proves a finding at once, then works until the scan is stopped and returns
// its verdict late, as the logging check does while it waits for log lines.
type slowFinder struct{ reporter }

func (p slowFinder) Run(ctx context.Context, s *probes.Session) probes.Verdict {
	v := p.reporter.Run(ctx, s)
	<-ctx.Done()
	return v
}

// TestInterruptedCheckWithFindingsSaysItDidNotComplete: the report agrees with the
// interrupt message ("check X still running"): a check cut short keeps the findings it
// proved but says it did not complete, and is named among the incomplete checks.
func TestInterruptedCheckWithFindingsSaysItDidNotComplete(t *testing.T) {
	srv := hostile.Start(t, hostile.Plain())
	tg, c := newTarget(t, srv, time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	rep, err := scan.Run(ctx, tg, c, scan.Options{Probes: []probes.Probe{
		slowFinder{reporter{check: finding.CheckLogging, path: "/"}},
	}})
	var inc *scan.Incomplete
	if !errors.As(err, &inc) || len(inc.Checks) != 1 || inc.Checks[0] != finding.CheckLogging {
		t.Fatalf("err = %v, want logging named as not completed", err)
	}
	cr := statuses(rep)[finding.CheckLogging]
	if cr.Status != finding.StatusFail || len(rep.Findings) != 1 ||
		!strings.HasPrefix(cr.Reason, "did not complete: the scan passed its deadline while it ran") {
		t.Errorf("logging: %+v with %d findings", cr, len(rep.Findings))
	}
}

// stray aims a request at a host outside the allow-list (a probe bug) and passes anyway.
type stray struct{ check finding.Check }

func (p stray) Check() finding.Check { return p.check }
func (p stray) Rules() []probes.Rule { return nil }
func (p stray) Run(ctx context.Context, s *probes.Session) probes.Verdict {
	// .invalid never resolves, and the client refuses it before any lookup.
	_, _ = s.Client.Do(ctx, httpx.Request{Method: "GET", URL: "http://elsewhere.invalid/x"})
	return probes.Pass("no route answered anything bad")
}

// TestRequestToDisallowedHostIsNoPass: a check whose request the allow-list refused did
// not test what it claims, so its pass becomes inconclusive, naming the cause.
func TestRequestToDisallowedHostIsNoPass(t *testing.T) {
	srv := hostile.Start(t, hostile.Plain())
	tg, c := newTarget(t, srv, time.Second)
	rep, err := scan.Run(context.Background(), tg, c, scan.Options{Probes: []probes.Probe{
		stray{check: finding.CheckCORS},
		naive{check: finding.CheckAuthentication, path: "/", n: 1},
	}})
	if err != nil {
		t.Fatalf("scan: %v", err)
	}
	got := statuses(rep)
	if cr := got[finding.CheckCORS]; cr.Status != finding.StatusInconclusive ||
		!strings.Contains(cr.Reason, "outside the allow-list") {
		t.Errorf("cors: %+v, want inconclusive naming the allow-list", cr)
	}
	if got[finding.CheckAuthentication].Status != finding.StatusPass {
		t.Errorf("authentication: %+v", got[finding.CheckAuthentication])
	}
}

// TestBudgetSpentExactlyIsComplete: probes that used the whole budget without a refusal
// completed; the closing liveness check must not be refused and blame the budget.
func TestBudgetSpentExactlyIsComplete(t *testing.T) {
	srv := hostile.Start(t, hostile.Plain())
	tg, c := newBudgetTarget(t, srv, 6)
	rep, err := scan.Run(context.Background(), tg, c, scan.Options{
		Probes: []probes.Probe{naive{check: finding.CheckCORS, path: "/b", n: 5}}})
	if err != nil || !rep.Complete() {
		t.Fatalf("err = %v, report error %q; want a complete scan", err, rep.Error)
	}
	if got := statuses(rep)[finding.CheckCORS]; got.Status != finding.StatusPass {
		t.Errorf("cors: %+v", got)
	}
}
