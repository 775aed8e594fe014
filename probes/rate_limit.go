package probes

import (
	"context"

	"github.com/apigate/apigate/internal/finding"
)

// PLACEHOLDER: replaced by the real probe.
type rateLimit struct{}

// NewRateLimit returns the probe.
func NewRateLimit() Probe { return rateLimit{} }

func (rateLimit) Check() finding.Check { return finding.CheckRateLimit }

func (rateLimit) Rules() []Rule { return nil }

func (rateLimit) Run(context.Context, *Session) Verdict {
	return NotTested("probe not implemented yet")
}
