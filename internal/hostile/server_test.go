package hostile

import (
	"errors"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// TestKillCutsHungConnectionsAndRefusesNewOnes: Kill must behave like a crashed process,
// or the "target died mid-scan" tests would test nothing.
func TestKillCutsHungConnectionsAndRefusesNewOnes(t *testing.T) {
	mux := http.NewServeMux()
	srv := Start(t, mux)
	mux.Handle("/", Hang(srv))
	errc := make(chan error, 1)
	go func() {
		resp, err := http.Get(srv.URL)
		if err == nil {
			resp.Body.Close()
			err = errors.New("got an answer")
		}
		errc <- err
	}()
	time.Sleep(200 * time.Millisecond)
	srv.Kill()
	select {
	case err := <-errc:
		if err == nil || err.Error() == "got an answer" {
			t.Errorf("hung request ended with %v, want a transport error", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Kill left a hung connection open")
	}
	if c, err := net.DialTimeout("tcp", srv.Addr, time.Second); err == nil {
		c.Close()
		t.Error("a killed server still accepts connections")
	}
	if srv.Requests() != 1 {
		t.Errorf("requests = %d, want 1", srv.Requests())
	}
}

func TestCutBodyAndRateLimit(t *testing.T) {
	srv := Start(t, RateLimitAfter(1, CutBody(1000, 100)))
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if len(b) != 100 || err == nil {
		t.Errorf("read %d bytes, err %v; want 100 and an unexpected EOF", len(b), err)
	}
	resp, err = http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Errorf("second request: %d, want 429 with Retry-After", resp.StatusCode)
	}
}
