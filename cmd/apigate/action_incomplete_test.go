package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apigate/apigate/internal/finding"
	"github.com/apigate/apigate/internal/report"
)

// TestActionPublishesNoIncompleteReport: a JSON report of a scan that did not complete
// (written by 'apigate scan --json' on a timeout, say) is not uploaded: its short list of
// findings would close alerts that were never re-tested.
func TestActionPublishesNoIncompleteReport(t *testing.T) {
	fake := newFakeGitHub(t)
	rep := &finding.Report{Tool: "apigate", Target: "http://127.0.0.1:8080",
		Findings: []finding.Finding{},
		Error:    "the scan passed its deadline; checks that did not complete: cors"}
	file := filepath.Join(t.TempDir(), "apigate.json")
	fh, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := report.JSON(fh, rep, report.Options{}); err != nil {
		t.Fatal(err)
	}
	fh.Close()

	pub := newRunner(t, fake, "http://127.0.0.1:1")
	pub.event, pub.ref, pub.workflowEventName = "workflow_run.json", "refs/heads/main", "workflow_run"
	pub.inputs = map[string]string{"PUBLISH-REPORT": file, "PULL-REQUEST": "43",
		"COMMIT-SHA": "abababababababababababababababababababab", "CATEGORY": "api", "FAIL-ON": "high"}
	pub.step()
	if pub.code != exitError || pub.outputsMap["result"] != "error" {
		t.Fatalf("exit %d, outputs %v", pub.code, pub.outputsMap)
	}
	if len(fake.Calls()) != 0 {
		t.Errorf("an incomplete report was published: %+v", fake.Calls())
	}
	if !strings.Contains(pub.stdout.String(), "did not complete: the scan passed its deadline") {
		t.Errorf("the error annotation does not say why:\n%s", pub.stdout.String())
	}
}
