package demo

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// limiter counts events per key in fixed windows: at most quota events per window.
type limiter struct {
	name   string
	quota  int
	window time.Duration

	mu   sync.Mutex
	seen map[string]*windowCount
}

type windowCount struct {
	start time.Time
	count int
}

func newLimiter(name string, quota int, window time.Duration) *limiter {
	return &limiter{name: name, quota: quota, window: window, seen: map[string]*windowCount{}}
}

// state is a key's position in its window.
type state struct {
	remaining int
	reset     time.Duration
	exceeded  bool
}

// current returns the window of key, starting a new one when the old one is over.
func (l *limiter) current(key string, now time.Time) *windowCount {
	w, ok := l.seen[key]
	if !ok || now.Sub(w.start) >= l.window {
		if len(l.seen) > 10000 {
			l.prune(now)
		}
		w = &windowCount{start: now}
		l.seen[key] = w
	}
	return w
}

func (l *limiter) prune(now time.Time) {
	for k, w := range l.seen {
		if now.Sub(w.start) >= l.window {
			delete(l.seen, k)
		}
	}
}

func (l *limiter) stateOf(w *windowCount, now time.Time) state {
	return state{
		remaining: max(l.quota-w.count, 0),
		reset:     w.start.Add(l.window).Sub(now),
		exceeded:  w.count > l.quota,
	}
}

// take counts one event for key and says whether it is still within the quota.
func (l *limiter) take(key string) state {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	w := l.current(key, now)
	w.count++
	return l.stateOf(w, now)
}

// peek reports the state of key without counting; exceeded means the quota is used up.
func (l *limiter) peek(key string) state {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	st := l.stateOf(l.current(key, now), now)
	st.exceeded = st.remaining == 0
	return st
}

// reset forgets key (a successful login clears its failures).
func (l *limiter) reset(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.seen, key)
}

// setHeaders advertises the policy and the key's state with the IETF RateLimit fields
// (draft-ietf-httpapi-ratelimit-headers), and Retry-After when the quota is used up.
func (l *limiter) setHeaders(h http.Header, st state, limited bool) {
	secs := int(math.Ceil(st.reset.Seconds()))
	if secs < 1 {
		secs = 1
	}
	h.Set("RateLimit-Policy", fmt.Sprintf("%q;q=%d;w=%d", l.name, l.quota, int(l.window.Seconds())))
	h.Set("RateLimit", fmt.Sprintf("%q;r=%d;t=%d", l.name, st.remaining, secs))
	if limited {
		h.Set("Retry-After", strconv.Itoa(secs))
	}
}
