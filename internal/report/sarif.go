package report

import (
	"errors"
	"io"

	"github.com/apigate/apigate/internal/finding"
)

// SARIF is replaced by the real SARIF writer.
func SARIF(w io.Writer, rep *finding.Report, opts Options) error {
	return errors.New("sarif: not implemented yet")
}
