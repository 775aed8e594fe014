package probes

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/apigate/apigate/internal/finding"
	"github.com/apigate/apigate/internal/target"
)

// testIdentity returns an identity with a bearer token and, when login is true, LoginInfo
// for POST /api/login.
func opsIdentity(name string, login bool) *target.Identity {
	tok := "tok-" + name + "-0123456789"
	id := target.NewIdentity(name, target.Credentials{
		Headers: http.Header{"Authorization": {"Bearer " + tok}}, Token: tok,
	}, nil)
	if login {
		id.Login = &target.LoginInfo{Method: http.MethodPost, Path: "/api/login",
			Body:          map[string]any{"username": name, "password": name + "-Passw0rd"},
			PasswordField: "password", UsernameField: "username"}
	}
	return id
}

// rlServer answers GET /api/items and POST /api/login. items is called with the count
// of item requests so far (1-based) and the request; login with the count of logins.
func rlServer(items func(n int, w http.ResponseWriter, r *http.Request),
	login func(n int, w http.ResponseWriter, r *http.Request)) *httptest.Server {
	var mu sync.Mutex
	var ni, nl int
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case r.Method == http.MethodPost && r.URL.Path == "/api/login":
			nl++
			login(nl, w, r)
		case strings.EqualFold(strings.TrimSuffix(r.URL.Path, "/"), "/api/items"):
			ni++
			items(ni, w, r)
		default:
			http.NotFound(w, r)
		}
	}))
}

func rlOKItems(_ int, w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprint(w, `[{"id":1,"name":"widget"}]`)
}

func rlWrongPassword(_ int, w http.ResponseWriter, _ *http.Request) {
	w.WriteHeader(http.StatusUnauthorized)
	fmt.Fprint(w, `{"error":"invalid credentials"}`)
}

func rlThrottleAfter(limit int, retryAfter string) func(int, http.ResponseWriter, *http.Request) {
	return func(n int, w http.ResponseWriter, r *http.Request) {
		if n > limit {
			if retryAfter != "" {
				w.Header().Set("Retry-After", retryAfter)
			}
			w.WriteHeader(http.StatusTooManyRequests)
			fmt.Fprint(w, `{"error":"too many requests"}`)
			return
		}
		rlOKItems(n, w, r)
	}
}

var rlItemsOps = []*target.Operation{
	{Method: "GET", Path: "/api/items", Security: target.SecurityRequired},
	{Method: "POST", Path: "/api/login", Security: target.SecurityNone},
}

func TestRateLimit(t *testing.T) {
	cases := []struct {
		name       string
		items      func(int, http.ResponseWriter, *http.Request)
		login      func(int, http.ResponseWriter, *http.Request)
		ids        []*target.Identity
		ops        []*target.Operation
		want       finding.Status
		rules      []string // rule IDs expected, in any order
		reasonHas  string
		wantSevLow bool
	}{
		{
			name:  "no limit anywhere fires the burst and brute-force rules",
			items: rlOKItems, login: rlWrongPassword,
			ids: []*target.Identity{opsIdentity("alice", true)}, ops: rlItemsOps,
			want: finding.StatusFail, rules: []string{"rate-limit-missing", "rate-limit-login-brute-force"},
			reasonHas: "no throttling observed at 30 requests",
		},
		{
			name:  "429 with Retry-After and a login lockout pass",
			items: rlThrottleAfter(12, "30"),
			login: func(n int, w http.ResponseWriter, r *http.Request) {
				if n > 5 {
					w.WriteHeader(http.StatusLocked)
					fmt.Fprint(w, `{"error":"account locked"}`)
					return
				}
				rlWrongPassword(n, w, r)
			},
			ids: []*target.Identity{opsIdentity("alice", true)}, ops: rlItemsOps,
			want: finding.StatusPass, reasonHas: "locked out at attempt 6",
		},
		{
			name: "limit keyed on X-Forwarded-For is a bypass",
			items: func() func(int, http.ResponseWriter, *http.Request) {
				per := map[string]int{}
				return func(n int, w http.ResponseWriter, r *http.Request) {
					key := r.Header.Get("X-Forwarded-For")
					per[key]++
					rlThrottleAfter(10, "60")(per[key], w, r)
				}
			}(),
			login: func(n int, w http.ResponseWriter, r *http.Request) {
				rlThrottleAfter(3, "60")(n, w, r)
			},
			ids: []*target.Identity{opsIdentity("alice", true)}, ops: rlItemsOps,
			want: finding.StatusFail, rules: []string{"rate-limit-bypass"},
			reasonHas: "bypassed with X-Forwarded-For",
		},
		{
			name:  "login lockout counted per X-Forwarded-For is a bypass",
			items: rlThrottleAfter(12, "30"),
			login: func() func(int, http.ResponseWriter, *http.Request) {
				per := map[string]int{}
				return func(n int, w http.ResponseWriter, r *http.Request) {
					key := r.Header.Get("X-Forwarded-For")
					per[key]++
					if per[key] > 5 {
						w.WriteHeader(http.StatusTooManyRequests)
						return
					}
					rlWrongPassword(n, w, r)
				}
			}(),
			ids: []*target.Identity{opsIdentity("alice", true)}, ops: rlItemsOps,
			want: finding.StatusFail, rules: []string{"rate-limit-bypass"},
			reasonHas: "at attempt 6, but bypassed with X-Forwarded-For",
		},
		{
			name:  "login refused from the first attempt but served with a forged IP is a bypass",
			items: rlThrottleAfter(12, "30"),
			login: func(n int, w http.ResponseWriter, r *http.Request) {
				if r.Header.Get("X-Forwarded-For") == "" {
					w.Header().Set("Retry-After", "300")
					w.WriteHeader(http.StatusTooManyRequests)
					return
				}
				rlWrongPassword(n, w, r)
			},
			ids: []*target.Identity{opsIdentity("alice", true)}, ops: rlItemsOps,
			want: finding.StatusFail, rules: []string{"rate-limit-bypass"},
			reasonHas: "at attempt 1 (already at the first attempt: earlier failed logins in " +
				"this scan or a general limit had used up the quota, so the login limit's size " +
				"was not measured), but bypassed with X-Forwarded-For",
		},
		{
			name:  "lockout of existing accounts only reveals usernames",
			items: rlThrottleAfter(12, "30"),
			login: rlLockPerUser(func(user string) bool { return user == "alice" }),
			ids:   []*target.Identity{opsIdentity("alice", true)}, ops: rlItemsOps,
			want: finding.StatusFail, rules: []string{"rate-limit-lockout-enumeration"},
			reasonHas: "applies only to existing accounts",
		},
		{
			name:  "trap: lockout per submitted username, existing or not, reveals nothing",
			items: rlThrottleAfter(12, "30"),
			login: rlLockPerUser(func(string) bool { return true }),
			ids:   []*target.Identity{opsIdentity("alice", true)}, ops: rlItemsOps,
			want: finding.StatusPass, reasonHas: "an unknown username locks the same way",
		},
		{
			name: "trap: a catch-all page for path variants is no bypass",
			items: func(n int, w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/api/items" {
					fmt.Fprint(w, "<html><body>app shell</body></html>")
					return
				}
				rlThrottleAfter(10, "60")(n, w, r)
			},
			login: rlLockPerUser(func(string) bool { return true }),
			ids:   []*target.Identity{opsIdentity("alice", true)}, ops: rlItemsOps,
			want: finding.StatusPass, reasonHas: "no bypass with X-Forwarded-For",
		},
		{
			name:  "trap: a login that starts answering plain 503 is inconclusive, not unlimited",
			items: rlThrottleAfter(12, "30"),
			login: func(n int, w http.ResponseWriter, r *http.Request) {
				if n > 6 {
					w.WriteHeader(http.StatusServiceUnavailable)
					return
				}
				rlWrongPassword(n, w, r)
			},
			ids: []*target.Identity{opsIdentity("alice", true)}, ops: rlItemsOps,
			want: finding.StatusInconclusive, reasonHas: "changed from HTTP 401 (last HTTP 503)",
		},
		{
			name: "trap: limit above the burst but advertised with decreasing remaining passes",
			items: func(n int, w http.ResponseWriter, r *http.Request) {
				w.Header().Set("RateLimit-Policy", `"hourly";q=1000;w=3600`)
				w.Header().Set("RateLimit", fmt.Sprintf(`"hourly";r=%d;t=3000`, 1000-n))
				rlOKItems(n, w, r)
			},
			login: func(n int, w http.ResponseWriter, r *http.Request) {
				w.Header().Set("X-RateLimit-Limit", "100")
				w.Header().Set("X-RateLimit-Remaining", fmt.Sprint(100-n))
				rlWrongPassword(n, w, r)
			},
			ids: []*target.Identity{opsIdentity("alice", true)}, ops: rlItemsOps,
			want: finding.StatusPass, reasonHas: "to 969 (RateLimit (draft-11) \"hourly\" limit=1000 window=3600s",
		},
		{
			name: "trap: plain 503 without Retry-After is inconclusive",
			items: func(n int, w http.ResponseWriter, r *http.Request) {
				if n > 8 {
					w.WriteHeader(http.StatusServiceUnavailable)
					return
				}
				rlOKItems(n, w, r)
			},
			ids: nil, ops: rlItemsOps[:1],
			want: finding.StatusInconclusive, reasonHas: "503 without Retry-After",
		},
		{
			name:  "a 429 with a malformed Retry-After is reported",
			items: rlThrottleAfter(5, "in a while"),
			ids:   nil, ops: rlItemsOps[:1],
			want: finding.StatusFail, rules: []string{"rate-limit-retry-after-invalid"},
		},
		{
			name:  "login from the API description with a canary user, lockout message on 403",
			items: rlThrottleAfter(3, "1"),
			login: func(n int, w http.ResponseWriter, r *http.Request) {
				if n > 4 {
					w.WriteHeader(http.StatusForbidden)
					fmt.Fprint(w, `{"error":"too many failed attempts, try again later"}`)
					return
				}
				rlWrongPassword(n, w, r)
			},
			ops: []*target.Operation{rlItemsOps[0], {Method: "POST", Path: "/api/login",
				Security: target.SecurityNone, RequestBody: &target.Schema{Type: "object",
					Properties: map[string]*target.Schema{"email": {Type: "string"}, "password": {Type: "string"}}}}},
			want: finding.StatusPass, reasonHas: "for a canary username locked out at attempt 5",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			login := c.login
			if login == nil {
				login = rlWrongPassword
			}
			srv := rlServer(c.items, login)
			defer srv.Close()
			s := newTestSession(t, srv.URL, &target.Target{Operations: c.ops, Identities: c.ids,
				Options: target.Options{Burst: 30}})
			v := NewRateLimit().Run(context.Background(), s)
			if v.Status != c.want {
				t.Fatalf("status %s, want %s: %s", v.Status, c.want, v.Reason)
			}
			if c.reasonHas != "" && !strings.Contains(v.Reason, c.reasonHas) {
				t.Errorf("reason %q lacks %q", v.Reason, c.reasonHas)
			}
			got := map[string]bool{}
			for _, f := range v.Findings {
				got[f.Rule] = true
				if f.Curl == "" || f.Evidence.Request == "" {
					t.Errorf("finding %s lacks evidence: %+v", f.Rule, f)
				}
				if strings.Contains(f.Curl, "tok-alice") || strings.Contains(f.Evidence.Excerpt, "Passw0rd") {
					t.Errorf("finding %s leaks a secret: %s", f.Rule, f.Curl)
				}
			}
			for _, r := range c.rules {
				if !got[r] {
					t.Errorf("missing finding %s; got %v", r, got)
				}
			}
			if len(got) != len(c.rules) {
				t.Errorf("findings %v, want exactly %v", got, c.rules)
			}
		})
	}
}

func TestRateLimitFindingWording(t *testing.T) {
	srv := rlServer(rlOKItems, rlWrongPassword)
	defer srv.Close()
	s := newTestSession(t, srv.URL, &target.Target{Operations: rlItemsOps,
		Identities: []*target.Identity{opsIdentity("alice", true)},
		Options:    target.Options{Burst: 20, LoginAttempts: 7}})
	v := NewRateLimit().Run(context.Background(), s)
	for _, f := range v.Findings {
		switch f.Rule {
		case "rate-limit-missing":
			if f.Severity != finding.SeverityLow || !strings.Contains(f.Title, "not observed") &&
				!strings.Contains(f.Title, "No rate limit observed at 20 requests") {
				t.Errorf("burst finding: %s %q", f.Severity, f.Title)
			}
		case "rate-limit-login-brute-force":
			if f.Severity != finding.SeverityMedium || !strings.Contains(f.Title, "7 failed logins") ||
				f.Path != "/api/login" || f.CWE[0] != "CWE-307" {
				t.Errorf("login finding: %s %q %s %v", f.Severity, f.Title, f.Path, f.CWE)
			}
		}
	}
	if len(v.Findings) != 2 {
		t.Fatalf("want 2 findings, got %d: %s", len(v.Findings), v.Reason)
	}
}

func TestRateLimitIsLateAfterLogging(t *testing.T) {
	rl, ok1 := NewRateLimit().(Late)
	lg, ok2 := NewLogging().(Late)
	if !ok1 || !ok2 || rl.Late() != 2 || lg.Late() != 1 {
		t.Fatal("rate-limit must be Late 2 and logging Late 1")
	}
}

// rlLockPerUser locks a username after 4 failures when counts(user) says it is counted.
func rlLockPerUser(counts func(user string) bool) func(int, http.ResponseWriter, *http.Request) {
	per := map[string]int{}
	return func(n int, w http.ResponseWriter, r *http.Request) {
		var body struct{ Username string }
		_ = json.NewDecoder(r.Body).Decode(&body)
		if counts(body.Username) {
			per[body.Username]++
			if per[body.Username] > 4 {
				w.Header().Set("Retry-After", "300")
				w.WriteHeader(http.StatusTooManyRequests)
				return
			}
		}
		rlWrongPassword(n, w, r)
	}
}

// Limits added to v2 and missing on v1 are a bypass; a v1 that does not exist is not.
func TestRateLimitVersionDowngrade(t *testing.T) {
	for _, v1Live := range []bool{true, false} {
		var mu sync.Mutex
		n := 0
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			defer mu.Unlock()
			switch r.URL.Path {
			case "/api/v2/items":
				n++
				rlThrottleAfter(8, "60")(n, w, r)
			case "/api/v1/items":
				if v1Live {
					rlOKItems(0, w, r)
					return
				}
				http.NotFound(w, r)
			default:
				http.NotFound(w, r)
			}
		}))
		s := newTestSession(t, srv.URL, &target.Target{Options: target.Options{Burst: 20},
			Operations: []*target.Operation{{Method: "GET", Path: "/api/v2/items"}}})
		v := NewRateLimit().Run(context.Background(), s)
		srv.Close()
		bypassed := len(v.Findings) == 1 && v.Findings[0].Rule == "rate-limit-bypass" &&
			strings.Contains(v.Findings[0].Title, "older API version")
		if bypassed != v1Live {
			t.Errorf("v1 live %v: %s %s (%d findings)", v1Live, v.Status, v.Reason, len(v.Findings))
		}
	}
}
