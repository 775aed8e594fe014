package report

import (
	"strings"
	"testing"

	"github.com/apigate/apigate/internal/finding"
)

// TestMarkdownIncompleteReport: a partial scan opens with a failed verdict and its reason,
// shows no new/fixed counts, and is never a baseline: its fingerprint block carries the
// previous run's list forward (or is absent), so the next complete run is compared with the
// last complete one.
func TestMarkdownIncompleteReport(t *testing.T) {
	rep := scoredReport()
	rep.Error = "the scan passed its deadline; checks that did not complete: cors"
	prev := []string{"aaaa0000", "bbbb1111"}
	out := MarkdownReport(rep, MarkdownOptions{Options: Options{Category: "api"},
		FailOn: finding.SeverityHigh, Previous: prev, HasPrevious: true})

	head, _, _ := strings.Cut(out, "### Checklist")
	verdict := strings.Index(head, "⛔ **Scan failed:** the scan passed its deadline")
	if verdict < 0 || verdict > strings.Index(head, "active finding(s)") {
		t.Errorf("no failed verdict before the counts:\n%s", head)
	}
	rep.Notes = append([]string{"SCAN FAILED, this result is not a clean bill of health: " +
		rep.Error}, rep.Notes...)
	if n := strings.Count(MarkdownReport(rep, MarkdownOptions{}), "checks that did not complete"); n != 1 {
		t.Errorf("the failure reason appears %d times, want once (in the verdict line)", n)
	}
	for _, bad := range []string{"✅ **Passed:**", "❌ **Failed:**", "fixed**"} {
		if strings.Contains(head, bad) {
			t.Errorf("partial report shows %q:\n%s", bad, head)
		}
	}
	fps, ok := ParseFingerprints(out, "api")
	if !ok || strings.Join(fps, ",") != strings.Join(prev, ",") {
		t.Errorf("fingerprints = %v %v, want the previous run's %v", fps, ok, prev)
	}

	// With no previous run there is no block at all: nothing to compare with later.
	out = MarkdownReport(rep, MarkdownOptions{Options: Options{Category: "api"}})
	if _, ok := ParseFingerprints(out, "api"); ok {
		t.Error("a partial report with no previous run left a fingerprint block")
	}
	if !strings.HasPrefix(out, CommentMarker("api")) {
		t.Error("marker missing")
	}

	// The complete report still writes its own list and its verdict.
	rep.Error = ""
	out = MarkdownReport(rep, MarkdownOptions{Options: Options{Category: "api"},
		FailOn: finding.SeverityHigh, Previous: prev, HasPrevious: true})
	if fps, _ := ParseFingerprints(out, "api"); len(fps) == 0 || fps[0] == prev[0] {
		t.Errorf("complete report fingerprints = %v", fps)
	}
	if strings.Contains(out, "Scan failed") || !strings.Contains(out, "**2 fixed**") {
		t.Errorf("complete report:\n%s", out[:400])
	}
}
