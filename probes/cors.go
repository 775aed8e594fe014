package probes

import (
	"context"

	"github.com/apigate/apigate/internal/finding"
)

// PLACEHOLDER: replaced by the real probe.
type cors struct{}

// NewCORS returns the probe.
func NewCORS() Probe { return cors{} }

func (cors) Check() finding.Check { return finding.CheckCORS }

func (cors) Rules() []Rule { return nil }

func (cors) Run(context.Context, *Session) Verdict {
	return NotTested("probe not implemented yet")
}
