package scan

import (
	"time"

	"github.com/apigate/apigate/internal/finding"
)

// FailedReport is the report of a scan that failed before any probe ran (the target never
// answered, compose did not boot, a login failed). Every check is not-tested with the
// cause, and the report is marked failed, so that a file written from it can never be
// mistaken for a result - nor leave a stale report of an earlier run in its place.
func FailedReport(target, version string, started time.Time, cause error) *finding.Report {
	rep := &finding.Report{
		Tool: "apigate", Version: version, Target: target, Started: started.UTC(),
		Duration: time.Since(started).Seconds(), Findings: []finding.Finding{},
	}
	for _, c := range finding.Checks {
		rep.Checks = append(rep.Checks, finding.CheckResult{
			Check: c, Status: finding.StatusNotTested,
			Reason: "the scan stopped before probing: " + cause.Error(),
		})
	}
	fail(rep, cause)
	return rep
}
