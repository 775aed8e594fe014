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

// bearer returns an identity that authenticates with a static bearer token.
func bearer(name, token string) *target.Identity {
	return target.NewIdentity(name, target.Credentials{
		Headers: http.Header{"Authorization": {"Bearer " + token}}, Token: token,
	}, nil)
}

// headerServer answers every GET with body and the given headers.
func headerServer(t *testing.T, status int, body string, h map[string]string) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for k, v := range h {
			w.Header()[k] = []string{v}
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestSecurityHeaders(t *testing.T) {
	good := map[string]string{
		"Content-Type": "application/json", "X-Content-Type-Options": "nosniff",
		"Cache-Control": "no-store",
	}
	with := func(k, v string) map[string]string {
		m := map[string]string{}
		for a, b := range good {
			m[a] = b
		}
		if v == "" {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	ops := []*target.Operation{
		{Method: "GET", Path: "/api/me", Security: target.SecurityRequired},
		{Method: "GET", Path: "/api/orders", Security: target.SecurityRequired},
		{Method: "GET", Path: "/api/catalog", Security: target.SecurityNone},
	}
	const js = `{"id":1,"name":"x","error_count":0}`
	cases := []struct {
		name    string
		status  int
		body    string
		headers map[string]string
		want    finding.Status
		rules   map[string]finding.Severity // rule -> severity of its single finding
	}{
		{name: "all headers present passes", status: 200, body: js, headers: good,
			want: finding.StatusPass},
		{name: "missing nosniff is one finding for all operations", status: 200, body: js,
			headers: with("X-Content-Type-Options", ""), want: finding.StatusFail,
			rules: map[string]finding.Severity{RuleHeadersNosniff.ID: finding.SeverityLow}},
		{name: "JSON served as text/html fires content type and framing", status: 200, body: js,
			headers: with("Content-Type", "text/html"), want: finding.StatusFail,
			rules: map[string]finding.Severity{
				RuleHeadersContentType.ID: finding.SeverityLow,
				RuleHeadersFraming.ID:     finding.SeverityLow,
			}},
		{name: "missing Content-Type fires", status: 200, body: js,
			headers: with("Content-Type", ""), want: finding.StatusFail,
			rules: map[string]finding.Severity{RuleHeadersContentType.ID: finding.SeverityLow}},
		{name: "authenticated response without no-store is low", status: 200, body: js,
			headers: with("Cache-Control", "max-age=600"), want: finding.StatusFail,
			rules: map[string]finding.Severity{RuleHeadersCache.ID: finding.SeverityLow}},
		{name: "private no-cache is only info", status: 200, body: js,
			headers: with("Cache-Control", "private, no-cache"), want: finding.StatusFail,
			rules: map[string]finding.Severity{RuleHeadersCache.ID: finding.SeverityInfo}},
		{name: "JSON without framing headers is not demanded them", status: 200, body: js,
			headers: with("X-Frame-Options", ""), want: finding.StatusPass},
		{name: "error responses without any header are not judged", status: 500,
			body: `{"error":"x"}`, headers: map[string]string{}, want: finding.StatusInconclusive},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := headerServer(t, tc.status, tc.body, tc.headers)
			s := newTestSession(t, srv.URL, &target.Target{
				Operations: ops, Identities: []*target.Identity{bearer("alice", "tok-alice-123")},
			})
			v := NewSecurityHeaders().Run(context.Background(), s)
			if v.Status != tc.want {
				t.Fatalf("status %s (%s), want %s", v.Status, v.Reason, tc.want)
			}
			got := map[string]finding.Severity{}
			for _, f := range v.Findings {
				if _, dup := got[f.Rule]; dup {
					t.Errorf("rule %s reported more than once", f.Rule)
				}
				got[f.Rule] = f.Severity
			}
			if len(got) != len(tc.rules) {
				t.Errorf("findings %v, want %v", got, tc.rules)
			}
			for r, sev := range tc.rules {
				if got[r] != sev {
					t.Errorf("rule %s severity %v, want %v", r, got[r], sev)
				}
			}
		})
	}
}

func TestSecurityHeadersPublicMayBeCached(t *testing.T) {
	srv := headerServer(t, 200, `{"items":[]}`, map[string]string{
		"Content-Type": "application/json", "X-Content-Type-Options": "nosniff",
	})
	s := newTestSession(t, srv.URL, &target.Target{
		Operations: []*target.Operation{{Method: "GET", Path: "/catalog", Security: target.SecurityNone}},
		Identities: []*target.Identity{bearer("alice", "tok-alice-123")},
	})
	v := NewSecurityHeaders().Run(context.Background(), s)
	if v.Status != finding.StatusPass {
		t.Fatalf("public data without Cache-Control: %s (%s), want pass", v.Status, v.Reason)
	}
}

func TestSecurityHeadersDetailListsOperations(t *testing.T) {
	srv := headerServer(t, 200, `{"a":1}`, map[string]string{"Content-Type": "application/json",
		"Cache-Control": "no-store"})
	s := newTestSession(t, srv.URL, &target.Target{Operations: []*target.Operation{
		{Method: "GET", Path: "/a", Security: target.SecurityNone},
		{Method: "GET", Path: "/b", Security: target.SecurityNone},
	}})
	v := NewSecurityHeaders().Run(context.Background(), s)
	if len(v.Findings) != 1 {
		t.Fatalf("want one aggregated finding, got %d", len(v.Findings))
	}
	d := v.Findings[0].Evidence.Detail
	if !strings.Contains(d, "GET /a") || !strings.Contains(d, "GET /b") {
		t.Errorf("detail %q does not list both operations", d)
	}
}
