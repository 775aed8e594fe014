package probes

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/apigate/apigate/internal/finding"
	"github.com/apigate/apigate/internal/target"
)

// signupAPI answers 409 to a username or e-mail address it has seen, 422 to a malformed
// body, 201 otherwise, and 500 when "age" is not a number (the planted crash).
type signupAPI struct {
	mu    sync.Mutex
	taken map[string]bool
}

func (a *signupAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	var m map[string]any
	if r.Method != "POST" || json.Unmarshal(raw, &m) != nil {
		w.WriteHeader(http.StatusUnprocessableEntity)
		return
	}
	if _, ok := m["age"].(float64); !ok && m["age"] != nil {
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	user, _ := m["username"].(string)
	mail, _ := m["email"].(string)
	if !signupName.MatchString(user) || !strings.Contains(mail, "@") {
		w.WriteHeader(http.StatusUnprocessableEntity)
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.taken[user] || a.taken[mail] {
		w.WriteHeader(http.StatusConflict)
		return
	}
	a.taken[user], a.taken[mail] = true, true
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_, _ = io.WriteString(w, `{"id":"u1"}`)
}

var signupName = regexp.MustCompile(`^[A-Za-z0-9_.-]{3,32}$`)

func signupOps() []*target.Operation {
	max32, max254, min3 := 32, 254, 3
	return []*target.Operation{{Method: "POST", Path: "/signup", Security: target.SecurityNone,
		RequestBody: &target.Schema{Type: "object", Required: []string{"username", "email"},
			Properties: map[string]*target.Schema{
				"username": {Type: "string", Pattern: `^[A-Za-z0-9_.-]{3,32}$`,
					MinLength: &min3, MaxLength: &max32},
				"email": {Type: "string", Format: "email", MaxLength: &max254},
				"age":   {Type: "integer"},
			}}}}
}

// TestInputValidationStableAcrossRuns scans one server several times: each scan signs up a
// username and address of its own, so the baseline is 201 every time, and when it is not
// (the same canary twice: 409) the server error keeps its severity, so a CI gate on
// severity does not flip between identical runs.
func TestInputValidationStableAcrossRuns(t *testing.T) {
	api := &signupAPI{taken: map[string]bool{}}
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	runs := []struct {
		canary   string
		baseline string
		conf     finding.Confidence
	}{
		{"apg0000000000a1", "got 201", finding.ConfidenceHigh},
		{"apg0000000000b2", "got 201", finding.ConfidenceHigh},
		{"apg0000000000b2", "got 409", finding.ConfidenceMedium}, // same canary: taken
	}
	for i, run := range runs {
		s := newTestSession(t, srv.URL, &target.Target{Operations: signupOps()})
		s.Canary = run.canary
		v := NewInputValidation().Run(context.Background(), s)
		var got *finding.Finding
		for j, f := range v.Findings {
			if f.Rule == RuleInputServerError.ID {
				got = &v.Findings[j]
			}
		}
		if v.Status != finding.StatusFail || got == nil {
			t.Fatalf("run %d: %s (%s), want a server-error finding", i+1, v.Status, v.Reason)
		}
		if got.Severity != finding.SeverityMedium || got.Confidence != run.conf {
			t.Errorf("run %d: %s/%s, want medium/%s", i+1, got.Severity, got.Confidence, run.conf)
		}
		if !strings.Contains(got.Evidence.Detail, "valid request "+run.baseline) {
			t.Errorf("run %d: detail %q, want the valid request %s", i+1,
				got.Evidence.Detail, run.baseline)
		}
	}
	if !api.taken["apg0000000000a1"] || !api.taken["apg0000000000a1@example.invalid"] {
		t.Errorf("the baseline did not carry the canary: %v", api.taken)
	}
}

func TestCanaryValue(t *testing.T) {
	n := func(v int) *int { return &v }
	const c = "apg0123456789ab"
	cases := []struct {
		name   string
		field  string
		schema target.Schema
		want   string // "" when the field must be left alone
	}{
		{"free text", "title", target.Schema{Type: "string"}, "apigate-" + c},
		{"e-mail by format", "contact", target.Schema{Format: "email"}, c + "@example.invalid"},
		{"e-mail by name", "userEmail", target.Schema{}, c + "@example.invalid"},
		{"patterned username", "username", target.Schema{Pattern: `^[a-z0-9]{3,20}$`}, c},
		{"pattern the canary cannot meet", "code", target.Schema{Pattern: `^[A-Z]{3}$`}, ""},
		{"short free text takes the bare canary", "nick", target.Schema{MaxLength: n(10)}, c[:10]},
		{"too short to stay unique", "pin", target.Schema{MaxLength: n(6)}, ""},
		{"e-mail longer than allowed", "email", target.Schema{MaxLength: n(20)}, ""},
		{"a date is not marked", "birthday", target.Schema{Format: "date"}, ""},
		{"minimum length above the canary", "bio", target.Schema{MinLength: n(40)}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := canaryValue(&tc.schema, tc.field, c)
			if ok != (tc.want != "") || got != tc.want {
				t.Errorf("canaryValue = %q, %v; want %q", got, ok, tc.want)
			}
		})
	}
}
