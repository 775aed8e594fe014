package probes

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apigate/apigate/internal/finding"
	"github.com/apigate/apigate/internal/target"
)

// itemsAPI is a small items API: POST /items creates, GET /items/{id} reads. onCreate
// decides how a creation is handled; it returns false to fall through to the strict
// validator of the schema in itemOps.
type itemsAPI struct {
	mu       sync.Mutex
	items    map[string]map[string]any
	onCreate func(w http.ResponseWriter, raw []byte, ct string) bool
}

func (a *itemsAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	w.Header().Set("Content-Type", "application/json")
	if r.Method == "POST" && r.URL.Path == "/items" {
		if a.onCreate != nil && a.onCreate(w, raw, r.Header.Get("Content-Type")) {
			return
		}
		var m map[string]any
		if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
			w.WriteHeader(415)
			return
		}
		if err := json.Unmarshal(raw, &m); err != nil || !validItem(m) {
			w.WriteHeader(422)
			_, _ = io.WriteString(w, `{"error":"invalid item"}`)
			return
		}
		a.store(w, m)
		return
	}
	if r.Method == "GET" && strings.HasPrefix(r.URL.Path, "/items/") {
		a.mu.Lock()
		m, ok := a.items[strings.TrimPrefix(r.URL.Path, "/items/")]
		a.mu.Unlock()
		if !ok {
			w.WriteHeader(404)
			return
		}
		_ = json.NewEncoder(w).Encode(m)
		return
	}
	w.WriteHeader(404)
}

func (a *itemsAPI) store(w http.ResponseWriter, m map[string]any) {
	a.mu.Lock()
	id := fmt.Sprint(len(a.items) + 1)
	m["id"] = id
	a.items[id] = m
	a.mu.Unlock()
	w.WriteHeader(201)
	_ = json.NewEncoder(w).Encode(m)
}

func validItem(m map[string]any) bool {
	name, ok := m["name"].(string)
	if !ok || name == "" || len(name) > 40 || strings.ContainsAny(name, "\x00") {
		return false
	}
	qty, ok := m["qty"].(float64)
	if !ok || qty < 1 || qty > 100 || qty != float64(int64(qty)) {
		return false
	}
	for k := range m {
		if k != "name" && k != "qty" {
			return false
		}
	}
	return true
}

func itemOps() []*target.Operation {
	one, hundred, forty := 1.0, 100.0, 40
	return []*target.Operation{
		{Method: "POST", Path: "/items", Security: target.SecurityNone,
			RequestBody: &target.Schema{Type: "object", Required: []string{"name", "qty"},
				Properties: map[string]*target.Schema{
					"name": {Type: "string", MaxLength: &forty},
					"qty":  {Type: "integer", Minimum: &one, Maximum: &hundred},
				}}},
		{Method: "GET", Path: "/items/{id}", Security: target.SecurityNone,
			Params: []target.Param{{Name: "id", In: "path", Required: true,
				Schema: &target.Schema{Type: "string"}}}},
	}
}

func TestInputValidation(t *testing.T) {
	cases := []struct {
		name     string
		onCreate func(a *itemsAPI) func(w http.ResponseWriter, raw []byte, ct string) bool
		want     finding.Status
		rule     string
		sev      finding.Severity
	}{
		{name: "strict validation with 400/415/422 passes", want: finding.StatusPass},
		{name: "handler panic on a string quantity drops the connection",
			onCreate: func(*itemsAPI) func(http.ResponseWriter, []byte, string) bool {
				return func(_ http.ResponseWriter, raw []byte, _ string) bool {
					var m map[string]any
					if json.Unmarshal(raw, &m) == nil {
						if _, isStr := m["qty"].(string); isStr {
							panic("qty is not a number")
						}
					}
					return false
				}
			}, want: finding.StatusFail, rule: RuleInputServerError.ID, sev: finding.SeverityMedium},
		{name: "a connection dropped once and not again is not blamed on the payload",
			onCreate: func(*itemsAPI) func(http.ResponseWriter, []byte, string) bool {
				dropped := false
				return func(w http.ResponseWriter, raw []byte, _ string) bool {
					if !dropped && len(raw) > 0 && !json.Valid(raw) {
						dropped = true
						conn, _, err := http.NewResponseController(w).Hijack()
						if err == nil {
							conn.Close()
						}
						return true
					}
					return false
				}
			}, want: finding.StatusPass},
		{name: "500 on malformed JSON fires",
			onCreate: func(*itemsAPI) func(http.ResponseWriter, []byte, string) bool {
				return func(w http.ResponseWriter, raw []byte, _ string) bool {
					if len(raw) > 0 && !json.Valid(raw) {
						w.WriteHeader(500)
						_, _ = io.WriteString(w, `{"title":"Internal Server Error","status":500}`)
						return true
					}
					return false
				}
			}, want: finding.StatusFail, rule: RuleInputServerError.ID, sev: finding.SeverityMedium},
		{name: "out-of-range quantity stored and read back fires",
			onCreate: func(a *itemsAPI) func(http.ResponseWriter, []byte, string) bool {
				return func(w http.ResponseWriter, raw []byte, _ string) bool {
					var m map[string]any
					if json.Unmarshal(raw, &m) == nil {
						if q, ok := m["qty"].(float64); ok && q < 1 {
							a.store(w, m)
							return true
						}
					}
					return false
				}
			}, want: finding.StatusFail, rule: RuleInputAccepted.ID, sev: finding.SeverityMedium},
		{name: "2xx that silently drops the invalid value is not a finding",
			onCreate: func(a *itemsAPI) func(http.ResponseWriter, []byte, string) bool {
				return func(w http.ResponseWriter, raw []byte, _ string) bool {
					var m map[string]any
					if json.Unmarshal(raw, &m) == nil {
						if _, ok := m["qty"].(string); ok {
							a.store(w, map[string]any{"name": m["name"], "qty": 1})
							return true
						}
					}
					return false
				}
			}, want: finding.StatusPass},
		{name: "413 from a proxy, gateway 503 and 429 are not findings",
			onCreate: func(*itemsAPI) func(http.ResponseWriter, []byte, string) bool {
				n := 0
				return func(w http.ResponseWriter, raw []byte, _ string) bool {
					n++
					switch {
					case len(raw) > 32<<10:
						w.WriteHeader(413)
					case n%3 == 0:
						w.WriteHeader(503)
					case n%3 == 1 && n > 1:
						w.WriteHeader(429)
					default:
						return false
					}
					return true
				}
			}, want: finding.StatusPass},
		{name: "a baseline that fails is not blamed on the payloads",
			onCreate: func(*itemsAPI) func(http.ResponseWriter, []byte, string) bool {
				return func(w http.ResponseWriter, _ []byte, _ string) bool {
					w.WriteHeader(500)
					return true
				}
			}, want: finding.StatusPass},
		{name: "a 64 KB string that takes 10x the baseline is a DoS signal",
			onCreate: func(*itemsAPI) func(http.ResponseWriter, []byte, string) bool {
				return func(w http.ResponseWriter, raw []byte, _ string) bool {
					if len(raw) > 32<<10 {
						time.Sleep(700 * time.Millisecond)
						w.WriteHeader(422)
						return true
					}
					return false
				}
			}, want: finding.StatusFail, rule: RuleInputSlow.ID, sev: finding.SeverityMedium},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			api := &itemsAPI{items: map[string]map[string]any{}}
			if tc.onCreate != nil {
				api.onCreate = tc.onCreate(api)
			}
			srv := httptest.NewServer(api)
			srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the panic case is expected
			t.Cleanup(srv.Close)
			s := newTestSession(t, srv.URL, &target.Target{Operations: itemOps()})
			v := NewInputValidation().Run(context.Background(), s)
			if v.Status != tc.want {
				t.Fatalf("status %s (%s), %d findings, want %s", v.Status, v.Reason, len(v.Findings), tc.want)
			}
			if tc.rule == "" {
				return
			}
			if len(v.Findings) != 1 {
				t.Fatalf("%d findings, want one per operation and rule: %+v", len(v.Findings), v.Findings)
			}
			f := v.Findings[0]
			if f.Rule != tc.rule || f.Severity != tc.sev || f.Path != "/items" {
				t.Errorf("got %s/%v on %s, want %s/%v on /items", f.Rule, f.Severity, f.Path, tc.rule, tc.sev)
			}
			if f.Evidence.Detail == "" || f.Curl == "" {
				t.Errorf("finding lacks evidence: %+v", f)
			}
			t.Logf("%s | %s | %s", f.Evidence.Excerpt, f.Evidence.Detail, v.Reason)
		})
	}
}

// TestInputValidationLeavesTheProfileAsFound updates the identity's own profile through a
// lenient PATCH: the accepted invalid value is reported, the e-mail address is never
// touched, and the profile is put back as it was.
func TestInputValidationLeavesTheProfileAsFound(t *testing.T) {
	var mu sync.Mutex
	profile := map[string]any{"email": "alice@example.invalid", "display_name": "Alice"}
	emailChanged := false
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if r.Method == "PATCH" {
			var m map[string]any
			if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
				w.WriteHeader(400)
				return
			}
			for k, v := range m {
				if k == "email" && v != profile["email"] {
					emailChanged = true
				}
				profile[k] = v
			}
		}
		_ = json.NewEncoder(w).Encode(profile)
	}))
	t.Cleanup(srv.Close)
	sixtyFour := 64
	schema := &target.Schema{Type: "object", Properties: map[string]*target.Schema{
		"email":        {Type: "string", Format: "email"},
		"display_name": {Type: "string", MaxLength: &sixtyFour},
	}}
	s := newTestSession(t, srv.URL, &target.Target{
		Operations: []*target.Operation{
			{Method: "GET", Path: "/me", Security: target.SecurityRequired},
			{Method: "PATCH", Path: "/me", Security: target.SecurityRequired, RequestBody: schema},
		},
		Identities: []*target.Identity{bearer("alice", "tok-alice-123")},
	})
	v := NewInputValidation().Run(context.Background(), s)
	if v.Status != finding.StatusFail || v.Findings[0].Rule != RuleInputAccepted.ID {
		t.Fatalf("lenient PATCH: %s %v (%s), want an accepted-input finding", v.Status, v.Findings, v.Reason)
	}
	mu.Lock()
	defer mu.Unlock()
	if emailChanged {
		t.Error("the probe changed the identity's e-mail address")
	}
	if profile["display_name"] != "Alice" || profile["email"] != "alice@example.invalid" {
		t.Errorf("profile not restored: %v", profile)
	}
}

func TestStoredAs(t *testing.T) {
	flat := Flatten([]byte(`{"qty":0,"name":"12345","big":2147483648,"note":"x","f":1e6}`))
	cases := []struct {
		field string
		v     any
		want  bool
	}{
		{"qty", 0.0, true},
		{"qty", -1, false},
		{"big", int64(2147483648), true},
		{"f", 1000000, true},
		{"name", 12345, false}, // a number coerced to a string is lenient parsing
		{"note", "x", true},
		{"missing", "x", false},
	}
	for _, tc := range cases {
		if got := storedAs(flat, tc.field, tc.v); got != tc.want {
			t.Errorf("storedAs(%s, %v) = %v, want %v", tc.field, tc.v, got, tc.want)
		}
	}
}

func TestPickMutationsKeepsOversizedInputs(t *testing.T) {
	op := itemOps()[0]
	valid := map[string]any{"name": "pen", "qty": 1}
	all := bodyMutations(op, "/items", valid)
	for _, n := range []int{1, 4, maxMutationsPerOp} {
		picked := pickMutations(all, n)
		classes := map[string]bool{}
		kinds := map[string]bool{}
		for _, m := range picked {
			classes[m.class] = true
			if m.large {
				kinds[m.class] = true
			}
		}
		if !kinds["structure"] || !kinds["string"] {
			t.Errorf("cap %d: oversized kinds %v, want deep nesting and a long string", n, kinds)
		}
		if n >= 4 && len(classes) < 4 {
			t.Errorf("cap %d: classes %v, want structure, type, range and string", n, classes)
		}
	}
}

// TestInputValidationCatchAllIsInconclusive aims the probe at a server that answers 200
// with the same body to everything: nothing was rejected and nothing can be read back, so
// there is no evidence of validation either way.
func TestInputValidationCatchAllIsInconclusive(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"ok":true}`)
	}))
	t.Cleanup(srv.Close)
	s := newTestSession(t, srv.URL, &target.Target{Operations: itemOps()})
	v := NewInputValidation().Run(context.Background(), s)
	if v.Status != finding.StatusInconclusive || len(v.Findings) != 0 {
		t.Fatalf("catch-all: %s with %d findings (%s), want inconclusive", v.Status,
			len(v.Findings), v.Reason)
	}
	if !strings.Contains(v.Reason, "0 invalid requests were rejected") ||
		!strings.Contains(v.Reason, "no evidence that input is validated") {
		t.Errorf("reason does not say why: %s", v.Reason)
	}
}
