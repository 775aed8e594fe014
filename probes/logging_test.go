package probes

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apigate/apigate/internal/finding"
	"github.com/apigate/apigate/internal/target"
)

// memLogs is a LogSource fed by the test server, split at newlines as a collector would.
type memLogs struct {
	mu    sync.Mutex
	lines []target.LogLine
}

func (m *memLogs) write(text string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, l := range strings.Split(text, "\n") {
		m.lines = append(m.lines, target.LogLine{Time: time.Now(), Service: "api", Text: l})
	}
}

func (m *memLogs) Logs(_ context.Context, since time.Time) ([]target.LogLine, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []target.LogLine
	for _, l := range m.lines {
		if !l.Time.Before(since) {
			out = append(out, l)
		}
	}
	return out, nil
}

// logStyle decides what the test API writes for one request: req is the request, body its
// raw body, status the answer.
type logStyle func(l *memLogs, r *http.Request, body []byte, status int)

// logServer is an API with a login (alice's password is "right"), a protected GET
// /api/orders/{id}, a POST /api/orders owned by alice, and a log written by style.
func logServer(style logStyle) (*httptest.Server, *memLogs) {
	logs := &memLogs{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		status := http.StatusOK
		var reply any = map[string]any{"ok": true}
		auth := r.Header.Get("Authorization")
		who := strings.TrimPrefix(strings.TrimPrefix(auth, "Bearer tok-"), "")
		who, _, _ = strings.Cut(who, "-")
		switch {
		case r.URL.Path == "/api/login":
			var m map[string]any
			_ = json.Unmarshal(body, &m)
			if m["password"] != "right" {
				status, reply = http.StatusUnauthorized, map[string]any{"error": "bad login"}
			}
		case !strings.HasPrefix(auth, "Bearer tok-"):
			status, reply = http.StatusUnauthorized, map[string]any{"error": "no token"}
		case r.Method == http.MethodPost && r.URL.Path == "/api/orders":
			status, reply = http.StatusCreated, map[string]any{"id": 7, "owner": who}
		case r.URL.Path == "/api/orders/7" && who != "alice":
			status, reply = http.StatusNotFound, map[string]any{"error": "not found"}
		}
		if style != nil {
			style(logs, r, body, status)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(reply)
	}))
	return srv, logs
}

var logOps = []*target.Operation{
	{Method: "POST", Path: "/api/login", Security: target.SecurityNone},
	{Method: "GET", Path: "/api/orders/{id}", Security: target.SecurityRequired},
	{Method: "POST", Path: "/api/orders", Security: target.SecurityRequired,
		RequestBody: &target.Schema{Type: "object", Properties: map[string]*target.Schema{
			"note": {Type: "string"}, "quantity": {Type: "integer"}}}},
}

// jsonEvents is a well-behaved logger: JSON, request id, OWASP event names, no secrets.
func jsonEvents(l *memLogs, r *http.Request, body []byte, status int) {
	ev := map[string]any{"path": r.URL.Path, "status": status, "request_id": r.Header.Get("X-Request-ID")}
	switch {
	case r.URL.Path == "/api/login" && status == 401:
		var m map[string]any
		_ = json.Unmarshal(body, &m)
		ev["event"], ev["user"] = "authn_login_fail", m["username"] // JSON escapes CR/LF
	case status == 401:
		ev["event"] = "authn_token_invalid"
		ev["authorization"] = "Bearer ****"
	case status == 404:
		ev["event"] = "authz_fail"
	default:
		ev["event"] = "http_request"
	}
	b, _ := json.Marshal(ev)
	l.write(string(b))
}

// accessOnly writes only an access-log line with the request id and status.
func accessOnly(l *memLogs, r *http.Request, _ []byte, status int) {
	l.write(fmt.Sprintf(`127.0.0.1 - - "%s %s" %d rid=%s`, r.Method, r.URL.Path, status,
		r.Header.Get("X-Request-ID")))
}

// leaky logs each request with its raw Authorization header and body, and never a failure;
// the username is written raw, so CR/LF forges a line.
func leaky(l *memLogs, r *http.Request, body []byte, _ int) {
	l.write(fmt.Sprintf("INFO request %s %s authorization=%q body=%s", r.Method, r.URL.Path,
		r.Header.Get("Authorization"), body))
	if r.URL.Path == "/api/login" {
		var m map[string]any
		_ = json.Unmarshal(body, &m)
		l.write(fmt.Sprintf("INFO login attempt user=%v", m["username"]))
	}
}

func TestLogging(t *testing.T) {
	defer func(d time.Duration) { logFlushWait = d }(logFlushWait)
	logFlushWait = 300 * time.Millisecond
	cases := []struct {
		name   string
		style  logStyle
		ids    int
		noLogs bool
		want   finding.Status
		rules  []string
		reason string
	}{
		{
			name: "trap: JSON events with the request id on 401 and a masked token pass", style: jsonEvents, ids: 2,
			want: finding.StatusPass, reason: "all 5 provoked auth failures (3 failed login, 1 invalid token, 1 forbidden object) are logged as events",
		},
		{
			name: "access-log lines only are partial but pass", style: accessOnly, ids: 2,
			want: finding.StatusPass, reason: "partial",
		},
		{
			name: "raw Authorization and bodies, no failures and CR/LF forgery all fire", style: leaky, ids: 2,
			want: finding.StatusFail,
			rules: []string{"logging-auth-failure-unlogged", "logging-auth-failure-unlogged",
				"logging-auth-failure-unlogged", "logging-injection", "logging-secret-in-logs",
				"logging-secret-in-logs", "logging-secret-in-logs"},
		},
		{
			name: "secrets logged base64-encoded are found",
			style: func(l *memLogs, r *http.Request, body []byte, status int) {
				jsonEvents(l, r, body, status)
				l.write("DEBUG auth header b64=" + base64.StdEncoding.EncodeToString([]byte(
					strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))))
			},
			ids: 1, want: finding.StatusFail, rules: []string{"logging-secret-in-logs"},
		},
		{
			name: "empty logs are inconclusive, not a finding", style: nil, ids: 1,
			want: finding.StatusInconclusive, reason: "writes nothing to stdout/stderr",
		},
		{
			name: "no log access is not tested", style: jsonEvents, ids: 1, noLogs: true,
			want: finding.StatusNotTested, reason: "no access to the service's logs",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv, logs := logServer(c.style)
			defer srv.Close()
			ids := []*target.Identity{opsIdentity("alice", true), opsIdentity("bob", true)}[:c.ids]
			tg := &target.Target{Operations: logOps, Identities: ids}
			if !c.noLogs {
				tg.Logs = logs
			}
			s := newTestSession(t, srv.URL, tg)
			v := NewLogging().Run(context.Background(), s)
			if v.Status != c.want {
				t.Fatalf("status %s, want %s: %s", v.Status, c.want, v.Reason)
			}
			if c.reason != "" && !strings.Contains(v.Reason, c.reason) {
				t.Errorf("reason %q lacks %q", v.Reason, c.reason)
			}
			var got []string
			for _, f := range v.Findings {
				got = append(got, f.Rule)
				for _, leak := range []string{"Cnry-" + testCanary, "cnry." + testCanary,
					testCardNumber, "right"} {
					all := f.Title + f.Curl + f.Evidence.Excerpt + f.Evidence.Detail + f.Evidence.Request
					if strings.Contains(all, leak) && leak != "right" {
						t.Errorf("finding %s leaks %q: %s", f.Rule, leak, all)
					}
				}
			}
			sort.Strings(got)
			if strings.Join(got, ",") != strings.Join(c.rules, ",") {
				t.Errorf("findings %v, want %v; reason %s", got, c.rules, v.Reason)
				for _, f := range v.Findings {
					t.Logf("  %s %s: %s | %s", f.Rule, f.Severity, f.Title, f.Evidence.Excerpt)
				}
			}
		})
	}
}

func TestLoggingSecretExcerptIsRedacted(t *testing.T) {
	defer func(d time.Duration) { logFlushWait = d }(logFlushWait)
	logFlushWait = 300 * time.Millisecond
	srv, logs := logServer(leaky)
	defer srv.Close()
	s := newTestSession(t, srv.URL, &target.Target{Operations: logOps, Logs: logs,
		Identities: []*target.Identity{opsIdentity("alice", true)}})
	v := NewLogging().Run(context.Background(), s)
	seen := map[string]bool{}
	for _, f := range v.Findings {
		if f.Rule != "logging-secret-in-logs" {
			continue
		}
		seen[f.Severity.String()] = true
		if !strings.Contains(f.Evidence.Excerpt, "[redacted:") {
			t.Errorf("excerpt not redacted: %s", f.Evidence.Excerpt)
		}
	}
	if !seen["high"] {
		t.Errorf("no high-severity secret finding: %v", v.Findings)
	}
}

func TestContainsIDAndStatus(t *testing.T) {
	if containsID("rid=x-12", "x-1") || !containsID("rid=x-1 rid=x-12", "x-12") || !containsID("x-1", "x-1") {
		t.Error("containsID matches inside a longer id")
	}
	for text, want := range map[string]bool{
		`"status":401}`: true, "status=401 ": true, `" 401 12`: true,
		"2026-12-04T16:04:01.401Z": false, "port 40123": false, "id=1401": false,
	} {
		if hasStatus(text, 401) != want {
			t.Errorf("hasStatus(%q) != %v", text, want)
		}
	}
}

// FuzzLogJudge runs the log matching on arbitrary lines: no panic, bounded work.
func FuzzLogJudge(f *testing.F) {
	f.Add(`{"event":"authn_login_fail","request_id":"x-1","status":401}`, "x-1")
	f.Add("INFO login attempt user=a\r\nauthn_login_success", "")
	f.Add(`{"a":[[[[[[[[[[{"b":"Q25yeQ=="}]]]]]]]]]]}`, "1")
	f.Fuzz(func(t *testing.T, line, id string) {
		ls := prepareLines([]target.LogLine{{Text: line}})
		_ = containsID(ls[0].search, id)
		_ = hasStatus(ls[0].search, 401)
		_ = hasFailureWord(ls[0].search)
	})
}

// TestLoggingIgnoresThrottledLogins puts a limiter in front of the login that answers 429
// to everything, as the vulnerable demo's shared limiter does once earlier checks used it
// up. No login was attempted, so no "unlogged failed login" may be reported; the invalid
// token and the forbidden read still count, and the leaked password is still a leak.
func TestLoggingIgnoresThrottledLogins(t *testing.T) {
	defer func(d time.Duration) { logFlushWait = d }(logFlushWait)
	logFlushWait = 300 * time.Millisecond
	api, logs := logServer(leaky)
	defer api.Close()
	up, _ := url.Parse(api.URL)
	proxy := httputil.NewSingleHostReverseProxy(up)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/login" {
			body, _ := io.ReadAll(r.Body)
			leaky(logs, r, body, http.StatusTooManyRequests)
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	defer srv.Close()
	s := newTestSession(t, srv.URL, &target.Target{Operations: logOps, Logs: logs,
		Identities: []*target.Identity{opsIdentity("alice", true), opsIdentity("bob", true)}})
	v := NewLogging().Run(context.Background(), s)
	kinds := map[string]bool{}
	for _, f := range v.Findings {
		if f.Rule != RuleLogAuthFailure.ID {
			continue
		}
		if f.Evidence.Status == http.StatusTooManyRequests {
			t.Errorf("unlogged-failure finding rests on a 429: %s (%s)", f.Title,
				f.Evidence.Excerpt)
		}
		kind, _, _ := strings.Cut(f.Evidence.Detail, " was refused")
		kinds[kind] = true
	}
	if !kinds["The invalid token"] || !kinds["The forbidden object"] || len(kinds) != 2 {
		t.Errorf("unlogged failures %v, want the invalid token and the forbidden object", kinds)
	}
	if !hasRule(v, RuleLogSecret.ID) {
		t.Errorf("the password logged from a throttled login is no longer reported: %v",
			rulesFired(v))
	}
	if !strings.Contains(v.Reason, "failed logins not tested: POST /api/login answered 429") {
		t.Errorf("reason does not say the logins were throttled: %s", v.Reason)
	}
}
