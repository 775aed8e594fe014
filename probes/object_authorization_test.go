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

// notesAPI keeps per-user notes behind bearer tokens "tok-<user>". Each flaw switches one
// ownership check off.
type notesAPI struct {
	readAny, writeAny, deleteAny bool
	ignoreID                     bool // GET /notes/{id} serves the caller's latest note
	softDelete                   bool // deleted notes stay readable
	genericOK                    bool // unknown ids give 200 {"note":null} like everything else
	listAll                      bool // GET /notes lists every user's notes
	bobAdmin                     bool // bob's /me says role admin

	mu      sync.Mutex
	next    int
	notes   map[string]map[string]any
	deleted map[string]bool
	latest  map[string]string
}

func (a *notesAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.notes == nil {
		a.notes, a.deleted, a.latest = map[string]map[string]any{}, map[string]bool{}, map[string]string{}
	}
	w.Header().Set("Content-Type", "application/json")
	user := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer tok-")
	if user == "" || user == r.Header.Get("Authorization") {
		w.WriteHeader(401)
		return
	}
	if r.URL.Path == "/me" {
		role := "user"
		if user == "bob" && a.bobAdmin {
			role = "admin"
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"id": user, "role": role})
		return
	}
	if r.URL.Path == "/notes" && r.Method == http.MethodGet {
		var list []map[string]any
		for _, n := range a.notes {
			if n["owner"] == user || a.listAll {
				list = append(list, n)
			}
		}
		_ = json.NewEncoder(w).Encode(list)
		return
	}
	if r.URL.Path == "/products/1" || r.URL.Path == "/products" {
		_, _ = w.Write([]byte(`{"id":1,"name":"shared catalogue pen","price":2}`))
		return
	}
	if r.URL.Path == "/notes" && r.Method == http.MethodPost {
		var body map[string]any
		_ = json.NewDecoder(r.Body).Decode(&body)
		a.next++
		id := fmt.Sprint(a.next)
		note := map[string]any{"id": a.next, "title": body["title"], "owner": user}
		a.notes[id], a.latest[user] = note, id
		w.WriteHeader(201)
		_ = json.NewEncoder(w).Encode(note)
		return
	}
	id, ok := strings.CutPrefix(r.URL.Path, "/notes/")
	if !ok {
		w.WriteHeader(404)
		return
	}
	if a.ignoreID && r.Method == http.MethodGet {
		id = a.latest[user]
	}
	note, exists := a.notes[id]
	if exists && a.deleted[id] && !(a.softDelete && r.Method == http.MethodGet) {
		exists = false
	}
	if !exists {
		if a.genericOK {
			_, _ = w.Write([]byte(`{"note":null}`))
			return
		}
		w.WriteHeader(404)
		_, _ = w.Write([]byte(`{"error":"not found"}`))
		return
	}
	mine := note["owner"] == user
	switch r.Method {
	case http.MethodGet:
		if !mine && !a.readAny {
			w.WriteHeader(404)
			return
		}
		_ = json.NewEncoder(w).Encode(note)
	case http.MethodPatch:
		if !mine && !a.writeAny {
			w.WriteHeader(403)
			return
		}
		var body map[string]any
		_ = json.NewDecoder(r.Body).Decode(&body)
		for k, v := range body {
			if k == "title" {
				note[k] = v
			}
		}
		_ = json.NewEncoder(w).Encode(note)
	case http.MethodDelete:
		if !mine && !a.deleteAny {
			w.WriteHeader(403)
			return
		}
		a.deleted[id] = true
		w.WriteHeader(204)
	}
}

func notesSession(t *testing.T, api *notesAPI, users ...string) *Session {
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	var ids []*target.Identity
	for _, u := range users {
		ids = append(ids, bearer(u, "tok-"+u))
	}
	ops := testOps("!POST /notes", "!GET /notes", "!GET /notes/{id}", "!GET /me", "!PATCH /notes/{id}", "!DELETE /notes/{id}",
		"!GET /products", "!GET /products/{id}")
	ops[0].RequestBody = &target.Schema{Type: "object", Properties: map[string]*target.Schema{
		"title": {Type: "string"}}}
	return newTestSession(t, srv.URL, &target.Target{Operations: ops, Identities: ids})
}

func TestObjectAuthorization(t *testing.T) {
	cases := []struct {
		name string
		api  *notesAPI
		want []string // rules that must fire; none means pass
	}{
		{"owner checks everywhere", &notesAPI{}, nil},
		{"B reads A's note", &notesAPI{readAny: true}, []string{"bola-read"}},
		{"B changes A's note", &notesAPI{writeAny: true}, []string{"bola-write"}},
		{"B deletes A's note", &notesAPI{deleteAny: true}, []string{"bola-delete"}},
		{"deleted note still served", &notesAPI{softDelete: true}, []string{"bola-use-after-free"}},
		{"endpoint ignores the id and serves the caller's own note", &notesAPI{ignoreID: true}, nil},
		{"generic 200 for any id", &notesAPI{genericOK: true}, nil},
		{"B's listing shows A's note", &notesAPI{listAll: true}, []string{"bola-read"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := runTestProbe(t, NewObjectAuthorization(), notesSession(t, c.api, "alice", "bob"))
			if len(c.want) == 0 {
				wantStatus(t, v, finding.StatusPass)
				return
			}
			wantStatus(t, v, finding.StatusFail)
			for _, w := range c.want {
				if !hasRule(v, w) {
					t.Errorf("rule %s missing: got %v (%s)", w, rulesFired(v), v.Reason)
				}
			}
			if len(v.Findings) != len(c.want) {
				t.Errorf("got %v, want exactly %v", rulesFired(v), c.want)
			}
			for _, f := range v.Findings {
				if strings.Contains(f.Path, "products") {
					t.Errorf("shared catalogue reported: %+v", f)
				}
			}
		})
	}
}

// TestObjectAuthorizationCleansUp: the probe deletes every object it created except the
// ones a finding's curl line points at, which stay (marked with the canary) so the line
// reproduces after the scan, and the finding says so; the delete attack uses an object of
// its own, so the read and write evidence survives it.
func TestObjectAuthorizationCleansUp(t *testing.T) {
	cases := []struct {
		name string
		api  *notesAPI
		kept int // notes left in place, each cited by the read/write findings
	}{
		{"nothing found, nothing left", &notesAPI{}, 0},
		{"read evidence kept", &notesAPI{readAny: true}, 1},
		{"read and write evidence survive the delete attack",
			&notesAPI{readAny: true, writeAny: true, deleteAny: true}, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := runTestProbe(t, NewObjectAuthorization(), notesSession(t, c.api, "alice", "bob"))
			var left []string
			for id, n := range c.api.notes {
				if !c.api.deleted[id] {
					left = append(left, id)
					if !strings.HasPrefix(fmt.Sprint(n["title"]), testCanary) {
						t.Errorf("note %s kept without the canary: %v", id, n)
					}
				}
			}
			if len(left) != c.kept {
				t.Fatalf("%d notes left (%v), want %d", len(left), left, c.kept)
			}
			if c.api.deleteAny && !(hasRule(v, RuleBOLADelete.ID) && hasRule(v, RuleBOLAWrite.ID)) {
				t.Fatalf("want write and delete findings, got %v", rulesFired(v))
			}
			for _, f := range v.Findings {
				cites := strings.Contains(f.Evidence.Detail, "left in place")
				switch f.Rule {
				case RuleBOLARead.ID, RuleBOLAWrite.ID:
					if !cites || !strings.Contains(f.Curl, "/notes/"+left[0]) {
						t.Errorf("%s does not cite the kept note %s: %s | %s", f.Rule, left[0],
							f.Curl, f.Evidence.Detail)
					}
				case RuleBOLADelete.ID:
					if cites || strings.Contains(f.Curl, "/notes/"+left[0]) {
						t.Errorf("the delete attack used the evidence note: %s", f.Curl)
					}
				}
			}
		})
	}
}

func TestObjectAuthorizationNeedsTwoIdentities(t *testing.T) {
	v := runTestProbe(t, NewObjectAuthorization(), notesSession(t, &notesAPI{readAny: true}, "alice"))
	wantStatus(t, v, finding.StatusNotTested)
	if !strings.Contains(v.Reason, "two identities") {
		t.Errorf("reason does not say why: %q", v.Reason)
	}
}

func TestExtractID(t *testing.T) {
	r := &resource{Create: &target.Operation{Path: "/orders"}, Param: "orderId"}
	cases := []struct {
		body, location, want string
	}{
		{`{"id":12}`, "", "12"},
		{`{"id":9007199254740993}`, "", "9007199254740993"},
		{`{"data":{"uuid":"3f2c1c9e-8a8c-4d8e-9a51-5b1e5f0a7c11"}}`, "", "3f2c1c9e-8a8c-4d8e-9a51-5b1e5f0a7c11"},
		{`{"order_id":"o-9"}`, "", "o-9"},
		{`{"orderId":"o-7"}`, "", "o-7"},
		{`{}`, "/orders/55", "55"},
		{`{"name":"x"}`, "", ""},
	}
	for _, c := range cases {
		ex := fakeExchange(201, c.body)
		if c.location != "" {
			ex.Header.Set("Location", c.location)
		}
		if got := extractID(ex, r); got != c.want {
			t.Errorf("extractID(%s, %q) = %q, want %q", c.body, c.location, got, c.want)
		}
	}
}

func TestObjectAuthorizationTwoUserTraps(t *testing.T) {
	cases := []struct {
		name  string
		api   *notesAPI
		users []string
		why   string
	}{
		{"both identities are one account", &notesAPI{readAny: true}, []string{"alice", "alice"}, "same"},
		{"the intruder is an administrator", &notesAPI{readAny: true, bobAdmin: true}, []string{"alice", "bob"}, "administrator"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := runTestProbe(t, NewObjectAuthorization(), notesSession(t, c.api, c.users...))
			wantStatus(t, v, finding.StatusNotTested)
			if !strings.Contains(v.Reason, c.why) {
				t.Errorf("reason %q does not say %q", v.Reason, c.why)
			}
			if len(c.api.notes) != 0 {
				t.Errorf("objects created although the check could not run")
			}
		})
	}
}

// todosAPI nests objects under their owner: /users/{uid}/todos/{id}.
type todosAPI struct {
	checkPathOnly bool // the path's uid must be the caller, but the todo's owner is not checked
	noCheck       bool // nothing is checked

	mu    sync.Mutex
	todos map[string]map[string]any
	next  int
}

func (a *todosAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.todos == nil {
		a.todos = map[string]map[string]any{}
	}
	w.Header().Set("Content-Type", "application/json")
	user := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer tok-")
	if r.URL.Path == "/me" {
		_ = json.NewEncoder(w).Encode(map[string]any{"id": user})
		return
	}
	segs := strings.Split(strings.Trim(r.URL.Path, "/"), "/") // users {uid} todos [id]
	if len(segs) < 3 || segs[0] != "users" || segs[2] != "todos" {
		w.WriteHeader(404)
		return
	}
	uid := segs[1]
	if uid != user && !a.noCheck {
		w.WriteHeader(403)
		return
	}
	if len(segs) == 3 && r.Method == http.MethodPost {
		var body map[string]any
		_ = json.NewDecoder(r.Body).Decode(&body)
		a.next++
		t := map[string]any{"id": a.next, "title": body["title"], "owner": uid}
		a.todos[fmt.Sprint(a.next)] = t
		w.WriteHeader(201)
		_ = json.NewEncoder(w).Encode(t)
		return
	}
	t := a.todos[segs[len(segs)-1]]
	if len(segs) != 4 || t == nil || t["owner"] != uid && !a.checkPathOnly && !a.noCheck {
		w.WriteHeader(404)
		return
	}
	if r.Method == http.MethodDelete {
		delete(a.todos, segs[3])
		w.WriteHeader(204)
		return
	}
	_ = json.NewEncoder(w).Encode(t)
}

func TestObjectAuthorizationNested(t *testing.T) {
	cases := []struct {
		name  string
		api   *todosAPI
		fires bool
		how   string
	}{
		{"owner and path checked", &todosAPI{}, false, ""},
		{"object reachable through the intruder's own parent", &todosAPI{checkPathOnly: true}, true, "through its own"},
		{"nothing checked", &todosAPI{noCheck: true}, true, "by id"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := httptest.NewServer(c.api)
			t.Cleanup(srv.Close)
			ops := testOps("!GET /me", "!POST /users/{userId}/todos", "!GET /users/{userId}/todos/{id}",
				"!DELETE /users/{userId}/todos/{id}")
			ids := []*target.Identity{bearer("alice", "tok-alice"), bearer("bob", "tok-bob")}
			s := newTestSession(t, srv.URL, &target.Target{Operations: ops, Identities: ids})
			v := runTestProbe(t, NewObjectAuthorization(), s)
			if !c.fires {
				wantStatus(t, v, finding.StatusPass)
				return
			}
			wantStatus(t, v, finding.StatusFail)
			if !hasRule(v, "bola-read") || !strings.Contains(v.Findings[0].Title, c.how) {
				t.Errorf("want bola-read %q, got %v", c.how, titles(v))
			}
			// Only the todo the finding cites stays, so its curl line reproduces.
			if len(c.api.todos) != 1 {
				t.Errorf("todos left behind: %v, want only the cited one", c.api.todos)
			}
			for id := range c.api.todos {
				if !strings.Contains(v.Findings[0].Curl, "/todos/"+id) {
					t.Errorf("todo %s kept but the finding cites %s", id, v.Findings[0].Curl)
				}
			}
		})
	}
}
