package probes

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Rate-limit header forms, oldest last. Servers in the wild send every one of them.
const (
	// RateLimitIETF11 is draft-ietf-httpapi-ratelimit-headers -08 and later: RateLimit and
	// RateLimit-Policy as Structured-Field lists of named items with q/w/r/t/pk parameters.
	RateLimitIETF11 = "RateLimit (draft-11)"
	// RateLimitIETF07 is draft -07: one dictionary, "RateLimit: limit=100, remaining=50, reset=30".
	RateLimitIETF07 = "RateLimit (draft-07)"
	// RateLimitIETF06 is drafts up to -06: RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset.
	RateLimitIETF06 = "RateLimit-* (draft-06)"
	// RateLimitVendor is the X-RateLimit-* and X-Rate-Limit-* vendor headers.
	RateLimitVendor = "X-RateLimit-*"
)

// RateLimitState is what one response advertises about its rate limit, whatever header form
// it used. Unknown numbers are -1.
type RateLimitState struct {
	Form      string
	Policy    string // the policy's name or the raw policy text, for reports
	Limit     int64  // quota in the window
	Remaining int64  // quota left
	Reset     int64  // seconds until the window resets (vendor headers may send epoch seconds)
	Window    int64  // window length in seconds
}

// String renders the state for a verdict's reason, e.g.
// `RateLimit (draft-11) "default" limit=100 window=60s remaining=50`.
func (r RateLimitState) String() string {
	var b strings.Builder
	b.WriteString(r.Form)
	if r.Policy != "" {
		fmt.Fprintf(&b, " %q", Truncate(r.Policy, 60))
	}
	if r.Limit >= 0 {
		fmt.Fprintf(&b, " limit=%d", r.Limit)
	}
	if r.Window >= 0 {
		fmt.Fprintf(&b, " window=%ds", r.Window)
	}
	if r.Remaining >= 0 {
		fmt.Fprintf(&b, " remaining=%d", r.Remaining)
	}
	return b.String()
}

// ParseRateLimit reads the rate-limit headers of a response. ok is false when the response
// advertises no usable limit. It never panics and reads a bounded prefix of each header.
func ParseRateLimit(h http.Header) (RateLimitState, bool) {
	if h == nil {
		return RateLimitState{}, false
	}
	if rl := h.Get("RateLimit"); rl != "" {
		if st, ok := parseIETF11(rl, h.Get("RateLimit-Policy")); ok {
			return st, true
		}
		if st, ok := parseIETF07(rl); ok {
			return st, true
		}
	}
	for _, f := range []struct{ form, prefix string }{
		{RateLimitIETF06, "RateLimit-"},
		{RateLimitVendor, "X-RateLimit-"},
		{RateLimitVendor, "X-Rate-Limit-"},
	} {
		st := RateLimitState{Form: f.form, Limit: -1, Remaining: -1, Reset: -1, Window: -1}
		st.Limit = leadingInt(h.Get(f.prefix + "Limit"))
		st.Remaining = leadingInt(h.Get(f.prefix + "Remaining"))
		st.Reset = leadingInt(h.Get(f.prefix + "Reset"))
		if f.form == RateLimitIETF06 {
			if pol := h.Get("RateLimit-Policy"); pol != "" {
				st.Policy = Truncate(pol, 80)
				if items, err := parseSFList(pol); err == nil && len(items) > 0 {
					if w, ok := items[0].IntParam("w"); ok && w > 0 {
						st.Window = w
					}
				}
			}
		}
		if st.Limit >= 0 || st.Remaining >= 0 {
			return st, true
		}
	}
	return RateLimitState{}, false
}

// parseIETF11 reads `RateLimit: "default";r=50;t=30` with its RateLimit-Policy. When several
// limits apply, the one with the least quota left is reported: it is the one that bites.
func parseIETF11(rl, policy string) (RateLimitState, bool) {
	items, err := parseSFList(rl)
	if err != nil {
		return RateLimitState{}, false
	}
	st := RateLimitState{Form: RateLimitIETF11, Limit: -1, Remaining: -1, Reset: -1, Window: -1}
	found := false
	for _, it := range items {
		name, ok := it.Name()
		r, okR := it.IntParam("r")
		if !ok || !okR || r < 0 {
			continue
		}
		if found && r >= st.Remaining {
			continue
		}
		found = true
		st.Policy, st.Remaining, st.Reset = name, r, -1
		if t, ok := it.IntParam("t"); ok && t >= 0 {
			st.Reset = t
		}
	}
	if !found {
		return RateLimitState{}, false
	}
	if pols, err := parseSFList(policy); err == nil {
		for _, p := range pols {
			if name, ok := p.Name(); !ok || name != st.Policy {
				continue
			}
			if q, ok := p.IntParam("q"); ok && q >= 0 {
				st.Limit = q
			}
			if w, ok := p.IntParam("w"); ok && w > 0 {
				st.Window = w
			}
		}
	}
	return st, true
}

// parseIETF07 reads the draft-07 dictionary `limit=100, remaining=50, reset=30`.
func parseIETF07(rl string) (RateLimitState, bool) {
	members, err := parseSFDict(rl)
	if err != nil {
		return RateLimitState{}, false
	}
	st := RateLimitState{Form: RateLimitIETF07, Limit: -1, Remaining: -1, Reset: -1, Window: -1}
	for _, m := range members {
		n, ok := m.Item.Value.(int64)
		if !ok || n < 0 {
			continue
		}
		switch m.Key {
		case "limit":
			st.Limit = n
			if w, ok := m.Item.IntParam("w"); ok && w > 0 {
				st.Window = w
			}
		case "remaining":
			st.Remaining = n
		case "reset":
			st.Reset = n
		}
	}
	if st.Remaining < 0 {
		return RateLimitState{}, false
	}
	return st, true
}

// leadingInt reads the non-negative integer a header value starts with ("100",
// "100, 100;w=60", "1.5" gives 1), or -1.
func leadingInt(v string) int64 {
	v = strings.TrimSpace(v)
	end := 0
	for end < len(v) && end < 18 && v[end] >= '0' && v[end] <= '9' {
		end++
	}
	if end == 0 {
		return -1
	}
	n, err := strconv.ParseInt(v[:end], 10, 64)
	if err != nil {
		return -1
	}
	return n
}

// maxRetryAfterDigits bounds delay-seconds: ten digits are three centuries.
const maxRetryAfterDigits = 10

// ParseRetryAfter reads a Retry-After value (RFC 9110 10.2.3): delay-seconds or an
// HTTP-date. It returns the delay from now (never negative) and whether the value is valid.
func ParseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" || len(v) > 64 {
		return 0, false
	}
	if v[0] >= '0' && v[0] <= '9' {
		if len(v) > maxRetryAfterDigits {
			return 0, false
		}
		for i := 0; i < len(v); i++ {
			if v[i] < '0' || v[i] > '9' {
				return 0, false
			}
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, false
		}
		return time.Duration(n) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	d := t.Sub(now)
	if d < 0 {
		d = 0
	}
	return d, true
}
