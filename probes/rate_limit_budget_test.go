package probes

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/apigate/apigate/internal/finding"
	"github.com/apigate/apigate/internal/httpx"
	"github.com/apigate/apigate/internal/target"
)

func budgetSession(t *testing.T, base string, budget int64, tg *target.Target) *Session {
	t.Helper()
	s := newTestSession(t, base, tg)
	u, _ := url.Parse(base)
	c, err := httpx.New(httpx.Config{AllowedHosts: []string{u.Host}, Timeout: 5 * time.Second,
		Budget: budget})
	if err != nil {
		t.Fatal(err)
	}
	s.Client = c.Scope("rate-limit")
	return s
}

// TestBurstCappedByBudget: a huge configured burst sends no more than the budget allows,
// keeps room for the login series, says so, and is never refused by the budget.
func TestBurstCappedByBudget(t *testing.T) {
	srv := rlServer(rlOKItems, rlWrongPassword)
	defer srv.Close()
	s := budgetSession(t, srv.URL, 200, &target.Target{Options: target.Options{Burst: 100000000},
		Operations: []*target.Operation{{Method: "GET", Path: "/api/items"}}})
	start := time.Now()
	v := NewRateLimit().Run(context.Background(), s)
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("burst took %s", took)
	}
	if !strings.Contains(v.Reason, "burst capped at 150 of 1000 requests: the request budget "+
		"(--max-requests 200) has 200 requests left") {
		t.Errorf("reason %q does not say the burst was capped", v.Reason)
	}
	if n := s.Client.Stats().Refused.Load(); n != 0 {
		t.Errorf("%d requests were refused by the budget; the cap should have prevented it", n)
	}
	if v.Status != finding.StatusFail {
		t.Errorf("status %s, want the missing limit found at the capped size: %s", v.Status, v.Reason)
	}

	tiny := budgetSession(t, srv.URL, 30, &target.Target{
		Operations: []*target.Operation{{Method: "GET", Path: "/api/items"}}})
	if pv := tiny.burstPart(context.Background()); pv.status != finding.StatusInconclusive ||
		!strings.Contains(pv.reason, "has 30 requests left") {
		t.Errorf("burst with no budget left: %+v", pv)
	}
}

// TestBurstStopsOnBudgetRefusal: once the budget refuses, the burst stops at once instead
// of spinning through a million refusals.
func TestBurstStopsOnBudgetRefusal(t *testing.T) {
	srv := rlServer(rlOKItems, rlWrongPassword)
	defer srv.Close()
	s := budgetSession(t, srv.URL, 5, nil)
	start := time.Now()
	r := s.runBurst(context.Background(), &burstEndpoint{path: "/api/items"}, 1000000)
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("burst spun for %s after the budget ran out", took)
	}
	if r.sent > 5+burstConcurrency {
		t.Errorf("burst tried %d requests after a budget of 5", r.sent)
	}
}
