package github

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	gh "github.com/google/go-github/v62/github"
)

// Client is a REST client for one repository with bounded retries of transient failures.
type Client struct {
	gh          *gh.Client
	owner, repo string
	log         *slog.Logger

	// Retry policy: at most attempts tries per call, waiting base, 2*base, 4*base... or
	// the server's Retry-After, each wait capped at maxWait.
	attempts int
	base     time.Duration
	maxWait  time.Duration
}

// NewClient builds a client for apiURL (https://api.github.com, or a GitHub Enterprise
// Server's https://HOST/api/v3 from GITHUB_API_URL) authenticated with token.
func NewClient(apiURL, token, repository string, log *slog.Logger) (*Client, error) {
	owner, repo, ok := strings.Cut(repository, "/")
	if !ok || owner == "" || repo == "" {
		return nil, fmt.Errorf("GITHUB_REPOSITORY %q is not owner/name", repository)
	}
	c := gh.NewClient(&http.Client{Timeout: DefaultRequestTimeout}).WithAuthToken(token)
	if apiURL != "" {
		// GITHUB_API_URL is the API root as given: https://api.github.com, or
		// https://HOST/api/v3 on GitHub Enterprise Server.
		base, err := url.Parse(strings.TrimSuffix(apiURL, "/") + "/")
		if err != nil || base.Host == "" {
			return nil, fmt.Errorf("GITHUB_API_URL %q is not a URL", apiURL)
		}
		c.BaseURL = base
	}
	c.UserAgent = "apigate-action"
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Client{gh: c, owner: owner, repo: repo, log: log,
		attempts: 4, base: time.Second, maxWait: 30 * time.Second}, nil
}

// DefaultRequestTimeout bounds one API request, answer included: a hanging API costs one
// timeout per attempt, and the caller's context bounds the attempts together.
const DefaultRequestTimeout = 20 * time.Second

// SetRequestTimeout changes the bound on one request; tests use it to keep hangs short.
// go-github keeps its own copy of the http.Client, so the copy is replaced.
func (c *Client) SetRequestTimeout(d time.Duration) {
	hc := c.gh.Client() // a copy, transport and token included
	hc.Timeout = d
	base, upload, agent := c.gh.BaseURL, c.gh.UploadURL, c.gh.UserAgent
	c.gh = gh.NewClient(hc)
	c.gh.BaseURL, c.gh.UploadURL, c.gh.UserAgent = base, upload, agent
}

// SetRetry changes the retry policy; tests use it to keep waits short.
func (c *Client) SetRetry(attempts int, base, maxWait time.Duration) {
	c.attempts, c.base, c.maxWait = attempts, base, maxWait
}

// do runs call until it succeeds, fails permanently, or runs out of attempts. Transient
// failures are 5xx answers, 429, the secondary rate limit (403 with its documentation URL)
// and transport errors; everything else is returned at once.
func (c *Client) do(ctx context.Context, what string, call func() (*gh.Response, error)) error {
	var err error
	for i := 0; i < c.attempts; i++ {
		var resp *gh.Response
		resp, err = call()
		if err == nil {
			return nil
		}
		wait, transient := c.retryAfter(ctx, resp, err, i)
		if !transient || i == c.attempts-1 {
			break
		}
		c.log.Warn("github: transient failure, retrying", "call", what, "wait", wait, "err", err)
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %w", what, ctx.Err())
		case <-time.After(wait):
		}
	}
	return fmt.Errorf("%s: %w", what, err)
}

func (c *Client) retryAfter(ctx context.Context, resp *gh.Response, err error,
	attempt int) (time.Duration, bool) {
	backoff := min(c.base<<attempt, c.maxWait)
	var abuse *gh.AbuseRateLimitError
	if errors.As(err, &abuse) {
		if abuse.RetryAfter != nil && *abuse.RetryAfter > 0 {
			return min(*abuse.RetryAfter, c.maxWait), true
		}
		return backoff, true
	}
	var rate *gh.RateLimitError
	if errors.As(err, &rate) {
		// The primary limit resets within the hour; waiting that long is not bounded.
		return 0, false
	}
	if errors.As(err, new(*gh.AcceptedError)) {
		return 0, false
	}
	if resp == nil || resp.Response == nil {
		// A transport error (connection refused, reset, a request's own timeout): worth
		// another try, unless the whole publishing phase is over. A per-request timeout
		// also reads as context.DeadlineExceeded, so the caller's context decides.
		return backoff, ctx.Err() == nil
	}
	code := resp.StatusCode
	if code == http.StatusTooManyRequests || code >= 500 {
		if s := resp.Header.Get("Retry-After"); s != "" {
			if n, perr := strconv.Atoi(s); perr == nil && n >= 0 {
				return min(time.Duration(n)*time.Second, c.maxWait), true
			}
		}
		return backoff, true
	}
	return 0, false
}

// StatusOf returns the HTTP status of a failed call, 0 when it had none.
func StatusOf(err error) int {
	var er *gh.ErrorResponse
	if errors.As(err, &er) && er.Response != nil {
		return er.Response.StatusCode
	}
	var rl *gh.RateLimitError
	if errors.As(err, &rl) && rl.Response != nil {
		return rl.Response.StatusCode
	}
	var ab *gh.AbuseRateLimitError
	if errors.As(err, &ab) && ab.Response != nil {
		return ab.Response.StatusCode
	}
	return 0
}

// IsNotPermitted says the token may not do this write: 403 "Resource not accessible by
// integration" (a read-only GITHUB_TOKEN, as on fork pull requests, or a missing
// permissions: entry) or 404 for a resource the token cannot see.
func IsNotPermitted(err error) bool {
	var er *gh.ErrorResponse
	if !errors.As(err, &er) || er.Response == nil {
		return false
	}
	switch er.Response.StatusCode {
	case http.StatusForbidden:
		return true
	case http.StatusNotFound, http.StatusUnauthorized:
		return true
	}
	return false
}
