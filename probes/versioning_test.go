package probes

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/apigate/apigate/internal/finding"
	"github.com/apigate/apigate/internal/target"
)

const verV2Items = `[{"id":1,"name":"widget","owner":"alice"}]`

// authed answers body to requests with the test bearer token and 401 to others.
func verAuthed(body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer tok-") {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"error":"unauthorized"}`)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		fmt.Fprint(w, body)
	}
}

func verOpen(body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, body)
	}
}

func verWithHeaders(h map[string]string, next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for k, v := range h {
			w.Header().Set(k, v)
		}
		next(w, r)
	}
}

func verRoutes(m map[string]http.HandlerFunc) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h, ok := m[r.URL.Path]; ok {
			h(w, r)
			return
		}
		if h, ok := m["*"]; ok {
			h(w, r)
			return
		}
		http.NotFound(w, r)
	}))
}

var verV2Op = &target.Operation{Method: "GET", Path: "/api/v2/items", Security: target.SecurityRequired}

func TestVersioning(t *testing.T) {
	future := time.Now().Add(90 * 24 * time.Hour).UTC().Format(http.TimeFormat)
	past := time.Now().Add(-60 * 24 * time.Hour).UTC().Format(http.TimeFormat)
	legacy := &target.Operation{Method: "GET", Path: "/api/legacy", Security: target.SecurityNone, Deprecated: true}
	cases := []struct {
		name   string
		routes map[string]http.HandlerFunc
		ops    []*target.Operation
		want   finding.Status
		rules  []string // expected rule IDs, sorted, one entry per finding
		sev    map[string]finding.Severity
		reason string
	}{
		{
			name: "undocumented v1 without auth and with a hash field is live and weaker",
			routes: map[string]http.HandlerFunc{
				"/api/v2/items": verAuthed(verV2Items),
				"/api/v1/items": verOpen(`[{"id":1,"name":"widget","owner":"alice","password_hash":"$2b$10$abc"}]`),
			},
			ops:  []*target.Operation{verV2Op},
			want: finding.StatusFail,
			rules: []string{"versioning-old-version-live", "versioning-old-version-weaker",
				"versioning-old-version-weaker", "versioning-old-version-weaker"},
			sev: map[string]finding.Severity{"versioning-old-version-live": finding.SeverityMedium},
		},
		{
			name: "trap: v1 answering 308 to v2 passes",
			routes: map[string]http.HandlerFunc{
				"/api/v2/items": verAuthed(verV2Items),
				"/api/v1/items": func(w http.ResponseWriter, r *http.Request) {
					http.Redirect(w, r, "/api/v2/items", http.StatusPermanentRedirect)
				},
			},
			ops: []*target.Operation{verV2Op}, want: finding.StatusPass,
			reason: "1 redirect,",
		},
		{
			name: "trap: a catch-all answering /v999/ like /v1/ is no old version",
			routes: map[string]http.HandlerFunc{
				"/api/v2/items": verAuthed(verV2Items),
				"*":             verOpen(`<html>app shell</html>`),
			},
			ops: []*target.Operation{verV2Op}, want: finding.StatusPass,
			reason: "1 indistinguishable from a version-999 control (catch-all), 0 unanswered; 0 of 4 shadow paths",
		},
		{
			name: "trap: an alias with the same auth behaviour is not a finding",
			routes: map[string]http.HandlerFunc{
				"/api/v2/items": verAuthed(verV2Items),
				"/api/v1/items": verAuthed(verV2Items),
			},
			ops: []*target.Operation{verV2Op}, want: finding.StatusPass,
			reason: "alias of GET /api/v2/items",
		},
		{
			name: "documented older version with a CORS hole is weaker, high with credentials",
			routes: map[string]http.HandlerFunc{
				"/api/v2/items": verAuthed(verV2Items),
				"/api/v1/items": func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Access-Control-Allow-Origin", r.Header.Get("Origin"))
					w.Header().Set("Access-Control-Allow-Credentials", "true")
					verAuthed(`{"items":[{"id":1}]}`)(w, r)
				},
			},
			ops: []*target.Operation{verV2Op, {Method: "GET", Path: "/api/v1/items",
				Security: target.SecurityRequired}},
			want:  finding.StatusFail,
			rules: []string{"versioning-old-version-weaker"},
			sev:   map[string]finding.Severity{"versioning-old-version-weaker": finding.SeverityHigh},
		},
		{
			name: "trap: RFC 9745 Deprecation with a later Sunset is valid",
			routes: map[string]http.HandlerFunc{"/api/legacy": verWithHeaders(map[string]string{
				"Deprecation": "@1688169599", "Sunset": future,
				"Link": `<https://docs.example/migrate>; rel="deprecation"; type="text/html"`,
			}, verOpen(`{"ok":true}`))},
			ops: []*target.Operation{legacy}, want: finding.StatusPass,
			reason: "announces its deprecation correctly",
		},
		{
			name:   "deprecated operation without a Deprecation header",
			routes: map[string]http.HandlerFunc{"/api/legacy": verOpen(`{"ok":true}`)},
			ops:    []*target.Operation{legacy}, want: finding.StatusFail,
			rules: []string{"versioning-deprecated-no-header"},
		},
		{
			name: "Sunset before Deprecation, already passed, still 200",
			routes: map[string]http.HandlerFunc{"/api/legacy": verWithHeaders(map[string]string{
				"Deprecation": fmt.Sprintf("@%d", time.Now().Unix()), "Sunset": past,
			}, verOpen(`{"ok":true}`))},
			ops: []*target.Operation{legacy}, want: finding.StatusFail,
			rules: []string{"versioning-sunset-before-deprecation", "versioning-sunset-passed"},
			sev:   map[string]finding.Severity{"versioning-sunset-passed": finding.SeverityMedium},
		},
		{
			name: "pre-RFC Deprecation true and a UTC Sunset are format notes",
			routes: map[string]http.HandlerFunc{"/api/legacy": verWithHeaders(map[string]string{
				"Deprecation": "true", "Sunset": strings.Replace(future, "GMT", "UTC", 1),
			}, verOpen(`{"ok":true}`))},
			ops: []*target.Operation{legacy}, want: finding.StatusFail,
			rules: []string{"versioning-header-format"},
			sev:   map[string]finding.Severity{"versioning-header-format": finding.SeverityInfo},
		},
		{
			name: "older value of an Api-Version header parameter without auth is weaker",
			routes: map[string]http.HandlerFunc{"/api/items": func(w http.ResponseWriter, r *http.Request) {
				if r.Header.Get("Api-Version") == "1" {
					verOpen(verV2Items)(w, r)
					return
				}
				verAuthed(verV2Items)(w, r)
			}},
			ops: []*target.Operation{{Method: "GET", Path: "/api/items", Security: target.SecurityRequired,
				Params: []target.Param{{Name: "Api-Version", In: "header",
					Schema: &target.Schema{Type: "string", Enum: []any{"2", "1"}}}}}},
			want:  finding.StatusFail,
			rules: []string{"versioning-old-version-weaker", "versioning-old-version-weaker"},
		},
		{
			name:   "trap: a version query parameter the API ignores is an alias, not a finding",
			routes: map[string]http.HandlerFunc{"/api/items": verAuthed(verV2Items)},
			ops: []*target.Operation{{Method: "GET", Path: "/api/items", Security: target.SecurityRequired,
				Params: []target.Param{{Name: "api-version", In: "query",
					Schema: &target.Schema{Type: "string", Example: "v3"}}}}},
			want: finding.StatusPass, reason: "GET /api/items?api-version=v2 is an alias",
		},
		{
			name: "a live undocumented shadow path is reported",
			routes: map[string]http.HandlerFunc{
				"/api/items":        verOpen(verV2Items),
				"/api/legacy/items": verOpen(`[{"id":1,"name":"widget","sku":"W-1"},{"id":2}]`),
			},
			ops:   []*target.Operation{{Method: "GET", Path: "/api/items", Security: target.SecurityNone, Deprecated: true}},
			want:  finding.StatusFail,
			rules: []string{"versioning-deprecated-no-header", "versioning-old-version-live"},
		},
		{
			name: "trap: a past Sunset on an endpoint that answers 410 is retired, not live",
			routes: map[string]http.HandlerFunc{"/api/legacy": func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Deprecation", "@1688169599")
				w.Header().Set("Sunset", past)
				w.WriteHeader(http.StatusGone)
			}},
			ops: []*target.Operation{legacy}, want: finding.StatusPass,
		},
		{
			name: "a Deprecation value that is not a date is a format note",
			routes: map[string]http.HandlerFunc{"/api/legacy": verWithHeaders(map[string]string{
				"Deprecation": "yes, soon"}, verOpen(`{"ok":true}`))},
			ops: []*target.Operation{legacy}, want: finding.StatusFail,
			rules: []string{"versioning-header-format"},
		},
		{
			name: "trap: a deprecated operation refused with 401 is not judged for its headers",
			routes: map[string]http.HandlerFunc{"/api/legacy": func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusUnauthorized)
			}},
			ops: []*target.Operation{{Method: "GET", Path: "/api/legacy", Deprecated: true,
				Security: target.SecurityRequired}},
			want: finding.StatusPass, reason: "1 refused (not judged)",
		},
		{
			name:   "no versioned or deprecated operation is not tested",
			routes: map[string]http.HandlerFunc{"/api/items": verOpen(`[]`)},
			ops:    []*target.Operation{{Method: "GET", Path: "/api/items"}},
			want:   finding.StatusNotTested,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := verRoutes(c.routes)
			defer srv.Close()
			s := newTestSession(t, srv.URL, &target.Target{Operations: c.ops,
				Identities: []*target.Identity{opsIdentity("alice", false)}})
			v := NewVersioning().Run(context.Background(), s)
			if v.Status != c.want {
				t.Fatalf("status %s, want %s: %s", v.Status, c.want, v.Reason)
			}
			if c.reason != "" && !strings.Contains(v.Reason, c.reason) {
				t.Errorf("reason %q lacks %q", v.Reason, c.reason)
			}
			var got []string
			fps := map[string]bool{}
			for _, f := range v.Findings {
				got = append(got, f.Rule)
				if want, ok := c.sev[f.Rule]; ok && f.Severity != want {
					t.Errorf("%s severity %s, want %s (%s)", f.Rule, f.Severity, want, f.Title)
				}
				if f.Fingerprint != "" {
					if fps[f.Fingerprint] {
						t.Errorf("duplicate fingerprint for %q", f.Title)
					}
					fps[f.Fingerprint] = true
				}
			}
			sort.Strings(got)
			if strings.Join(got, ",") != strings.Join(c.rules, ",") {
				t.Errorf("findings %v, want %v\nreason: %s", got, c.rules, v.Reason)
				for _, f := range v.Findings {
					t.Logf("  %s %s: %s", f.Rule, f.Severity, f.Title)
				}
			}
		})
	}
}

func TestOlderVersions(t *testing.T) {
	cases := []struct{ in, older, control string }{
		{"/api/v2/items", "/api/v1/items", "/api/v999/items"},
		{"/v3/users/{id}", "/v2/users/{id} /v1/users/{id}", "/v999/users/{id}"},
		{"/api/v2.0/orders", "/api/v1.0/orders", "/api/v999.0/orders"},
		{"/api/v1/items", "", ""},
		{"/api/items", "", ""},
	}
	for _, c := range cases {
		older, ctl, _ := olderVersions(c.in)
		if strings.Join(older, " ") != c.older || ctl != c.control {
			t.Errorf("olderVersions(%q) = %v, %q", c.in, older, ctl)
		}
	}
}

func TestOlderValue(t *testing.T) {
	cases := []struct{ in, older, control string }{
		{"2", "1", "999"}, {"v3", "v2", "v999"}, {"2.1", "1.0", "999.0"},
		{"application/vnd.shop.v2+json", "application/vnd.shop.v1+json", "application/vnd.shop.v999+json"},
		{"1", "", ""}, {"2024-01-01", "", ""}, {"latest", "", ""},
	}
	for _, c := range cases {
		older, ctl, _ := olderValue(c.in)
		if older != c.older || ctl != c.control {
			t.Errorf("olderValue(%q) = %q, %q", c.in, older, ctl)
		}
	}
}
