// Package httpx is the only way probes talk to a target. It enforces the scanner's safety
// rules in one place: requests go only to hosts the user allowed, redirects are never
// followed, bodies are read up to a cap, every request has a deadline, the whole scan has a
// request budget, and every recorded exchange passes through secret redaction.
package httpx

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// ErrBudget is returned once the scan's request budget is spent.
var ErrBudget = errors.New("request budget exhausted")

// ErrHostNotAllowed is returned for a request to a host the user did not allow.
var ErrHostNotAllowed = errors.New("host not allowed")

// Config tunes a Client. The zero value gives the defaults.
type Config struct {
	// AllowedHosts are host or host:port values requests may go to. Empty means nothing is
	// allowed; the scanner always fills it with the target's host.
	AllowedHosts []string
	// Timeout bounds one request, headers and body. Default 10s.
	Timeout time.Duration
	// MaxBody caps how much of a response body is read. Default 1 MiB.
	MaxBody int64
	// Budget caps the number of requests of the whole scan. Default 5000.
	Budget int64
	// RootCAs are extra PEM certificates to trust.
	RootCAs []byte
	// Redactor hides secrets in everything the client records. May be nil.
	Redactor *Redactor
	// UserAgent is sent with every request.
	UserAgent string
}

// Client sends requests for probes. Scope gives each probe a view with its own counters over
// one shared transport and budget. It is safe for concurrent use.
type Client struct {
	shared *shared
	scope  string
	stats  *Stats
}

type shared struct {
	cfg      Config
	http     *http.Client
	insecure *http.Client // for the transport probe's certificate checks only
	allowed  map[string]bool
	sent     atomic.Int64 // requests that went out; refusals are given back (budget.go)
	refused  atomic.Int64
	failed   atomic.Int64
	budget   int64

	mu     sync.Mutex
	scopes map[string]*Stats
}

// Stats counts what one scope's requests met.
type Stats struct {
	Requests  atomic.Int64
	Throttled atomic.Int64 // 429 responses, or 503 with Retry-After
	Errors    atomic.Int64 // transport errors: resets, timeouts, refused
	Refused   atomic.Int64 // requests the budget refused: never sent
	Blocked   atomic.Int64 // requests to a host not allowed: never sent
}

// New returns a client for cfg.
func New(cfg Config) (*Client, error) {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = 1 << 20
	}
	if cfg.Budget <= 0 {
		cfg.Budget = 5000
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = "apigate"
	}
	if cfg.Redactor == nil {
		cfg.Redactor = NewRedactor()
	}
	s := &shared{cfg: cfg, budget: cfg.Budget, allowed: map[string]bool{}, scopes: map[string]*Stats{}}
	for _, h := range cfg.AllowedHosts {
		s.allowed[strings.ToLower(h)] = true
	}

	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if len(cfg.RootCAs) > 0 && !pool.AppendCertsFromPEM(cfg.RootCAs) {
		return nil, errors.New("httpx: no certificate found in the given CA PEM")
	}
	s.http = &http.Client{
		Transport:     s.transport(&tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}),
		CheckRedirect: noRedirects,
	}
	s.insecure = &http.Client{
		Transport:     s.transport(&tls.Config{InsecureSkipVerify: true}), //nolint:gosec // inspection only
		CheckRedirect: noRedirects,
	}
	return &Client{shared: s, scope: "", stats: s.scopeStats("")}, nil
}

func noRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// transport builds a transport whose dialer re-checks the destination, so a name that
// resolves to a link-local (cloud metadata) address is refused even if the name was allowed.
func (s *shared) transport(tc *tls.Config) *http.Transport {
	d := &net.Dialer{Timeout: 5 * time.Second, Control: refuseLinkLocal}
	return &http.Transport{
		DialContext:         d.DialContext,
		TLSClientConfig:     tc,
		TLSHandshakeTimeout: 5 * time.Second,
		// Longer than the request deadline, so the clearer deadline message wins the race.
		ResponseHeaderTimeout:  s.cfg.Timeout + time.Second,
		MaxResponseHeaderBytes: 256 << 10,
		MaxIdleConnsPerHost:    32,
		IdleConnTimeout:        30 * time.Second,
		DisableCompression:     false,
	}
}

func (s *shared) scopeStats(name string) *Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.scopes[name]
	if !ok {
		st = &Stats{}
		s.scopes[name] = st
	}
	return st
}

// Scope returns a view of c that counts its requests under name.
func (c *Client) Scope(name string) *Client {
	return &Client{shared: c.shared, scope: name, stats: c.shared.scopeStats(name)}
}

// Stats returns the counters of this client's scope.
func (c *Client) Stats() *Stats { return c.stats }

// Sent is the number of requests the whole scan sent; requests the budget refused are not
// counted.
func (c *Client) Sent() int64 { return c.shared.sent.Load() }

// Redactor returns the redactor of the client, never nil.
func (c *Client) Redactor() *Redactor { return c.shared.cfg.Redactor }

// Allowed reports whether requests to u's host are allowed.
func (c *Client) Allowed(u *url.URL) bool {
	h := strings.ToLower(u.Host)
	if c.shared.allowed[h] {
		return true
	}
	return c.shared.allowed[strings.ToLower(u.Hostname())]
}

// Request is what a probe asks to send.
type Request struct {
	Method string
	URL    string
	Header http.Header
	Body   []byte
	// Insecure skips certificate verification; only the transport probe uses it, to look
	// at a certificate it has already found invalid.
	Insecure bool
}

// Exchange is a request and what came back. Response fields are zero when Err is set.
type Exchange struct {
	Method    string
	URL       string
	ReqHeader http.Header
	ReqBody   []byte

	Status    int
	Header    http.Header
	Body      []byte
	Truncated bool
	Duration  time.Duration
	Proto     string
	TLS       *tls.ConnectionState
	Err       error
}

// Do sends r and reads the response body up to the cap. A transport error is returned in
// Exchange.Err as well as the error, so callers can record it as evidence; ErrBudget and
// ErrHostNotAllowed are returned before anything is sent.
func (c *Client) Do(ctx context.Context, r Request) (*Exchange, error) {
	ex := &Exchange{Method: r.Method, URL: r.URL, ReqHeader: r.Header.Clone(), ReqBody: r.Body}
	if ex.ReqHeader == nil {
		ex.ReqHeader = http.Header{}
	}
	u, err := url.Parse(r.URL)
	if err != nil {
		ex.Err = redactErr(c.Redactor(), fmt.Errorf("parse url: %w", err))
		return ex, ex.Err
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		ex.Err = fmt.Errorf("unsupported scheme %q", u.Scheme)
		return ex, ex.Err
	}
	if !c.Allowed(u) {
		c.blocked()
		ex.Err = fmt.Errorf("%w: %s", ErrHostNotAllowed, u.Host)
		return ex, ex.Err
	}
	if err := c.take(); err != nil {
		ex.Err = err
		return ex, err
	}

	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, c.shared.cfg.Timeout)
	defer cancel()
	var body io.Reader
	if r.Body != nil {
		body = bytes.NewReader(r.Body)
	}
	req, err := http.NewRequestWithContext(ctx, r.Method, r.URL, body)
	if err != nil {
		ex.Err = redactErr(c.Redactor(), fmt.Errorf("build request: %w", err))
		return ex, ex.Err
	}
	for k, vs := range ex.ReqHeader {
		req.Header[k] = vs
	}
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", c.shared.cfg.UserAgent)
	}
	if host := req.Header.Get("Host"); host != "" {
		req.Host = host
	}

	hc := c.shared.http
	if r.Insecure {
		hc = c.shared.insecure
	}
	start := time.Now()
	resp, err := hc.Do(req)
	if err != nil {
		c.failed()
		ex.Duration = time.Since(start)
		ex.Err = redactErr(c.Redactor(), c.explainTimeout(parent, err))
		return ex, ex.Err
	}
	defer resp.Body.Close()
	ex.Status = resp.StatusCode
	ex.Header = resp.Header
	ex.Proto = resp.Proto
	ex.TLS = resp.TLS
	ex.Body, ex.Truncated, err = readCapped(resp.Body, c.shared.cfg.MaxBody)
	ex.Duration = time.Since(start)
	if err != nil {
		// A body cut short still tells the probe something: keep what arrived.
		c.failed()
		ex.Err = redactErr(c.Redactor(), c.explainTimeout(parent, fmt.Errorf("read body: %w", err)))
	}
	if resp.StatusCode == http.StatusTooManyRequests ||
		(resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") != "") {
		c.stats.Throttled.Add(1)
	}
	return ex, ex.Err
}

// explainTimeout says which deadline expired when it was this request's own: "context
// deadline exceeded" alone does not tell a user which flag to change.
func (c *Client) explainTimeout(parent context.Context, err error) error {
	if parent.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("no complete answer within the %s request timeout: %w",
			c.shared.cfg.Timeout, err)
	}
	return err
}

func readCapped(r io.Reader, max int64) ([]byte, bool, error) {
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if int64(len(b)) > max {
		return b[:max], true, nil
	}
	return b, false, err
}

// refuseLinkLocal stops connections to link-local addresses (169.254.0.0/16, fe80::/10),
// where cloud metadata services live, whatever name led there.
func refuseLinkLocal(network, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	ip := net.ParseIP(host)
	if ip != nil && (ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast()) {
		return fmt.Errorf("%w: link-local address %s", ErrHostNotAllowed, host)
	}
	return nil
}
