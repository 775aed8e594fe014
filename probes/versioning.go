package probes

import (
	"context"

	"github.com/apigate/apigate/internal/finding"
)

// PLACEHOLDER: replaced by the real probe.
type versioning struct{}

// NewVersioning returns the probe.
func NewVersioning() Probe { return versioning{} }

func (versioning) Check() finding.Check { return finding.CheckVersioning }

func (versioning) Rules() []Rule { return nil }

func (versioning) Run(context.Context, *Session) Verdict {
	return NotTested("probe not implemented yet")
}
