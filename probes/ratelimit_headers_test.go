package probes

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestParseRateLimit(t *testing.T) {
	cases := []struct {
		name   string
		header map[string]string
		ok     bool
		want   RateLimitState
	}{
		{
			name: "draft-11 list with its policy",
			header: map[string]string{
				"RateLimit":        `"default";r=50;t=30`,
				"RateLimit-Policy": `"default";q=100;w=60`,
			},
			ok:   true,
			want: RateLimitState{Form: RateLimitIETF11, Policy: "default", Limit: 100, Remaining: 50, Reset: 30, Window: 60},
		},
		{
			name: "draft-11 picks the policy with the least quota left",
			header: map[string]string{
				"RateLimit":        `"perhr";r=900;t=3000, "permin";r=3;t=20`,
				"RateLimit-Policy": `"permin";q=50;w=60, "perhr";q=1000;w=3600`,
			},
			ok:   true,
			want: RateLimitState{Form: RateLimitIETF11, Policy: "permin", Limit: 50, Remaining: 3, Reset: 20, Window: 60},
		},
		{
			name: "draft-11 with a partition key and a token name",
			header: map[string]string{
				"RateLimit":        `burst;r=7;pk=:AAECAw==:`,
				"RateLimit-Policy": `burst;q=10;qu="requests";w=1;pk=:AAECAw==:`,
			},
			ok:   true,
			want: RateLimitState{Form: RateLimitIETF11, Policy: "burst", Limit: 10, Remaining: 7, Reset: -1, Window: 1},
		},
		{
			name:   "draft-07 dictionary",
			header: map[string]string{"RateLimit": `limit=100, remaining=50, reset=30`},
			ok:     true,
			want:   RateLimitState{Form: RateLimitIETF07, Limit: 100, Remaining: 50, Reset: 30, Window: -1},
		},
		{
			name: "draft-06 separate fields",
			header: map[string]string{
				"RateLimit-Limit": "100", "RateLimit-Remaining": "99", "RateLimit-Reset": "60",
				"RateLimit-Policy": "100;w=60",
			},
			ok:   true,
			want: RateLimitState{Form: RateLimitIETF06, Policy: "100;w=60", Limit: 100, Remaining: 99, Reset: 60, Window: 60},
		},
		{
			name:   "vendor X-RateLimit with epoch reset",
			header: map[string]string{"X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": "4999", "X-RateLimit-Reset": "1372700873"},
			ok:     true,
			want:   RateLimitState{Form: RateLimitVendor, Limit: 5000, Remaining: 4999, Reset: 1372700873, Window: -1},
		},
		{
			name:   "vendor X-Rate-Limit variant",
			header: map[string]string{"X-Rate-Limit-Limit": "60", "X-Rate-Limit-Remaining": "12"},
			ok:     true,
			want:   RateLimitState{Form: RateLimitVendor, Limit: 60, Remaining: 12, Reset: -1, Window: -1},
		},
		{name: "no headers", header: map[string]string{}, ok: false},
		{name: "garbage RateLimit is not a limit", header: map[string]string{"RateLimit": `";;;==`}, ok: false},
		{name: "negative remaining is not a limit", header: map[string]string{"RateLimit": `"a";r=-4`}, ok: false},
		{name: "non-numeric vendor values", header: map[string]string{"X-RateLimit-Limit": "lots"}, ok: false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := http.Header{}
			for k, v := range c.header {
				h.Set(k, v)
			}
			got, ok := ParseRateLimit(h)
			if ok != c.ok {
				t.Fatalf("ok = %v, want %v (%+v)", ok, c.ok, got)
			}
			if ok && got != c.want {
				t.Fatalf("got %+v\nwant %+v", got, c.want)
			}
		})
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		in   string
		ok   bool
		want time.Duration
	}{
		{"120", true, 120 * time.Second},
		{"0", true, 0},
		{"Fri, 04 Dec 2026 12:00:30 GMT", true, 30 * time.Second},
		{"Fri, 04 Dec 2026 11:00:00 GMT", true, 0}, // in the past: retry now
		{"Friday, 04-Dec-26 12:01:00 GMT", true, time.Minute},
		{"-5", false, 0},
		{"1.5", false, 0},
		{"soon", false, 0},
		{"99999999999999999999", false, 0},
		{"", false, 0},
	}
	for _, c := range cases {
		got, ok := ParseRetryAfter(c.in, now)
		if ok != c.ok || got != c.want {
			t.Errorf("ParseRetryAfter(%q) = %v, %v; want %v, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

func TestParseSFList(t *testing.T) {
	good := []string{
		`"a";q=1;w=2, "b";q=3`,
		`tok, ?1, 1.5, -7, :aGk=:, @1688169599, ("x" y);p`,
		`a;b;c=?0`,
	}
	for _, s := range good {
		if _, err := parseSFList(s); err != nil {
			t.Errorf("parseSFList(%q): %v", s, err)
		}
	}
	bad := []string{`"unterminated`, `a,`, `1.2345`, `1234567890123456`, `:not base64!:`,
		`("x"`, `a;B=1`, `"\q"`, strings.Repeat("a,", sfMaxMembers+1) + "a",
		strings.Repeat("x", sfMaxLen+1)}
	for _, s := range bad {
		if _, err := parseSFList(s); err == nil {
			t.Errorf("parseSFList(%.40q) accepted a malformed value", s)
		}
	}
}

// FuzzParseRateLimit feeds arbitrary header values to every rate-limit parser. They must not
// panic, and a parsed state must never report negative quota as known.
func FuzzParseRateLimit(f *testing.F) {
	f.Add(`"default";r=50;t=30`, `"default";q=100;w=60`, "", "")
	f.Add(`limit=100, remaining=50, reset=30`, "", "", "")
	f.Add("", "100;w=60", "100", "99")
	f.Add("", "", "5000, 100;w=60", "x")
	f.Add(`("a" "b");r=1, "c";r=2;t=?1`, `"c";q=-1;w=0`, "-1", "18446744073709551616")
	f.Fuzz(func(t *testing.T, rl, policy, limit, remaining string) {
		h := http.Header{}
		h.Set("RateLimit", rl)
		h.Set("RateLimit-Policy", policy)
		h.Set("RateLimit-Limit", limit)
		h.Set("X-RateLimit-Remaining", remaining)
		st, ok := ParseRateLimit(h)
		if ok && st.Remaining < -1 {
			t.Fatalf("negative remaining %d from %q", st.Remaining, rl)
		}
		_ = st.String()
		_, _ = ParseRetryAfter(rl, time.Unix(0, 0))
	})
}

// FuzzStructuredField runs the Structured Field reader on arbitrary input as a list, a
// dictionary and an item: no panic, and never more members than the bound.
func FuzzStructuredField(f *testing.F) {
	f.Add(`"a";q=1;w=2, ("b" c);d=?0, :AAEC:, @1688169599, -1.5`)
	f.Add(`limit=100, remaining=50;w=1, reset`)
	f.Add(`("unterminated`)
	f.Fuzz(func(t *testing.T, s string) {
		if items, err := parseSFList(s); err == nil && len(items) > sfMaxMembers {
			t.Fatalf("%d members", len(items))
		}
		if ms, err := parseSFDict(s); err == nil && len(ms) > sfMaxMembers {
			t.Fatalf("%d members", len(ms))
		}
		if it, err := parseSFItem(s); err == nil && len(it.Params) > sfMaxMembers {
			t.Fatalf("%d params", len(it.Params))
		}
	})
}
