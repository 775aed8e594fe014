package scan

import (
	"log/slog"
	"testing"

	"github.com/apigate/apigate/internal/finding"
	"github.com/apigate/apigate/internal/httpx"
	"github.com/apigate/apigate/probes"
)

// A logging finding whose request was answered 429 stands: the proof is the log line.
// The same evidence on another check is dropped.
func TestCorrectKeepsLoggingFindingsOn429(t *testing.T) {
	f := finding.Finding{Rule: "x", Evidence: finding.Evidence{Status: 429}}
	log := slog.New(slog.DiscardHandler)
	v := correct(finding.CheckLogging, probes.Fail("leak", f), &httpx.Stats{}, log)
	if v.Status != finding.StatusFail || len(v.Findings) != 1 {
		t.Errorf("logging: %s with %d findings", v.Status, len(v.Findings))
	}
	v = correct(finding.CheckCORS, probes.Fail("x", f), &httpx.Stats{}, log)
	if v.Status != finding.StatusInconclusive || len(v.Findings) != 0 {
		t.Errorf("cors: %s with %d findings", v.Status, len(v.Findings))
	}
}
