package httpx_test

import (
	"context"
	"crypto/tls"
	"errors"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/apigate/apigate/internal/hostile"
	"github.com/apigate/apigate/internal/httpx"
)

// faultClient is a client for srv with a short deadline and a 1 MiB body cap.
func faultClient(t *testing.T, srv *hostile.Server, mod func(*httpx.Config)) *httpx.Client {
	t.Helper()
	u, _ := url.Parse(srv.URL)
	cfg := httpx.Config{AllowedHosts: []string{u.Host}, Timeout: time.Second, MaxBody: 1 << 20}
	if mod != nil {
		mod(&cfg)
	}
	c, err := httpx.New(cfg)
	if err != nil {
		t.Fatalf("new client: %v", err)
	}
	return c
}

// allocated runs f and returns how many bytes the process allocated meanwhile.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestClientSurvivesHostileResponses sends one GET to each kind of misbehaving server and
// checks the client returns in bounded time, with bounded memory, and records the failure
// where a probe can see it.
func TestClientSurvivesHostileResponses(t *testing.T) {
	const maxBody = 1 << 20
	cases := []struct {
		name    string
		handler func(*hostile.Server) http.Handler
		// wantStatus is the status the client must report; 0 means no response.
		wantStatus    int
		wantErr       bool
		wantTruncated bool
		maxSeconds    float64
	}{
		{"never answers", hostile.Hang, 0, true, false, 4},
		{"one byte per 300ms", func(*hostile.Server) http.Handler {
			return hostile.Trickle(300 * time.Millisecond)
		}, 0, true, false, 4},
		{"connection reset", func(*hostile.Server) http.Handler { return hostile.Reset() },
			0, true, false, 4},
		{"closed mid-body", func(*hostile.Server) http.Handler {
			return hostile.CutBody(100000, 5000)
		}, 200, true, false, 4},
		{"50 MB body", func(*hostile.Server) http.Handler { return hostile.Huge(50 << 20) },
			200, false, true, 6},
		{"2 GiB gzip bomb", func(*hostile.Server) http.Handler {
			return hostile.GzipBomb(2 << 30)
		}, 200, false, true, 6},
		{"endless chunked body", func(*hostile.Server) http.Handler { return hostile.Endless() },
			200, false, true, 6},
		{"300 KB of headers", func(*hostile.Server) http.Handler {
			return hostile.HugeHeaders(300 << 10)
		}, 0, true, false, 4},
		{"invalid JSON", func(*hostile.Server) http.Handler {
			return hostile.Body(200, "application/json", hostile.BadJSON)
		}, 200, false, false, 4},
		{"invalid UTF-8", func(*hostile.Server) http.Handler {
			return hostile.Body(200, "application/json; charset=utf-8", hostile.BadUTF8)
		}, 200, false, false, 4},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var srv *hostile.Server
			mux := http.NewServeMux()
			srv = hostile.Start(t, mux)
			mux.Handle("/", tc.handler(srv))
			var mod func(*httpx.Config)
			if !tc.wantErr {
				// Answers that must be read whole (up to the cap) get room for a loaded
				// machine; the 1s default is for the cases that must time out.
				mod = func(cfg *httpx.Config) { cfg.Timeout = 3 * time.Second }
			}
			c := faultClient(t, srv, mod)

			var ex *httpx.Exchange
			var err error
			start := time.Now()
			alloc := allocated(func() {
				ex, err = c.Do(context.Background(), httpx.Request{Method: "GET", URL: srv.URL + "/x"})
			})
			took := time.Since(start).Seconds()
			if took > tc.maxSeconds {
				t.Errorf("took %.1fs, want under %.0fs", took, tc.maxSeconds)
			}
			// Loose: the cap is 1 MiB; a leak would be tens of MB or GBs.
			if alloc > 48<<20 {
				t.Errorf("allocated %d MiB for one capped response", alloc>>20)
			}
			if ex.Status != tc.wantStatus {
				t.Errorf("status = %d, want %d (err %v)", ex.Status, tc.wantStatus, err)
			}
			if (err != nil) != tc.wantErr || (ex.Err != nil) != tc.wantErr {
				t.Errorf("err = %v, Exchange.Err = %v, want error: %v", err, ex.Err, tc.wantErr)
			}
			if ex.Truncated != tc.wantTruncated {
				t.Errorf("truncated = %v, want %v", ex.Truncated, tc.wantTruncated)
			}
			if len(ex.Body) > maxBody {
				t.Errorf("body of %d bytes passes the %d cap", len(ex.Body), maxBody)
			}
			if tc.wantErr && c.Stats().Errors.Load() != 1 {
				t.Errorf("transport errors counted = %d, want 1", c.Stats().Errors.Load())
			}
		})
	}
}

func TestClientKeepsBrokenBodiesVerbatim(t *testing.T) {
	for name, body := range map[string][]byte{"json": hostile.BadJSON, "utf8": hostile.BadUTF8} {
		srv := hostile.Start(t, hostile.Body(200, "application/json", body))
		ex, err := faultClient(t, srv, nil).Do(context.Background(),
			httpx.Request{Method: "GET", URL: srv.URL})
		if err != nil || string(ex.Body) != string(body) {
			t.Errorf("%s: body %q, err %v; want the bytes as sent", name, ex.Body, err)
		}
	}
}

func TestClientNeverFollowsRedirects(t *testing.T) {
	other, connections := hostile.Listen(t)
	cases := map[string]http.Handler{
		"loop":          hostile.RedirectLoop(),
		"other host":    hostile.RedirectTo(http.StatusFound, "http://"+other+"/steal"),
		"307 elsewhere": hostile.RedirectTo(http.StatusTemporaryRedirect, "http://"+other+"/"),
		// Only the header names the metadata address; the client must not act on it.
		"metadata": hostile.RedirectTo(http.StatusFound,
			"http://169.254.169.254/latest/meta-data/iam/security-credentials/"),
		"metadata by name": hostile.RedirectTo(http.StatusMovedPermanently,
			"http://metadata.google.internal./computeMetadata/v1/"),
	}
	for name, h := range cases {
		t.Run(name, func(t *testing.T) {
			srv := hostile.Start(t, h)
			ex, err := faultClient(t, srv, nil).Do(context.Background(),
				httpx.Request{Method: "POST", URL: srv.URL + "/start", Body: []byte("{}")})
			if err != nil {
				t.Fatalf("do: %v", err)
			}
			if ex.Status < 300 || ex.Status > 399 || ex.Header.Get("Location") == "" {
				t.Errorf("status %d location %q: want the redirect itself returned",
					ex.Status, ex.Header.Get("Location"))
			}
			if n := srv.Requests(); n != 1 {
				t.Errorf("target saw %d requests, want exactly 1 (no hop followed)", n)
			}
		})
	}
	if n := connections(); n != 0 {
		t.Errorf("the other host received %d connections, want 0", n)
	}
}

func TestClientRefusesHostsNotAllowed(t *testing.T) {
	other, connections := hostile.Listen(t)
	srv := hostile.Start(t, hostile.Plain())
	c := faultClient(t, srv, nil)
	for _, u := range []string{"http://" + other + "/", "http://localhost" + other[strings.LastIndex(other, ":"):] + "/"} {
		_, err := c.Do(context.Background(), httpx.Request{Method: "GET", URL: u})
		if !errors.Is(err, httpx.ErrHostNotAllowed) {
			t.Errorf("GET %s: err = %v, want ErrHostNotAllowed", u, err)
		}
	}
	if n := connections(); n != 0 {
		t.Errorf("a host not allowed received %d connections, want 0", n)
	}
}

func TestClientCertificates(t *testing.T) {
	self, expired := hostile.SelfSigned(t), hostile.Expired(t)
	cases := []struct {
		name     string
		cert     hostile.Cert
		trust    bool
		insecure bool
		want     int
		wantErr  string
	}{
		{"self-signed, untrusted", self, false, false, 0, "certificate"},
		{"self-signed, trusted via RootCAs", self, true, false, 200, ""},
		{"expired, trusted", expired, true, false, 0, "expired"},
		{"expired, inspected insecurely", expired, false, true, 200, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := hostile.StartTLS(t, hostile.Plain(), tc.cert.TLS)
			c := faultClient(t, srv, func(cfg *httpx.Config) {
				if tc.trust {
					cfg.RootCAs = tc.cert.PEM
				}
			})
			ex, err := c.Do(context.Background(),
				httpx.Request{Method: "GET", URL: srv.URL, Insecure: tc.insecure})
			if ex.Status != tc.want {
				t.Errorf("status %d, want %d (err %v)", ex.Status, tc.want, err)
			}
			if tc.wantErr != "" {
				var cv *tls.CertificateVerificationError
				if !errors.As(err, &cv) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("err = %v, want a certificate verification error about %q",
						err, tc.wantErr)
				}
			}
			if tc.want == 200 && ex.TLS == nil {
				t.Error("no TLS state recorded for an https exchange")
			}
		})
	}
}

func TestTransportErrorsAreRedacted(t *testing.T) {
	const secret = "sk_live_canary_51Hx9"
	srv := hostile.Start(t, hostile.Reset())
	red := httpx.NewRedactor()
	red.Add(secret, "API_KEY")
	c := faultClient(t, srv, func(cfg *httpx.Config) { cfg.Redactor = red })
	_, err := c.Do(context.Background(),
		httpx.Request{Method: "GET", URL: srv.URL + "/items?api_key=" + secret})
	if err == nil {
		t.Fatal("want a transport error from a reset")
	}
	if strings.Contains(err.Error(), secret) {
		t.Errorf("error leaks the secret: %v", err)
	}
	if !strings.Contains(err.Error(), "[redacted:API_KEY]") {
		t.Errorf("error %q does not show where the secret was", err)
	}
	var ue *url.Error
	if !errors.As(err, &ue) {
		t.Errorf("redaction hid the error's type: %T", err)
	}
}

func TestClientBudget(t *testing.T) {
	srv := hostile.Start(t, hostile.Plain())
	c := faultClient(t, srv, func(cfg *httpx.Config) { cfg.Budget = 3 })
	for i := range 5 {
		_, err := c.Scope("p").Do(context.Background(), httpx.Request{Method: "GET", URL: srv.URL})
		if i < 3 && err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		if i >= 3 && !errors.Is(err, httpx.ErrBudget) {
			t.Errorf("request %d: err = %v, want ErrBudget", i, err)
		}
	}
	if srv.Requests() != 3 {
		t.Errorf("target saw %d requests, want 3", srv.Requests())
	}
}

// TestGzipBombIsInflatedOnlyUpToTheCap proves the body cap applies to inflated bytes: the
// body is the bomb's zeros, not its compressed form, and stops at the cap.
func TestGzipBombIsInflatedOnlyUpToTheCap(t *testing.T) {
	srv := hostile.Start(t, hostile.GzipBomb(4<<30))
	ex, err := faultClient(t, srv, nil).Do(context.Background(),
		httpx.Request{Method: "GET", URL: srv.URL})
	if err != nil {
		t.Fatalf("do: %v", err)
	}
	if len(ex.Body) != 1<<20 || !ex.Truncated {
		t.Fatalf("body %d bytes, truncated %v; want exactly the 1 MiB cap", len(ex.Body), ex.Truncated)
	}
	if strings.Trim(string(ex.Body), "\x00") != "" {
		t.Error("body is not the inflated zeros: the bomb was not decoded as gzip")
	}
}

// BenchmarkHostileBodies measures what one capped read of an oversized answer costs: run
// with -benchmem to see bytes per request stay near the 1 MiB cap.
func BenchmarkHostileBodies(b *testing.B) {
	for _, bc := range []struct {
		name string
		h    http.Handler
	}{
		{"50MB", hostile.Huge(50 << 20)},
		{"gzip-bomb-2GiB", hostile.GzipBomb(2 << 30)},
		{"endless", hostile.Endless()},
	} {
		b.Run(bc.name, func(b *testing.B) {
			srv := hostile.Start(b, bc.h)
			u, _ := url.Parse(srv.URL)
			c, err := httpx.New(httpx.Config{AllowedHosts: []string{u.Host}, Budget: 1 << 30})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				ex, err := c.Do(context.Background(), httpx.Request{Method: "GET", URL: srv.URL})
				if err != nil || !ex.Truncated {
					b.Fatalf("err %v truncated %v", err, ex.Truncated)
				}
			}
		})
	}
}
