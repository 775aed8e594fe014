package probes

import (
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

// shopAPI has users with a profile and orders; each flaw lets one server-owned field
// through.
type shopAPI struct {
	storeRole   bool // PATCH /me stores role and is_admin
	echoOnly    bool // PATCH /me echoes every field but stores none of them
	storePrice  bool // POST /orders stores price
	storeOwner  bool // PATCH /orders/{id} stores owner_id
	storeStatus bool // POST /orders stores status

	mu     sync.Mutex
	users  map[string]map[string]any
	orders map[string]map[string]any
	next   int
}

func (a *shopAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.users == nil {
		a.users = map[string]map[string]any{
			"alice": {"id": 1, "username": "alice", "display_name": "Alice", "role": "user", "is_admin": false},
			"bob":   {"id": 2, "username": "bob", "display_name": "Bob", "role": "user", "is_admin": false},
		}
		a.orders = map[string]map[string]any{}
	}
	w.Header().Set("Content-Type", "application/json")
	me := a.users[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer tok-")]
	if me == nil {
		w.WriteHeader(401)
		return
	}
	var body map[string]any
	if r.Body != nil {
		_ = json.NewDecoder(r.Body).Decode(&body)
	}
	switch {
	case r.URL.Path == "/me" && r.Method == http.MethodGet:
		_ = json.NewEncoder(w).Encode(me)
	case r.URL.Path == "/me" && r.Method == http.MethodPatch:
		echo := cloneMap(me)
		for k, v := range body {
			echo[k] = v
			if k == "display_name" || a.storeRole && (k == "role" || k == "is_admin") {
				me[k] = v
			}
		}
		if a.echoOnly {
			_ = json.NewEncoder(w).Encode(echo)
			return
		}
		_ = json.NewEncoder(w).Encode(me)
	case r.URL.Path == "/orders" && r.Method == http.MethodPost:
		a.next++
		o := map[string]any{"id": a.next, "owner_id": me["id"], "item": body["item"], "price": 9.5, "status": "pending"}
		if a.storePrice && body["price"] != nil {
			o["price"] = body["price"]
		}
		if a.storeStatus && body["status"] != nil {
			o["status"] = body["status"]
		}
		a.orders[fmt.Sprint(a.next)] = o
		w.WriteHeader(201)
		_ = json.NewEncoder(w).Encode(o)
	case strings.HasPrefix(r.URL.Path, "/orders/"):
		o := a.orders[strings.TrimPrefix(r.URL.Path, "/orders/")]
		if o == nil || fmt.Sprint(o["owner_id"]) != fmt.Sprint(me["id"]) {
			w.WriteHeader(404)
			return
		}
		switch r.Method {
		case http.MethodGet:
			_ = json.NewEncoder(w).Encode(o)
		case http.MethodPatch:
			for k, v := range body {
				if k == "item" || a.storeOwner && k == "owner_id" {
					o[k] = v
				}
			}
			_ = json.NewEncoder(w).Encode(o)
		case http.MethodDelete:
			delete(a.orders, strings.TrimPrefix(r.URL.Path, "/orders/"))
			w.WriteHeader(204)
		}
	default:
		w.WriteHeader(404)
	}
}

func shopSession(t *testing.T, api *shopAPI, roleWritable bool) *Session {
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	ops := testOps("!GET /me", "!PATCH /me", "!POST /orders", "!GET /orders/{id}",
		"!PATCH /orders/{id}", "!DELETE /orders/{id}")
	user := &target.Schema{Type: "object", Properties: map[string]*target.Schema{
		"id": {Type: "integer", ReadOnly: true}, "display_name": {Type: "string"},
		"role": {Type: "string", Enum: []any{"user", "admin"}, ReadOnly: !roleWritable},
	}}
	ops[0].Response, ops[1].RequestBody = user, user
	order := &target.Schema{Type: "object", Properties: map[string]*target.Schema{
		"id": {Type: "integer", ReadOnly: true}, "owner_id": {Type: "integer", ReadOnly: true},
		"item": {Type: "string"}, "price": {Type: "number", ReadOnly: true},
		"status": {Type: "string", Enum: []any{"pending", "paid"}, ReadOnly: true},
	}}
	ops[2].RequestBody, ops[3].Response, ops[4].RequestBody = order, order, order
	ids := []*target.Identity{bearer("alice", "tok-alice"), bearer("bob", "tok-bob")}
	return newTestSession(t, srv.URL, &target.Target{Operations: ops, Identities: ids})
}

func TestMassAssignment(t *testing.T) {
	cases := []struct {
		name         string
		api          *shopAPI
		roleWritable bool
		want         map[string]string // rule -> field named in the title
	}{
		{"nothing stored", &shopAPI{}, false, nil},
		{"echo without storing is not a finding", &shopAPI{echoOnly: true}, false, nil},
		{"role documented as writable is by design", &shopAPI{storeRole: true}, true,
			map[string]string{"mass-assignment-privilege": "is_admin"}},
		{"profile stores role and is_admin", &shopAPI{storeRole: true}, false,
			map[string]string{"mass-assignment-privilege": "role"}},
		{"order create stores price", &shopAPI{storePrice: true}, false,
			map[string]string{"mass-assignment-financial": "price"}},
		{"order update stores owner_id", &shopAPI{storeOwner: true}, false,
			map[string]string{"mass-assignment-ownership": "owner_id"}},
		{"order create stores status", &shopAPI{storeStatus: true}, false,
			map[string]string{"mass-assignment-property": "status"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := shopSession(t, c.api, c.roleWritable)
			v := runTestProbe(t, NewMassAssignment(), s)
			if c.want == nil {
				wantStatus(t, v, finding.StatusPass)
				return
			}
			wantStatus(t, v, finding.StatusFail)
			for rule, field := range c.want {
				found := false
				for _, f := range v.Findings {
					if f.Rule == rule && strings.Contains(f.Title, `"`+field+`"`) {
						found = true
					}
				}
				if !found {
					t.Errorf("no %s finding for %s: %v (%s)", rule, field, titles(v), v.Reason)
				}
			}
			for _, f := range v.Findings {
				if c.roleWritable && strings.Contains(f.Title, `"role"`) {
					t.Errorf("writable-by-design role reported: %s", f.Title)
				}
			}
		})
	}
}

// TestMassAssignmentRestoresAndCleansUp: injected values are put back; the order an update
// finding's PATCH line points at stays (restored, marked with the canary) so the line
// reproduces after the scan, and every other order the probe created is deleted.
func TestMassAssignmentRestoresAndCleansUp(t *testing.T) {
	api := &shopAPI{storeRole: true, storeOwner: true}
	v := runTestProbe(t, NewMassAssignment(), shopSession(t, api, false))
	alice := api.users["alice"]
	if alice["role"] != "user" || alice["is_admin"] != false {
		t.Errorf("profile not restored: %v", alice)
	}
	if len(api.orders) != 1 {
		t.Fatalf("orders left: %v, want only the one the owner_id finding cites", api.orders)
	}
	for id, o := range api.orders {
		if !strings.HasPrefix(fmt.Sprint(o["item"]), testCanary) || fmt.Sprint(o["owner_id"]) != "1" {
			t.Errorf("kept order %s is not the restored canary order: %v", id, o)
		}
		found := false
		for _, f := range v.Findings {
			if strings.Contains(f.Curl, "/orders/"+id) {
				found = strings.Contains(f.Evidence.Detail, "left in place")
			}
		}
		if !found {
			t.Errorf("no finding cites order %s and says it was left in place", id)
		}
	}

	// A create finding's POST line makes its own object: nothing is kept for it.
	api = &shopAPI{storePrice: true}
	v = runTestProbe(t, NewMassAssignment(), shopSession(t, api, false))
	if len(v.Findings) == 0 {
		t.Fatalf("price on create not found: %s", v.Reason)
	}
	if len(api.orders) != 0 {
		t.Errorf("orders left behind: %v", api.orders)
	}
}

func TestMassAssignmentAdminMayChangeRoles(t *testing.T) {
	api := &shopAPI{storeRole: true}
	s := shopSession(t, api, false)
	api.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/me", nil)) // seed users
	api.users["alice"]["role"] = "admin"
	v := runTestProbe(t, NewMassAssignment(), s)
	if hasRule(v, "mass-assignment-privilege") {
		t.Errorf("an administrator changing roles was reported: %v", titles(v))
	}
	if !strings.Contains(v.Reason, "administrator") {
		t.Errorf("reason does not say why role fields were skipped: %s", v.Reason)
	}
}

func TestMassAssignmentNeedsIdentity(t *testing.T) {
	srv := httptest.NewServer(&shopAPI{})
	t.Cleanup(srv.Close)
	s := newTestSession(t, srv.URL, &target.Target{Operations: testOps("POST /orders", "GET /orders/{id}")})
	wantStatus(t, runTestProbe(t, NewMassAssignment(), s), finding.StatusNotTested)
}

func titles(v Verdict) []string {
	var out []string
	for _, f := range v.Findings {
		out = append(out, f.Rule+": "+f.Title)
	}
	return out
}
