package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apigate/apigate/internal/demo"
	"github.com/apigate/apigate/internal/finding"
)

// TestBudgetExhaustedCLI: a scan of the demo, with two users, cut short by --max-requests
// fails (exit 3) even with --fail-on none; no check whose requests were refused passes, the
// report counts only requests sent, opens with a note naming the budget, and its JSON and
// SARIF say the scan did not complete.
func TestBudgetExhaustedCLI(t *testing.T) {
	dir := t.TempDir()
	cfg := putFile(t, dir, "c.yml", `
identities:
  alice: {username: alice, password: `+demo.Alice.Password+`}
  bob: {username: bob, password: `+demo.Bob.Password+`}
`)
	sarifFile := filepath.Join(dir, "r.sarif")
	code, stdout, stderr, _ := runCLI(t, "scan", "--url", startDemo(t), "--config", cfg,
		"--openapi", "/openapi.json", "--max-requests", "50", "--fail-on", "none",
		"--format", "json", "--sarif", sarifFile)
	const why = "request budget (--max-requests 50) exhausted after 50 requests"
	if code != exitError || !strings.Contains(stderr, why) {
		t.Fatalf("exit %d, stderr %q; want 3 naming the budget", code, stderr)
	}
	rep := parseReport(t, stdout)
	if rep.Requests > 50 {
		t.Errorf("report counts %d requests with a budget of 50", rep.Requests)
	}
	for _, cr := range rep.Checks {
		if cr.Status == finding.StatusPass && cr.Requests >= 50 {
			t.Errorf("%s passes on %d requests", cr.Check, cr.Requests)
		}
	}
	refused := 0
	for _, cr := range rep.Checks {
		if cr.Reason == why {
			refused++
			if cr.Status != finding.StatusInconclusive {
				t.Errorf("%s: %s", cr.Check, cr.Status)
			}
		}
	}
	if refused == 0 {
		t.Errorf("no check names the budget: %+v", rep.Checks)
	}
	if len(rep.Notes) == 0 || !strings.Contains(rep.Notes[0], why) {
		t.Errorf("notes %q do not open with the budget", rep.Notes)
	}
	var top map[string]any
	if err := json.Unmarshal([]byte(stdout), &top); err != nil {
		t.Fatal(err)
	}
	if top["complete"] != false || !strings.Contains(top["error"].(string), why) {
		t.Errorf("json complete=%v error=%v", top["complete"], top["error"])
	}
	raw, err := os.ReadFile(sarifFile)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw), `"executionSuccessful": false`) {
		t.Error("sarif claims a successful execution")
	}
}
