package probes

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/apigate/apigate/internal/finding"
	"github.com/apigate/apigate/internal/target"
)

// errorAPI is a small API with one items resource. fail decides what a request that the
// API cannot handle returns; headers are set on every response.
func errorAPI(t *testing.T, headers map[string]string, fail func(w http.ResponseWriter, r *http.Request, body string) bool) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for k, v := range headers {
			w.Header().Set(k, v)
		}
		b, _ := io.ReadAll(r.Body)
		if fail != nil && fail(w, r, string(b)) {
			return
		}
		switch {
		case r.URL.Path == "/openapi.json":
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"info":{"description":"Errors never show a Traceback (most recent call last):\n  File \"x.py\", line 1"}}`)
		case r.URL.Path == "/items" || r.URL.Path == "/items/1":
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"id":1,"name":"pen","last_error":"none"}`)
		default:
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"title":"Not Found","status":404}`)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func errorOpsFixture() []*target.Operation {
	str := &target.Schema{Type: "string"}
	return []*target.Operation{
		{Method: "GET", Path: "/items", Security: target.SecurityNone,
			Params: []target.Param{{Name: "q", In: "query", Schema: str}}},
		{Method: "GET", Path: "/items/{id}", Security: target.SecurityNone,
			Params: []target.Param{{Name: "id", In: "path", Schema: &target.Schema{Type: "integer"}}}},
		{Method: "POST", Path: "/items", Security: target.SecurityNone,
			RequestBody: &target.Schema{Type: "object", Properties: map[string]*target.Schema{
				"name": str, "qty": {Type: "integer"}}}},
		{Method: "GET", Path: "/openapi.json", Security: target.SecurityNone},
	}
}

func TestSafeErrors(t *testing.T) {
	const pyTrace = "Traceback (most recent call last):\n  File \"/app/api.py\", line 42, in create\n    body = json.loads(raw)\njson.decoder.JSONDecodeError: Expecting value"
	cases := []struct {
		name    string
		headers map[string]string
		fail    func(w http.ResponseWriter, r *http.Request, body string) bool
		rule    string // "" means the check must pass
		sev     finding.Severity
	}{
		{name: "python traceback on malformed JSON fires",
			fail: func(w http.ResponseWriter, r *http.Request, body string) bool {
				if r.Method == "POST" && strings.HasPrefix(body, `{"apigate": `) {
					w.Header().Set("Content-Type", "text/plain")
					w.WriteHeader(500)
					_, _ = io.WriteString(w, pyTrace)
					return true
				}
				return false
			}, rule: RuleErrorsStackTrace.ID, sev: finding.SeverityMedium},
		{name: "postgres error on a quote in the query fires",
			fail: func(w http.ResponseWriter, r *http.Request, _ string) bool {
				if strings.Contains(r.URL.Query().Get("q"), "'") {
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(500)
					_, _ = io.WriteString(w, `{"error":"pq: syntax error at or near \"\"\")--\""}`)
					return true
				}
				return false
			}, rule: RuleErrorsSQL.ID, sev: finding.SeverityMedium},
		{name: "werkzeug debugger is critical and its traceback is not reported twice",
			fail: func(w http.ResponseWriter, r *http.Request, _ string) bool {
				if strings.Contains(r.URL.Path, "'") || strings.Contains(r.URL.RawPath, "%27") {
					w.Header().Set("Content-Type", "text/html")
					w.WriteHeader(500)
					_, _ = io.WriteString(w, `<title>ValueError // Werkzeug Debugger</title><script>var EVALEX = true;</script>`+
						"<textarea>Traceback (most recent call last):\n  File &#34;/app/app.py&#34;, line 9, in item</textarea>")
					return true
				}
				return false
			}, rule: RuleErrorsDebugConsole.ID, sev: finding.SeverityCritical},
		{name: "java stack trace on a very long query value fires",
			fail: func(w http.ResponseWriter, r *http.Request, _ string) bool {
				if len(r.URL.Query().Get("q")) > 4000 {
					w.Header().Set("Content-Type", "text/plain")
					w.WriteHeader(500)
					_, _ = io.WriteString(w, "java.lang.ArrayIndexOutOfBoundsException: 4096\n\tat com.shop.Search.run(Search.java:88)")
					return true
				}
				return false
			}, rule: RuleErrorsStackTrace.ID, sev: finding.SeverityMedium},
		{name: "problem+json 500 with a generic detail passes",
			fail: func(w http.ResponseWriter, r *http.Request, body string) bool {
				if r.Method == "POST" {
					w.Header().Set("Content-Type", "application/problem+json")
					w.WriteHeader(500)
					_, _ = io.WriteString(w, `{"type":"about:blank","title":"Internal Server Error","status":500,"detail":"An unexpected error occurred."}`)
					return true
				}
				return false
			}},
		{name: "trace already in the baseline is not blamed on the payload",
			fail: func(w http.ResponseWriter, r *http.Request, _ string) bool {
				if r.URL.Path == "/items" && r.Method == "GET" {
					w.Header().Set("Content-Type", "text/plain")
					_, _ = io.WriteString(w, "How-to article:\n"+pyTrace)
					return true
				}
				return false
			}},
		{name: "server header without a version passes",
			headers: map[string]string{"Server": "nginx"}},
		{name: "server header with a version fires low",
			headers: map[string]string{"Server": "nginx/1.25.3"},
			rule:    RuleErrorsVersionHeader.ID, sev: finding.SeverityLow},
		{name: "x-powered-by fires low",
			headers: map[string]string{"X-Powered-By": "Express"},
			rule:    RuleErrorsVersionHeader.ID, sev: finding.SeverityLow},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := errorAPI(t, tc.headers, tc.fail)
			s := newTestSession(t, srv.URL, &target.Target{Operations: errorOpsFixture()})
			v := NewSafeErrors().Run(context.Background(), s)
			if tc.rule == "" {
				if v.Status != finding.StatusPass {
					t.Fatalf("status %s with %d findings (%v), want pass", v.Status, len(v.Findings), v.Findings)
				}
				return
			}
			if v.Status != finding.StatusFail || len(v.Findings) == 0 {
				t.Fatalf("status %s (%s), want a %s finding", v.Status, v.Reason, tc.rule)
			}
			for _, f := range v.Findings {
				if f.Rule != tc.rule || f.Severity != tc.sev {
					t.Errorf("got %s/%v on %s, want %s/%v", f.Rule, f.Severity, f.Path, tc.rule, tc.sev)
				}
				if f.Evidence.Excerpt == "" || f.Curl == "" {
					t.Errorf("finding lacks evidence: %+v", f.Evidence)
				}
				if f.Path == "/openapi.json" {
					t.Errorf("a documentation route was judged")
				}
				if strings.Contains(f.Path, "%") || strings.Contains(f.Path, "apigate-") {
					t.Errorf("finding path %q is a payload, not an operation template", f.Path)
				}
			}
		})
	}
}

// TestSafeErrorsNeverRewritesCredentials checks that error triggers sent to an update of
// the identity's profile leave its e-mail and password fields out.
func TestSafeErrorsNeverRewritesCredentials(t *testing.T) {
	touched := ""
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.Method == "PATCH" && (strings.Contains(string(b), `"email"`) ||
			strings.Contains(string(b), `"password"`)) {
			touched = string(b)
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"ok":true}`)
	}))
	t.Cleanup(srv.Close)
	str := &target.Schema{Type: "string"}
	s := newTestSession(t, srv.URL, &target.Target{Operations: []*target.Operation{
		{Method: "PATCH", Path: "/me", Security: target.SecurityNone,
			RequestBody: &target.Schema{Type: "object", Properties: map[string]*target.Schema{
				"email": str, "password": str, "display_name": str}}},
	}})
	v := NewSafeErrors().Run(context.Background(), s)
	if v.Status != finding.StatusPass {
		t.Fatalf("status %s (%s), want pass", v.Status, v.Reason)
	}
	if touched != "" {
		t.Errorf("a PATCH carried a credential field: %s", touched)
	}
}

// TestSafeErrorsGrouping checks that one error handler leaking traces on every route is one
// finding listing the operations, while each route with a database error is its own
// injection point and its own finding.
func TestSafeErrorsGrouping(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "text/plain")
		switch {
		case r.Method == "POST" && !json.Valid(b):
			w.WriteHeader(500)
			_, _ = io.WriteString(w, "panic: bad body\n\ngoroutine 7 [running]:\nmain.create()\n\t/app/main.go:31 +0x1d")
		case strings.Contains(r.URL.RawQuery, "%27"):
			w.WriteHeader(500)
			_, _ = io.WriteString(w, `near "'": syntax error`)
		default:
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{}`)
		}
	}))
	t.Cleanup(srv.Close)
	str := &target.Schema{Type: "string"}
	body := &target.Schema{Type: "object", Properties: map[string]*target.Schema{"name": str}}
	q := []target.Param{{Name: "q", In: "query", Schema: str}}
	s := newTestSession(t, srv.URL, &target.Target{Operations: []*target.Operation{
		{Method: "POST", Path: "/a", Security: target.SecurityNone, RequestBody: body},
		{Method: "POST", Path: "/b", Security: target.SecurityNone, RequestBody: body},
		{Method: "GET", Path: "/c", Security: target.SecurityNone, Params: q},
		{Method: "GET", Path: "/d", Security: target.SecurityNone, Params: q},
	}})
	v := NewSafeErrors().Run(context.Background(), s)
	count := map[string]int{}
	for _, f := range v.Findings {
		count[f.Rule]++
		if f.Rule == RuleErrorsStackTrace.ID && !strings.Contains(f.Evidence.Detail, "POST /b") {
			t.Errorf("the grouped trace finding does not list POST /b: %s", f.Evidence.Detail)
		}
	}
	if count[RuleErrorsStackTrace.ID] != 1 || count[RuleErrorsSQL.ID] != 2 {
		t.Errorf("findings per rule %v, want one stack trace and two SQL errors", count)
	}
}
