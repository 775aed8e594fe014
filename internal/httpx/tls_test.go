package httpx

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
)

func TestHandshakePinsVersion(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	srv.TLS = &tls.Config{MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS12}
	srv.StartTLS()
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	c, err := New(Config{AllowedHosts: []string{u.Host}})
	if err != nil {
		t.Fatal(err)
	}
	cfg := &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS12}
	st, err := c.Handshake(context.Background(), u, cfg)
	if err != nil || st.Version != tls.VersionTLS12 || len(st.PeerCertificates) == 0 {
		t.Fatalf("TLS 1.2 handshake: %v %+v", err, st)
	}
	cfg13 := &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS13}
	if _, err := c.Handshake(context.Background(), u, cfg13); err == nil {
		t.Fatal("a TLS 1.3-only offer to a TLS 1.2-only server succeeded")
	}
	if n := c.Stats().Errors.Load(); n != 0 {
		t.Errorf("a refused offer counted as %d transport errors", n)
	}
	if n := c.Stats().Requests.Load(); n != 2 {
		t.Errorf("counted %d connections, want 2", n)
	}
}

func TestDialRespectsAllowList(t *testing.T) {
	c, err := New(Config{AllowedHosts: []string{"127.0.0.1"}})
	if err != nil {
		t.Fatal(err)
	}
	other, _ := url.Parse("https://not-allowed.invalid/")
	if err := c.Dial(context.Background(), other); !errors.Is(err, ErrHostNotAllowed) {
		t.Fatalf("dial to a host not allowed: %v, want ErrHostNotAllowed", err)
	}
	if _, err := c.Handshake(context.Background(), other, &tls.Config{}); !errors.Is(err, ErrHostNotAllowed) {
		t.Fatalf("handshake to a host not allowed: %v, want ErrHostNotAllowed", err)
	}
	// A port nobody listens on any more: refused, and not a transport error.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	closed, _ := url.Parse("http://" + addr + "/")
	if err := c.Dial(context.Background(), closed); err == nil {
		t.Fatal("dial to a closed port succeeded")
	}
	if n := c.Stats().Errors.Load(); n != 0 {
		t.Errorf("a refused dial counted as %d transport errors", n)
	}
}
