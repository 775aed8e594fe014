package report

import (
	"encoding/json"
	"io"

	"github.com/apigate/apigate/internal/finding"
)

// JSON writes the report as one indented JSON object with "findings" and "checks" at the
// top level. Field names are a stable interface for other tools. "complete" is false, and
// "error" says why, when the scan failed: a machine reading the file alone must not take an
// interrupted or failed scan for a clean one.
func JSON(w io.Writer, rep *finding.Report, _ Options) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(struct {
		Complete bool `json:"complete"`
		*finding.Report
	}{rep.Complete(), rep})
}
