package httpx

import "errors"

// take reserves one request of the scan's budget. A refused request is given back at once,
// so Sent counts only requests that went out, and it is counted as refused, in the scope
// and for the whole scan, so a check whose requests were refused can never pass.
func (c *Client) take() error {
	if c.shared.sent.Add(1) > c.shared.budget {
		c.shared.sent.Add(-1)
		c.shared.refused.Add(1)
		c.stats.Refused.Add(1)
		return ErrBudget
	}
	c.stats.Requests.Add(1)
	return nil
}

// blocked records a request to a host outside the allow-list: nothing was sent, which is a
// probe bug, and the check it belongs to must not pass on it.
func (c *Client) blocked() {
	c.stats.Blocked.Add(1)
}

// failed records a request that went out and met a transport error.
func (c *Client) failed() {
	c.stats.Errors.Add(1)
	c.shared.failed.Add(1)
}

// Budget is the scan's request budget.
func (c *Client) Budget() int64 { return c.shared.budget }

// Remaining is how many requests the budget still allows.
func (c *Client) Remaining() int64 { return max(0, c.shared.budget-c.shared.sent.Load()) }

// Refused is the number of requests of the whole scan the budget refused (not sent).
func (c *Client) Refused() int64 { return c.shared.refused.Load() }

// Failed is the number of requests of the whole scan that went out and met a transport
// error: a reset, a timeout, a body cut short.
func (c *Client) Failed() int64 { return c.shared.failed.Load() }

// IsFatal reports whether err means that repeating the request cannot help: the budget is
// spent or the host is not allowed. Loops that send many requests stop on it at once
// instead of spinning through refusals.
func IsFatal(err error) bool {
	return errors.Is(err, ErrBudget) || errors.Is(err, ErrHostNotAllowed)
}
