package probes

import (
	"context"
	"fmt"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/apigate/apigate/internal/httpx"
	"github.com/apigate/apigate/internal/target"
)

var sentCount = regexp.MustCompile(`sent (\d+) `)

// TestReasonsCountWhatWasSent: under a budget smaller than a check's plan, its reason
// counts the requests that went out, never more than the client sent, and says the
// budget stopped it; the refused baselines are not called failures.
func TestReasonsCountWhatWasSent(t *testing.T) {
	srv := httptest.NewServer(&itemsAPI{items: map[string]map[string]any{}})
	t.Cleanup(srv.Close)
	for _, tc := range []struct {
		name   string
		probe  Probe
		budget int64
		burn   int // requests spent before the probe runs
	}{
		{"safe-errors", NewSafeErrors(), 5, 0},
		{"input-validation", NewInputValidation(), 4, 0},
		{"input-validation, baseline refused", NewInputValidation(), 1, 1},
		{"cors", NewCORS(), 3, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := budgetSession(t, srv.URL, tc.budget, &target.Target{Operations: itemOps()})
			for range tc.burn {
				_, _ = s.Client.Do(context.Background(), httpx.Request{Method: "GET",
					URL: s.Target.URL("/")})
			}
			v := tc.probe.Run(context.Background(), s)
			sent := s.Client.Stats().Requests.Load()
			if s.Client.Stats().Refused.Load() == 0 {
				t.Fatalf("the budget of %d refused nothing; the test proves nothing", tc.budget)
			}
			if strings.Contains(v.Reason, "baseline failed") {
				t.Errorf("a refused baseline is called a failure: %s", v.Reason)
			}
			m := sentCount.FindStringSubmatch(v.Reason)
			if m == nil {
				if !strings.Contains(v.Reason, "request budget") {
					t.Errorf("reason neither counts nor names the budget: %s", v.Reason)
				}
				return
			}
			n, _ := strconv.Atoi(m[1])
			if int64(n) > sent {
				t.Errorf("reason says sent %d, the client sent %d: %s", n, sent, v.Reason)
			}
			if !strings.Contains(v.Reason, budgetStop) {
				t.Errorf("reason does not say the budget stopped it: %s", v.Reason)
			}
		})
	}
}

// TestBrokenWhyNamesTheBudget: a loop the budget stopped says so, not "transport failures".
func TestBrokenWhyNamesTheBudget(t *testing.T) {
	srv := httptest.NewServer(&itemsAPI{items: map[string]map[string]any{}})
	t.Cleanup(srv.Close)
	s := budgetSession(t, srv.URL, 1, nil)
	if why := brokenWhy(s); why != "" {
		t.Fatalf("nothing sent yet, but brokenWhy = %q", why)
	}
	for range 2 {
		_, _ = s.Client.Do(context.Background(), httpx.Request{Method: "GET", URL: s.Target.URL("/")})
	}
	if !opsBroken(s) || brokenWhy(s) != budgetStop {
		t.Errorf("after a refusal: broken=%v why=%q, want %q", opsBroken(s), brokenWhy(s), budgetStop)
	}
}

// TestBurstRecordSeparatesRefusals: a burst request the budget refused is neither sent nor
// a transport error.
func TestBurstRecordSeparatesRefusals(t *testing.T) {
	var r burstResult
	r.record(nil, fmt.Errorf("send: %w", httpx.ErrBudget))
	r.record(&httpx.Exchange{Status: 200}, nil)
	if r.refused != 1 || r.sent != 1 || r.errors != 0 {
		t.Errorf("refused=%d sent=%d errors=%d, want 1 1 0", r.refused, r.sent, r.errors)
	}
}
