package scan

import (
	"github.com/apigate/apigate/internal/finding"
	"github.com/apigate/apigate/internal/httpx"
)

// redactReport passes every text of rep through r: probes redact what they build with
// Session.NewFinding, but a reason or a hand-built finding may quote a response that
// echoed a credential. This is the last gate before any output format sees the report.
func redactReport(rep *finding.Report, r *httpx.Redactor) {
	for i := range rep.Notes {
		rep.Notes[i] = r.Redact(rep.Notes[i])
	}
	for i := range rep.Checks {
		rep.Checks[i].Reason = r.Redact(rep.Checks[i].Reason)
	}
	for i := range rep.Findings {
		f := &rep.Findings[i]
		for _, s := range []*string{
			&f.Title, &f.Path, &f.URL, &f.Curl, &f.Suppressed,
			&f.Evidence.Request, &f.Evidence.Excerpt, &f.Evidence.Detail,
		} {
			*s = r.Redact(*s)
		}
	}
}
