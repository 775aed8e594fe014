package scan_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/apigate/apigate/internal/finding"
	"github.com/apigate/apigate/internal/hostile"
	"github.com/apigate/apigate/internal/httpx"
	"github.com/apigate/apigate/internal/scan"
	"github.com/apigate/apigate/probes"
)

// greedy proves a finding with its first request, then asks for more than the budget
// allows and fails with the finding.
type greedy struct{ reporter }

func (p greedy) Run(ctx context.Context, s *probes.Session) probes.Verdict {
	v := p.reporter.Run(ctx, s)
	for range 5 {
		_, _ = s.Send(ctx, s.Identity(0), "GET", p.path, nil, nil)
	}
	return v
}

// TestBudgetCutFailureIsIncomplete: a check that proved a finding and then met the spent
// budget says "(incomplete: ...)" in its reason, and the scan's error names it among the
// checks that did not complete; a check that ran whole is not named.
func TestBudgetCutFailureIsIncomplete(t *testing.T) {
	srv := hostile.Start(t, hostile.Plain())
	tg, c := newBudgetTarget(t, srv, 4)
	rep, err := scan.Run(context.Background(), tg, c, scan.Options{Concurrency: 1,
		Probes: []probes.Probe{
			naive{check: finding.CheckAuthentication, path: "/a", n: 2},
			greedy{reporter{check: finding.CheckCORS, path: "/b"}},
		}})
	var inc *scan.Incomplete
	if !errors.As(err, &inc) || !errors.Is(err, httpx.ErrBudget) {
		t.Fatalf("err = %v, want an incomplete scan for the budget", err)
	}
	cr := statuses(rep)[finding.CheckCORS]
	if cr.Status != finding.StatusFail || !strings.Contains(cr.Reason, "(incomplete: ") {
		t.Errorf("cors: %s (%s), want a failure marked incomplete", cr.Status, cr.Reason)
	}
	if !slices.Contains(inc.Checks, finding.CheckCORS) {
		t.Errorf("incomplete checks %v leave out cors, cut short by the budget", inc.Checks)
	}
	if slices.Contains(inc.Checks, finding.CheckAuthentication) {
		t.Errorf("incomplete checks %v name authentication, which ran whole", inc.Checks)
	}
	if !strings.Contains(err.Error(), "checks that did not complete: cors") {
		t.Errorf("error %q does not name cors", err)
	}
}
