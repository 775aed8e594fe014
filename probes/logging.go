package probes

import (
	"context"

	"github.com/apigate/apigate/internal/finding"
)

// PLACEHOLDER: replaced by the real probe.
type logging struct{}

// NewLogging returns the probe.
func NewLogging() Probe { return logging{} }

func (logging) Check() finding.Check { return finding.CheckLogging }

func (logging) Rules() []Rule { return nil }

func (logging) Run(context.Context, *Session) Verdict {
	return NotTested("probe not implemented yet")
}
