package probes

import (
	"context"

	"github.com/apigate/apigate/internal/finding"
)

// PLACEHOLDER: replaced by the real probe.
type massAssignment struct{}

// NewMassAssignment returns the probe.
func NewMassAssignment() Probe { return massAssignment{} }

func (massAssignment) Check() finding.Check { return finding.CheckMassAssignment }

func (massAssignment) Rules() []Rule { return nil }

func (massAssignment) Run(context.Context, *Session) Verdict {
	return NotTested("probe not implemented yet")
}
