package httpx_test

import (
	"context"
	"errors"
	"testing"

	"github.com/apigate/apigate/internal/hostile"
	"github.com/apigate/apigate/internal/httpx"
)

// TestBudgetRefusalsAreNotSent: a request the budget refuses went nowhere, so it is counted
// as refused, in the scope and for the scan, never as sent.
func TestBudgetRefusalsAreNotSent(t *testing.T) {
	srv := hostile.Start(t, hostile.Plain())
	c := faultClient(t, srv, func(cfg *httpx.Config) { cfg.Budget = 3 })
	p := c.Scope("p")
	for range 7 {
		_, err := p.Do(context.Background(), httpx.Request{Method: "GET", URL: srv.URL})
		if err != nil && !httpx.IsFatal(err) {
			t.Fatalf("do: %v", err)
		}
	}
	if got := c.Sent(); got != 3 {
		t.Errorf("Sent = %d, want 3 (refusals are not requests)", got)
	}
	if got := c.Refused(); got != 4 {
		t.Errorf("Refused = %d, want 4", got)
	}
	if got := p.Stats().Requests.Load(); got != 3 {
		t.Errorf("scope requests = %d, want 3", got)
	}
	if got := p.Stats().Refused.Load(); got != 4 {
		t.Errorf("scope refused = %d, want 4", got)
	}
	if got := c.Remaining(); got != 0 {
		t.Errorf("Remaining = %d, want 0", got)
	}
}

func TestIsFatal(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{httpx.ErrBudget, true},
		{errors.Join(errors.New("x"), httpx.ErrHostNotAllowed), true},
		{context.DeadlineExceeded, false},
		{nil, false},
	} {
		if got := httpx.IsFatal(tc.err); got != tc.want {
			t.Errorf("IsFatal(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

// TestFailedCountsTransportErrors: the scan-wide count of requests that met a transport
// error, which the engine weighs against Sent.
func TestFailedCountsTransportErrors(t *testing.T) {
	srv := hostile.Start(t, hostile.Reset())
	c := faultClient(t, srv, nil)
	for range 2 {
		if _, err := c.Scope("x").Do(context.Background(),
			httpx.Request{Method: "GET", URL: srv.URL}); err == nil {
			t.Fatal("a reset gave no error")
		}
	}
	if c.Failed() != 2 || c.Sent() != 2 {
		t.Errorf("Failed = %d, Sent = %d; want 2 and 2", c.Failed(), c.Sent())
	}
}
