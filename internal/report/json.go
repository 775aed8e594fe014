package report

import (
	"encoding/json"
	"io"

	"github.com/apigate/apigate/internal/finding"
)

// JSON writes the report as one indented JSON object with "findings" and "checks" at the
// top level. Field names are a stable interface for other tools.
func JSON(w io.Writer, rep *finding.Report, _ Options) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(rep)
}
