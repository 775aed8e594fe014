package report

import (
	"errors"
	"io"

	"github.com/apigate/apigate/internal/finding"
)

// Markdown is replaced by the real markdown writer.
func Markdown(w io.Writer, rep *finding.Report, opts Options) error {
	return errors.New("markdown: not implemented yet")
}
