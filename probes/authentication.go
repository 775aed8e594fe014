package probes

import (
	"context"

	"github.com/apigate/apigate/internal/finding"
)

// PLACEHOLDER: replaced by the real probe.
type authentication struct{}

// NewAuthentication returns the probe.
func NewAuthentication() Probe { return authentication{} }

func (authentication) Check() finding.Check { return finding.CheckAuthentication }

func (authentication) Rules() []Rule { return nil }

func (authentication) Run(context.Context, *Session) Verdict {
	return NotTested("probe not implemented yet")
}
