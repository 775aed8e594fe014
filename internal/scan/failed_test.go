package scan

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/apigate/apigate/internal/finding"
)

func TestFailedReport(t *testing.T) {
	rep := FailedReport("http://127.0.0.1:9", "1.0", time.Now(), errors.New("compose up failed"))

	if rep.Complete() || !strings.Contains(rep.Error, "compose up failed") {
		t.Errorf("Error = %q, want an incomplete report naming the cause", rep.Error)
	}
	if len(rep.Notes) == 0 || !strings.HasPrefix(rep.Notes[0], "SCAN FAILED") {
		t.Errorf("notes %q must open with the failure", rep.Notes)
	}
	if len(rep.Checks) != len(finding.Checks) {
		t.Fatalf("%d checks, want all %d", len(rep.Checks), len(finding.Checks))
	}
	for _, c := range rep.Checks {
		if c.Status != finding.StatusNotTested || !strings.Contains(c.Reason, "compose up failed") {
			t.Errorf("%s: %s %q, want not-tested with the cause", c.Check, c.Status, c.Reason)
		}
	}
	if rep.Findings == nil {
		t.Error("findings must be an empty list, not null, in the JSON")
	}
}
