// Package demo is apigate's built-in shop API: a small, in-process net/http service in two
// modes. The vulnerable mode breaks every item of the checklist on purpose, each flaw real
// (a probe has to prove it, not read it from a list); the hardened mode fixes every one of
// them the way a careful engineer would, and is the scanner's false-positive control: a scan
// of it must report nothing.
//
// The planted flaws and their fixes are listed in flaws.go. The API is documented by
// openapi.yaml beside this file.
package demo

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"
)

// Credential is a seeded user's login.
type Credential struct {
	Username string
	Password string
}

// The seeded users. Alice and Bob are plain users, the scanner's two identities; the admin
// exists so that role changes and other users' data have something to show.
var (
	Alice = Credential{Username: "alice", Password: "alice-pass-1"}
	Bob   = Credential{Username: "bob", Password: "bob-pass-2"}
	Admin = Credential{Username: "admin", Password: "admin-pass-0"}
)

// LoginPath is where a Credential is exchanged for a bearer token:
// POST {"username":..., "password":...} gives {"access_token":...}.
const LoginPath = "/api/login"

// Options configures a demo server. The zero value is the vulnerable mode on free loopback
// ports, logging only to memory.
type Options struct {
	// Hardened selects the fixed twin.
	Hardened bool
	// Addr is the plain-HTTP listen address. Default "127.0.0.1:0" (a free loopback port).
	// In hardened mode this port only redirects to HTTPS.
	Addr string
	// TLSAddr is the HTTPS listen address of the hardened mode. Default "127.0.0.1:0".
	TLSAddr string
	// TLSNames are extra host names or IP addresses the certificate is valid for, besides
	// localhost, 127.0.0.1 and ::1 (e.g. a compose service name).
	TLSNames []string
	// LogOutput, when set, also receives every log line the API writes (serve mode sends
	// them to stdout so that `docker compose logs` shows them).
	LogOutput io.Writer
}

// Server is a running demo API.
type Server struct {
	app      *app
	servers  []*http.Server
	httpURL  *url.URL
	httpsURL *url.URL
	caPEM    []byte
	done     chan error

	closeOnce sync.Once
	closeErr  error
}

// Start listens and serves in the background until Close.
func Start(opts Options) (*Server, error) {
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	if opts.TLSAddr == "" {
		opts.TLSAddr = "127.0.0.1:0"
	}
	a, err := newApp(opts)
	if err != nil {
		return nil, err
	}
	s := &Server{app: a, done: make(chan error, 2)}

	plain, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("demo: listen on %s: %w", opts.Addr, err)
	}
	s.httpURL = listenerURL("http", plain.Addr())
	if !opts.Hardened {
		s.serve(&http.Server{Handler: a.handler(), ReadHeaderTimeout: 10 * time.Second}, plain)
		return s, nil
	}

	ca, leaf, err := newCertificates(opts.TLSNames)
	if err != nil {
		plain.Close()
		return nil, err
	}
	s.caPEM = ca
	secure, err := net.Listen("tcp", opts.TLSAddr)
	if err != nil {
		plain.Close()
		return nil, fmt.Errorf("demo: listen on %s: %w", opts.TLSAddr, err)
	}
	s.httpsURL = listenerURL("https", secure.Addr())
	tlsPort := strconv.Itoa(secure.Addr().(*net.TCPAddr).Port)
	s.serve(&http.Server{
		Handler:           redirectToHTTPS(tlsPort, opts.TLSNames),
		ReadHeaderTimeout: 10 * time.Second,
	}, plain)
	s.serve(&http.Server{
		Handler:           a.handler(),
		ReadHeaderTimeout: 10 * time.Second,
		TLSConfig:         serverTLSConfig(leaf),
		// The HTTPS check offers TLS 1.0, 1.1 and weak suites on purpose; each refusal
		// would otherwise print a handshake error on the demo's stderr.
		ErrorLog: log.New(io.Discard, "", 0),
	}, tls.NewListener(secure, serverTLSConfig(leaf)))
	return s, nil
}

func (s *Server) serve(srv *http.Server, ln net.Listener) {
	s.servers = append(s.servers, srv)
	go func() {
		err := srv.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		s.done <- err
	}()
}

// listenerURL names a listener by 127.0.0.1 when it listens on every address, so that the
// URL is one a client on this machine can use.
func listenerURL(scheme string, addr net.Addr) *url.URL {
	tcp := addr.(*net.TCPAddr)
	host := tcp.IP.String()
	if tcp.IP.IsUnspecified() {
		host = "127.0.0.1"
	}
	return &url.URL{Scheme: scheme, Host: net.JoinHostPort(host, strconv.Itoa(tcp.Port))}
}

// Hardened reports the server's mode.
func (s *Server) Hardened() bool { return s.app.hardened }

// BaseURL is the URL to scan: the HTTPS one in hardened mode, the plain one otherwise.
func (s *Server) BaseURL() *url.URL {
	if s.httpsURL != nil {
		return cloneURL(s.httpsURL)
	}
	return cloneURL(s.httpURL)
}

// HTTPURL is the plain-HTTP base URL (in hardened mode it answers only with redirects).
func (s *Server) HTTPURL() *url.URL { return cloneURL(s.httpURL) }

// HTTPSURL is the HTTPS base URL; nil in vulnerable mode, which has no TLS.
func (s *Server) HTTPSURL() *url.URL { return cloneURL(s.httpsURL) }

// RootCAs is the PEM certificate of the throwaway CA that signed the hardened mode's
// certificate; nil in vulnerable mode.
func (s *Server) RootCAs() []byte { return append([]byte(nil), s.caPEM...) }

// Logs is the API's log, as the scanner's logging probe reads it.
func (s *Server) Logs() *LogBuffer { return s.app.logs }

// OpenAPI returns this mode's OpenAPI document (YAML) and the same document as JSON.
func (s *Server) OpenAPI() (yamlDoc, jsonDoc []byte) {
	return s.app.spec.yaml, s.app.spec.json
}

// Close stops the server at once, cutting any connection still open; use it once the
// scan is over. Calling it again, or after Shutdown, returns the first result.
func (s *Server) Close() error {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return s.Shutdown(ctx)
}

// Shutdown stops accepting connections and lets requests in flight finish until ctx ends,
// then cuts what remains.
func (s *Server) Shutdown(ctx context.Context) error {
	s.closeOnce.Do(func() {
		var errs []error
		for _, srv := range s.servers {
			if err := srv.Shutdown(ctx); err != nil {
				if err := srv.Close(); err != nil {
					errs = append(errs, err)
				}
			}
		}
		for range s.servers {
			if err := <-s.done; err != nil {
				errs = append(errs, err)
			}
		}
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}

// Wait blocks until the server stops by itself (a listener failed) or ctx ends.
func (s *Server) Wait(ctx context.Context) error {
	select {
	case err := <-s.done:
		s.done <- err // let Close collect it
		if err == nil {
			err = errors.New("demo: server stopped")
		}
		return err
	case <-ctx.Done():
		return nil
	}
}

func cloneURL(u *url.URL) *url.URL {
	if u == nil {
		return nil
	}
	c := *u
	return &c
}
