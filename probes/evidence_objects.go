package probes

import (
	"fmt"

	"github.com/apigate/apigate/internal/finding"
)

// Objects a finding's curl line points at are left in place after the scan, so that a
// reader can run the line and see the same answer; objects no finding cites are deleted.
// keepCited marks findings[from:] as citing object id (which carries marker) and reports
// whether there were any, i.e. whether the object must be kept.
func keepCited(findings []finding.Finding, from int, singular, id, marker string) bool {
	for i := from; i < len(findings); i++ {
		findings[i].Evidence.Detail += fmt.Sprintf(" %s %s (marked %q) was left in place so "+
			"this request reproduces; delete it when done.", capitalize(singular), id, marker)
	}
	return len(findings) > from
}
