package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/apigate/apigate/internal/github/fakegh"
)

// TestActionChecksOutputPathsFirst: a report path that cannot be written fails the step
// with exit 2 before the scan starts, naming the input; two inputs naming one file too.
func TestActionChecksOutputPathsFirst(t *testing.T) {
	fake := newFakeGitHub(t)
	r := newRunner(t, fake, actionDemo(t))
	missing := filepath.Join(t.TempDir(), "nonexist", "x.sarif")
	for _, c := range []struct{ input, path, want string }{
		{"SARIF-FILE", missing, "input sarif-file " + missing + ": directory"},
		{"JSON-FILE", filepath.Join(filepath.Dir(missing), "x.json"), "input json-file"},
		{"JSON-FILE", "apigate.sarif", "inputs sarif-file and json-file both name"},
	} {
		r.inputs["SARIF-FILE"], r.inputs["JSON-FILE"] = "apigate.sarif", ""
		r.inputs[c.input] = c.path
		r.step()
		if r.code != exitUsage || r.outputsMap["result"] != "error" {
			t.Errorf("%s=%s: exit %d outputs %v", c.input, c.path, r.code, r.outputsMap)
		}
		if !strings.Contains(r.stdout.String(), "::error::apigate: "+c.want) {
			t.Errorf("%s=%s: error does not name the input:\n%s", c.input, c.path, r.stdout.String())
		}
		if strings.Contains(r.stdout.String(), "stop-commands") || len(fake.Calls()) != 0 {
			t.Errorf("%s=%s: the scan or publishing ran", c.input, c.path)
		}
	}
	if _, err := os.Stat(filepath.Dir(missing)); err == nil {
		t.Error("a directory outside the workspace was created")
	}
}

// TestActionFailedScanLeavesFailedReports: a scan that fails replaces an earlier run's
// SARIF with a failed report (never uploaded), writes a failed JSON report into a
// directory the action creates, and still sets result and sarif-file.
func TestActionFailedScanLeavesFailedReports(t *testing.T) {
	fake := newFakeGitHub(t)
	r := newRunner(t, fake, "http://127.0.0.1:1")
	sarifPath := filepath.Join(r.workspace, "apigate.sarif")
	os.WriteFile(sarifPath, []byte(`{"stale": true}`), 0o644)
	r.inputs["JSON-FILE"] = "apigate-results/apigate.json"
	r.step()
	if r.code != exitError {
		t.Fatalf("exit %d\n%s", r.code, r.stdout.String())
	}
	if r.outputsMap["result"] != "error" || r.outputsMap["sarif-file"] != sarifPath {
		t.Errorf("outputs = %v", r.outputsMap)
	}
	if len(fake.Calls()) != 0 {
		t.Errorf("a failed scan published: %+v", fake.Calls())
	}
	var sarif struct {
		Runs []struct {
			Invocations []struct {
				ExecutionSuccessful bool `json:"executionSuccessful"`
			} `json:"invocations"`
			AutomationDetails struct{ ID string } `json:"automationDetails"`
		} `json:"runs"`
	}
	data, _ := os.ReadFile(sarifPath)
	if err := json.Unmarshal(data, &sarif); err != nil || len(sarif.Runs) != 1 ||
		len(sarif.Runs[0].Invocations) == 0 || sarif.Runs[0].Invocations[0].ExecutionSuccessful {
		t.Fatalf("sarif-file does not hold a failed report (%v):\n%s", err, data)
	}
	if sarif.Runs[0].AutomationDetails.ID != "api/" {
		t.Errorf("failed SARIF category %q, want api/", sarif.Runs[0].AutomationDetails.ID)
	}
	var rep struct {
		Complete *bool  `json:"complete"`
		Error    string `json:"error"`
	}
	data, err := os.ReadFile(filepath.Join(r.workspace, "apigate-results", "apigate.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &rep); err != nil || rep.Complete == nil || *rep.Complete ||
		!strings.Contains(rep.Error, "127.0.0.1:1") {
		t.Errorf("json-file is no failed report (%v):\n%s", err, data)
	}
}

// TestActionCommentsWithoutSecurityEvents: a token that may comment but not upload keeps the
// comment; the notice names only the upload and its permission. The info output makes the
// severity outputs add up to findings.
func TestActionCommentsWithoutSecurityEvents(t *testing.T) {
	fake := newFakeGitHub(t)
	const tok = "ghs_actiontestprwriteonly000000000000000"
	fake.Tokens[tok] = fakegh.Token{Login: "github-actions[bot]", Installation: true,
		NoSecurityEvents: true}
	r := newRunner(t, fake, actionDemo(t))
	r.token = tok
	r.step()
	if r.code != exitFindings {
		t.Fatalf("exit %d\n%s", r.code, r.stderr.String())
	}
	out := r.outputsMap
	if out["comment-id"] == "" || len(fake.Comments(42)) != 1 || out["sarif-id"] != "" {
		t.Errorf("outputs %v, comments %d", out, len(fake.Comments(42)))
	}
	stdout := r.stdout.String()
	if !strings.Contains(stdout, "Skipped code scanning upload: HTTP 403 Resource not accessible "+
		"by integration (the token lacks security-events: write).") ||
		strings.Contains(stdout, "read-only") {
		t.Errorf("notice:\n%s", stdout)
	}
	sum := 0
	for _, k := range []string{"critical", "high", "medium", "low", "info"} {
		n, err := strconv.Atoi(out[k])
		if err != nil {
			t.Fatalf("output %s = %q", k, out[k])
		}
		sum += n
	}
	if strconv.Itoa(sum) != out["findings"] {
		t.Errorf("severity outputs add up to %d, findings = %s", sum, out["findings"])
	}
}

// TestActionHangingAPIIsBounded: an API that never answers costs the publishing budget, not
// minutes; progress is on stderr, a warning says publishing stopped, and the findings still
// decide.
func TestActionHangingAPIIsBounded(t *testing.T) {
	fake := newFakeGitHub(t)
	for range 20 {
		fake.FailNext("POST sarifs", fakegh.Failure{Hang: time.Minute})
		fake.FailNext("GET comments", fakegh.Failure{Hang: time.Minute})
	}
	r := newRunner(t, fake, actionDemo(t))
	setPublishTimes(t, 100*time.Millisecond, 600*time.Millisecond)
	start := time.Now()
	r.step()
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("a hanging API held the step for %s", took)
	}
	if r.code != exitFindings || r.outputsMap["result"] != "fail" {
		t.Errorf("exit %d outputs %v", r.code, r.outputsMap)
	}
	if !strings.Contains(r.stderr.String(), "publishing: reading the pull request's comments") {
		t.Errorf("no progress on stderr:\n%s", r.stderr.String())
	}
	if !strings.Contains(r.stdout.String(), "::warning::apigate: publishing stopped after") {
		t.Errorf("no warning that publishing was cut short:\n%s", r.stdout.String())
	}
}

// TestActionInterruptedWhilePublishing: SIGTERM while publishing exits 130 and still leaves
// result=error in the outputs.
func TestActionInterruptedWhilePublishing(t *testing.T) {
	fake := newFakeGitHub(t)
	var once sync.Once
	fake.OnRequest = func(route string) {
		if route == "POST sarifs" {
			once.Do(func() { syscall.Kill(os.Getpid(), syscall.SIGTERM) })
		}
	}
	fake.FailNext("POST sarifs", fakegh.Failure{Hang: time.Minute})
	r := newRunner(t, fake, actionDemo(t))
	r.step()
	if r.code != exitInterrupted {
		t.Fatalf("exit %d, want %d", r.code, exitInterrupted)
	}
	if r.outputsMap["result"] != "error" || r.outputsMap["findings"] == "" {
		t.Errorf("outputs = %v", r.outputsMap)
	}
}

func setPublishTimes(t *testing.T, request, budget time.Duration) {
	oldReq, oldBudget := actionRequestTimeout, actionPublishBudget
	actionRequestTimeout, actionPublishBudget = request, budget
	t.Cleanup(func() { actionRequestTimeout, actionPublishBudget = oldReq, oldBudget })
}
