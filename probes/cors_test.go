package probes

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/apigate/apigate/internal/finding"
	"github.com/apigate/apigate/internal/target"
)

// corsServer answers JSON on every route and lets policy set the CORS headers for the
// request's Origin.
func corsServer(t *testing.T, policy func(h http.Header, r *http.Request, own string)) *httptest.Server {
	var own string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		policy(w.Header(), r, own)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	own = srv.URL
	t.Cleanup(srv.Close)
	return srv
}

func cookieIdentity() *target.Identity {
	return target.NewIdentity("alice", target.Credentials{
		Cookies: []*http.Cookie{{Name: "session", Value: "sess-alice-123"}},
	}, nil)
}

func TestCORS(t *testing.T) {
	reflect := func(creds bool) func(h http.Header, r *http.Request, _ string) {
		return func(h http.Header, r *http.Request, _ string) {
			if o := r.Header.Get("Origin"); o != "" {
				h.Set("Access-Control-Allow-Origin", o)
				h.Set("Vary", "Origin")
				if creds {
					h.Set("Access-Control-Allow-Credentials", "true")
				}
			}
		}
	}
	allowIf := func(ok func(origin, own string) bool, creds bool) func(h http.Header, r *http.Request, own string) {
		return func(h http.Header, r *http.Request, own string) {
			h.Set("Vary", "Origin")
			if o := r.Header.Get("Origin"); ok(o, own) {
				h.Set("Access-Control-Allow-Origin", o)
				if creds {
					h.Set("Access-Control-Allow-Credentials", "true")
				}
			}
		}
	}
	cases := []struct {
		name   string
		policy func(h http.Header, r *http.Request, own string)
		ids    []*target.Identity
		want   map[string]finding.Severity // "" map means pass
		reason string                      // substring the reason must contain
	}{
		{name: "reflected origin with credentials and cookie auth is high",
			policy: reflect(true), ids: []*target.Identity{cookieIdentity()},
			want: map[string]finding.Severity{RuleCORSReflected.ID: finding.SeverityHigh,
				RuleCORSNull.ID: finding.SeverityHigh}},
		{name: "reflected origin with credentials on a bearer API is lowered to medium",
			policy: reflect(true), ids: []*target.Identity{bearer("alice", "tok-alice-123")},
			want: map[string]finding.Severity{RuleCORSReflected.ID: finding.SeverityMedium,
				RuleCORSNull.ID: finding.SeverityMedium}},
		{name: "reflected origin without credentials on public data is low",
			policy: reflect(false),
			want: map[string]finding.Severity{RuleCORSReflected.ID: finding.SeverityLow,
				RuleCORSNull.ID: finding.SeverityLow}},
		{name: "wildcard without credentials on a public catalogue passes",
			policy: func(h http.Header, _ *http.Request, _ string) {
				h.Set("Access-Control-Allow-Origin", "*")
			},
			reason: "Access-Control-Allow-Origin: *"},
		{name: "wildcard with credentials is a low misconfiguration",
			policy: func(h http.Header, _ *http.Request, _ string) {
				h.Set("Access-Control-Allow-Origin", "*")
				h.Set("Access-Control-Allow-Credentials", "true")
			},
			want: map[string]finding.Severity{RuleCORSWildcard.ID: finding.SeverityLow}},
		{name: "fixed allow-listed origin that does not echo passes",
			policy: func(h http.Header, _ *http.Request, _ string) {
				h.Set("Access-Control-Allow-Origin", "https://app.example.com")
				h.Set("Access-Control-Allow-Credentials", "true")
			}},
		{name: "null origin with credentials is high",
			policy: allowIf(func(o, _ string) bool { return o == "null" }, true),
			want:   map[string]finding.Severity{RuleCORSNull.ID: finding.SeverityHigh}},
		{name: "prefix allow-list is bypassed",
			policy: allowIf(func(o, own string) bool {
				return strings.HasPrefix(o, strings.Split(own, ":")[0]+":"+strings.Split(own, ":")[1])
			}, true),
			want: map[string]finding.Severity{RuleCORSBypass.ID: finding.SeverityHigh}},
		{name: "suffix allow-list is bypassed",
			policy: allowIf(func(o, own string) bool {
				return strings.HasSuffix(o, strings.TrimPrefix(own, "http://"))
			}, false),
			want: map[string]finding.Severity{RuleCORSBypass.ID: finding.SeverityLow}},
		{name: "exact allow-list of the own origin with Vary passes",
			policy: allowIf(func(o, own string) bool { return o == own }, true)},
		{name: "a fixed ACAO of the own origin needs no Vary",
			policy: func(h http.Header, _ *http.Request, own string) {
				h.Set("Access-Control-Allow-Origin", own)
			}},
		{name: "own origin allowed dynamically without Vary fires vary",
			policy: func(h http.Header, r *http.Request, own string) {
				if r.Header.Get("Origin") == own {
					h.Set("Access-Control-Allow-Origin", own)
				}
			},
			want: map[string]finding.Severity{RuleCORSVary.ID: finding.SeverityLow}},
		{name: "origin trusted only in the preflight, echoing any header",
			policy: func(h http.Header, r *http.Request, _ string) {
				if r.Method == "OPTIONS" {
					h.Set("Access-Control-Allow-Origin", r.Header.Get("Origin"))
					h.Set("Access-Control-Allow-Methods", r.Header.Get("Access-Control-Request-Method"))
					h.Set("Access-Control-Allow-Headers", r.Header.Get("Access-Control-Request-Headers"))
				}
			},
			want: map[string]finding.Severity{
				RuleCORSReflected.ID: finding.SeverityLow,
				RuleCORSPreflight.ID: finding.SeverityInfo,
			}},
	}
	ops := []*target.Operation{
		{Method: "GET", Path: "/me", Security: target.SecurityRequired},
		{Method: "GET", Path: "/catalog", Security: target.SecurityNone},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := corsServer(t, tc.policy)
			s := newTestSession(t, srv.URL, &target.Target{Operations: ops, Identities: tc.ids})
			v := NewCORS().Run(context.Background(), s)
			got := map[string]finding.Severity{}
			for _, f := range v.Findings {
				got[f.Rule] = f.Severity
			}
			if len(tc.want) == 0 && v.Status != finding.StatusPass {
				t.Fatalf("status %s, findings %v (%s), want pass", v.Status, got, v.Reason)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("findings %v, want %v (%s)", got, tc.want, v.Reason)
			}
			for r, sev := range tc.want {
				if got[r] != sev {
					t.Errorf("%s severity %v, want %v", r, got[r], sev)
				}
			}
			if tc.reason != "" && !strings.Contains(v.Reason, tc.reason) {
				t.Errorf("reason %q lacks %q", v.Reason, tc.reason)
			}
		})
	}
}

// TestCORSReflectedOnlyWithoutCredentials covers a CORS layer that answers the unauthenticated
// (401) response of a protected route with the attacker's origin.
func TestCORSReflectedOnlyWithoutCredentials(t *testing.T) {
	srv := corsServer(t, func(h http.Header, r *http.Request, _ string) {
		if r.Header.Get("Authorization") == "" {
			if o := r.Header.Get("Origin"); o != "" {
				h.Set("Access-Control-Allow-Origin", o)
				h.Set("Vary", "Origin")
			}
		}
	})
	s := newTestSession(t, srv.URL, &target.Target{
		Operations: []*target.Operation{{Method: "GET", Path: "/me", Security: target.SecurityRequired}},
		Identities: []*target.Identity{bearer("alice", "tok-alice-123")},
	})
	v := NewCORS().Run(context.Background(), s)
	if v.Status != finding.StatusFail || v.Findings[0].Rule != RuleCORSReflected.ID {
		t.Fatalf("status %s %v (%s), want a reflected-origin finding", v.Status, v.Findings, v.Reason)
	}
	if !strings.Contains(v.Findings[0].Evidence.Detail, "without credentials") {
		t.Errorf("detail %q does not say the request had no credentials", v.Findings[0].Evidence.Detail)
	}
}
