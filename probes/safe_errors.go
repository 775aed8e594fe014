package probes

import (
	"context"

	"github.com/apigate/apigate/internal/finding"
)

// PLACEHOLDER: replaced by the real probe.
type safeErrors struct{}

// NewSafeErrors returns the probe.
func NewSafeErrors() Probe { return safeErrors{} }

func (safeErrors) Check() finding.Check { return finding.CheckSafeErrors }

func (safeErrors) Rules() []Rule { return nil }

func (safeErrors) Run(context.Context, *Session) Verdict {
	return NotTested("probe not implemented yet")
}
