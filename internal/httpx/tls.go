package httpx

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/url"
	"time"
)

// The transport probe needs what an http.Client hides: a bare TCP connect to tell a refused
// port from a silent one, and TLS handshakes with one protocol version or cipher suite
// pinned. Both go through the same safety rules as Do: the host must be allowed, link-local
// addresses are refused, and each connection counts against the scan's budget.

// hostPort returns u's host:port, with the scheme's default port when none is given.
func hostPort(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	return net.JoinHostPort(u.Hostname(), port)
}

// dial opens a TCP connection to u's host after the safety checks.
func (c *Client) dial(ctx context.Context, u *url.URL) (net.Conn, error) {
	if !c.Allowed(u) {
		c.blocked()
		return nil, fmt.Errorf("%w: %s", ErrHostNotAllowed, u.Host)
	}
	if err := c.take(); err != nil {
		return nil, err
	}
	d := &net.Dialer{Timeout: 5 * time.Second, Control: refuseLinkLocal}
	return d.DialContext(ctx, "tcp", hostPort(u))
}

// Dial reports whether a TCP connection to u's host and port can be opened. A refused
// connection is an answer here, not a transport failure, so it is not counted as an error.
func (c *Client) Dial(ctx context.Context, u *url.URL) error {
	conn, err := c.dial(ctx, u)
	if err != nil {
		return err
	}
	return conn.Close()
}

// Handshake performs one TLS handshake with u's host and port using cfg, and returns the
// negotiated state. ServerName defaults to u's host name. A failed handshake is the
// expected answer to an offer the server refuses, so it is not counted as an error.
func (c *Client) Handshake(ctx context.Context, u *url.URL,
	cfg *tls.Config) (*tls.ConnectionState, error) {
	conn, err := c.dial(ctx, u)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	cfg = cfg.Clone()
	if cfg.ServerName == "" {
		cfg.ServerName = u.Hostname()
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	tc := tls.Client(conn, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		return nil, err
	}
	st := tc.ConnectionState()
	return &st, nil
}
