package suppress

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apigate/apigate/internal/finding"
)

func report() *finding.Report {
	return &finding.Report{Findings: []finding.Finding{
		{Rule: "cors-reflected-origin", Check: finding.CheckCORS, Method: "GET", Path: "/public/items/{id}", Fingerprint: "f1"},
		{Rule: "cors-reflected-origin", Check: finding.CheckCORS, Method: "GET", Path: "/api/me", Fingerprint: "f2"},
		{Rule: "auth-missing", Check: finding.CheckAuthentication, Method: "GET", Path: "/api/orders/{id}", Fingerprint: "f3"},
		{Rule: "rate-limit-none", Check: finding.CheckRateLimit, Method: "POST", Path: "/api/login", Fingerprint: "f4"},
	}}
}

func day(s string) time.Time {
	t, _ := time.Parse("2006-01-02", s)
	return t
}

func TestApplyExpiryAndUnused(t *testing.T) {
	rep := report()
	rules := []Rule{
		{ID: "cors-reflected-origin", Path: "/public/*", Reason: "public catalogue", Until: day("2027-06-30"), Where: "c.yml:3:5"},
		{ID: "auth-missing", Path: "/api/orders/123", Reason: "old", Until: day("2027-01-01"), Where: "c.yml:8:5"},
		{ID: "rate-limit", Reason: "limited at the gateway", Where: "c.yml:12:5"},
		{ID: "cors-wildcard-credentials", Reason: "never seen", Where: "c.yml:15:5"},
	}
	Apply(rep, rules, time.Date(2027, 1, 2, 9, 0, 0, 0, time.UTC))

	want := map[string]string{"f1": "public catalogue", "f2": "", "f3": "", "f4": "limited at the gateway"}
	for _, f := range rep.Findings {
		if f.Suppressed != want[f.Fingerprint] {
			t.Errorf("%s: suppressed %q, want %q", f.Fingerprint, f.Suppressed, want[f.Fingerprint])
		}
	}
	notes := strings.Join(rep.Notes, "\n")
	wantNotes := []string{
		"suppression at c.yml:8:5 (rule auth-missing on /api/orders/123) expired on 2027-01-01: its findings count again; fix them or renew it",
		"suppression at c.yml:15:5 (rule cors-wildcard-credentials) matched no finding: remove it if the problem is fixed",
	}
	if len(rep.Notes) != 2 || notes != strings.Join(wantNotes, "\n") {
		t.Errorf("notes:\n%s", notes)
	}

	// On its last day a suppression still applies.
	rep = report()
	Apply(rep, rules[1:2], time.Date(2027, 1, 1, 23, 0, 0, 0, time.UTC))
	if rep.Findings[2].Suppressed != "old" || len(rep.Notes) != 0 {
		t.Errorf("last day: %q %v", rep.Findings[2].Suppressed, rep.Notes)
	}
}

func TestMatchPath(t *testing.T) {
	cases := []struct {
		pattern, path string
		want          bool
	}{
		{"/public/*", "/public/items/{id}", true},
		{"/public/*", "/public", true},
		{"/public/*", "/publicity", false},
		{"/api/orders/{id}", "/api/orders/{orderId}", true},
		{"/api/orders/123", "/api/orders/{id}", true},
		{"/api/*/orders", "/api/v2/orders", true},
		{"/api/*/orders", "/api/v2/x/orders", false},
		{"/api/v*", "/api/v1", true},
		{"/api/**", "/api/a/b/c", true},
		{"/api/me", "/api/me?x=1", true},
		{"/api/me", "/api/you", false},
	}
	for _, c := range cases {
		if got := MatchPath(c.pattern, c.path); got != c.want {
			t.Errorf("MatchPath(%q, %q) = %v", c.pattern, c.path, got)
		}
	}
}

func TestValidate(t *testing.T) {
	known := []string{"cors-reflected-origin"}
	if err := Validate([]Rule{{ID: "cors-reflected-origin"}, {ID: "cors"}, {ID: "*"}}, known); err != nil {
		t.Fatal(err)
	}
	err := Validate([]Rule{{ID: "cors-reflectd-origin", Where: "c.yml:3:5"}}, known)
	if err == nil || err.Error() != `c.yml:3:5: unknown rule "cors-reflectd-origin" (see 'apigate rules')` {
		t.Errorf("got %v", err)
	}
}

func TestBaselineRoundTrip(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, ".apigate-baseline.json")
	rep := report()
	if err := NewBaseline(rep, time.Now()).WriteFile(file); err != nil {
		t.Fatal(err)
	}
	b, err := LoadBaseline(file)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Findings) != 4 || b.Findings[0].Rule != "auth-missing" {
		t.Fatalf("baseline %+v", b.Findings)
	}

	next := report()
	next.Findings = append(next.Findings[1:], finding.Finding{Rule: "auth-missing", Method: "DELETE",
		Path: "/api/orders/{id}", Fingerprint: "f5", Severity: finding.SeverityHigh})
	next.Findings[0].Suppressed = "kept by config"
	if n := b.Apply(next, file); n != 2 {
		t.Errorf("marked %d, want 2 (f3, f4; f2 was already suppressed)", n)
	}
	if next.Findings[0].Suppressed != "kept by config" || next.Findings[1].Suppressed != BaselineReason {
		t.Errorf("marks: %q %q", next.Findings[0].Suppressed, next.Findings[1].Suppressed)
	}
	if a := next.Active(); len(a) != 1 || a[0].Fingerprint != "f5" {
		t.Errorf("only the new finding should count: %+v", a)
	}
	if len(next.Notes) != 1 || !strings.HasPrefix(next.Notes[0], "1 finding(s) recorded in the baseline") {
		t.Errorf("notes %v", next.Notes)
	}

	os.WriteFile(file, []byte(`{"version": 2, "findings": []}`), 0o644)
	if _, err := LoadBaseline(file); err == nil || !strings.Contains(err.Error(), "version 2") {
		t.Errorf("version check: %v", err)
	}
	os.WriteFile(file, []byte(`not json`), 0o644)
	if _, err := LoadBaseline(file); err == nil || !strings.Contains(err.Error(), "is not a baseline file") {
		t.Errorf("garbage: %v", err)
	}
}
