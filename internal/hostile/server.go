// Package hostile is a misbehaving HTTP server for tests. It listens on 127.0.0.1 only and
// offers the ways real APIs go wrong under a scanner: never answering, trickling bytes,
// resetting or cutting connections, bottomless or compressed-bomb bodies, broken JSON and
// UTF-8, oversized headers, redirects to places the scanner must not go, rate limits, bad
// certificates and dying mid-scan. Tests compose the behaviours in an http.ServeMux.
package hostile

import (
	"crypto/tls"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Server is a loopback HTTP(S) server that tracks every connection it accepted, so Kill can
// cut all of them at once, hijacked and hung ones included.
type Server struct {
	// URL is the base URL, http://127.0.0.1:PORT or https://127.0.0.1:PORT.
	URL string
	// Addr is the host:port the server listens on.
	Addr string

	srv      *http.Server
	ln       net.Listener
	requests atomic.Int64
	accepted atomic.Int64

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	dead   bool // set under mu by Kill, before the connections close
	killed chan struct{}
	once   sync.Once
}

// Start serves h over plain HTTP on a free loopback port until the test ends.
func Start(t testing.TB, h http.Handler) *Server {
	t.Helper()
	return start(t, h, nil)
}

// StartTLS serves h over HTTPS with cert until the test ends.
func StartTLS(t testing.TB, h http.Handler, cert tls.Certificate) *Server {
	t.Helper()
	return start(t, h, &tls.Config{Certificates: []tls.Certificate{cert}})
}

func start(t testing.TB, h http.Handler, tc *tls.Config) *Server {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("hostile: listen: %v", err)
	}
	s := &Server{
		Addr:   ln.Addr().String(),
		conns:  map[net.Conn]struct{}{},
		killed: make(chan struct{}),
	}
	s.ln = &trackingListener{Listener: ln, s: s}
	scheme := "http"
	if tc != nil {
		scheme = "https"
		s.ln = tls.NewListener(s.ln, tc)
	}
	s.URL = scheme + "://" + s.Addr
	s.srv = &http.Server{
		Handler:           s.count(h),
		ReadHeaderTimeout: 10 * time.Second,
		// Handshake and protocol errors of a hostile server are expected noise.
		ErrorLog: log.New(io.Discard, "", 0),
	}
	go func() { _ = s.srv.Serve(s.ln) }()
	t.Cleanup(s.Kill)
	return s
}

func (s *Server) count(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		h.ServeHTTP(w, r)
	})
}

// Requests is how many HTTP requests reached a handler.
func (s *Server) Requests() int64 { return s.requests.Load() }

// Accepted is how many TCP connections the server accepted.
func (s *Server) Accepted() int64 { return s.accepted.Load() }

// Killed is closed once Kill has run; hanging handlers wait on it.
func (s *Server) Killed() <-chan struct{} { return s.killed }

// Kill makes the server vanish as a crashed process would: the listener closes, so new
// connections are refused, and every open connection is closed under its client. It is
// safe to call more than once and from a handler.
func (s *Server) Kill() {
	s.once.Do(func() {
		// Connections go first: a handler released by the killed channel must find its
		// connection already dead, or it would still answer.
		s.mu.Lock()
		s.dead = true
		for c := range s.conns {
			closeHard(c)
		}
		s.conns = map[net.Conn]struct{}{}
		s.mu.Unlock()
		_ = s.ln.Close()
		close(s.killed)
		_ = s.srv.Close()
	})
}

// KillAfter returns a handler that serves h for the first n requests and then kills the
// whole server: the target "dies mid-scan".
func (s *Server) KillAfter(n int64, h http.Handler) http.Handler {
	var seen atomic.Int64
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if seen.Add(1) > n {
			go s.Kill()
			<-s.killed
			panic(http.ErrAbortHandler)
		}
		h.ServeHTTP(w, r)
	})
}

// closeHard closes c with a TCP reset where possible, so the peer sees the connection die
// rather than end cleanly.
func closeHard(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = c.Close()
}

type trackingListener struct {
	net.Listener
	s *Server
}

func (l *trackingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.s.accepted.Add(1)
	l.s.mu.Lock()
	defer l.s.mu.Unlock()
	if l.s.dead {
		closeHard(c)
		return nil, errors.New("hostile: server killed")
	}
	l.s.conns[c] = struct{}{}
	return &trackedConn{Conn: c, s: l.s}, nil
}

type trackedConn struct {
	net.Conn
	s    *Server
	once sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.s.mu.Lock()
		delete(c.s.conns, c.Conn)
		c.s.mu.Unlock()
	})
	return c.Conn.Close()
}

// Listen opens a bare loopback listener that counts connections and answers nothing: it
// stands in for "another host" a redirect points to, which must never be contacted.
func Listen(t testing.TB) (addr string, connections func() int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("hostile: listen: %v", err)
	}
	var n atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			n.Add(1)
			_ = c.Close()
		}
	}()
	t.Cleanup(func() { _ = ln.Close() })
	return ln.Addr().String(), n.Load
}
