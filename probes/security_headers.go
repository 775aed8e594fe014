package probes

import (
	"context"

	"github.com/apigate/apigate/internal/finding"
)

// PLACEHOLDER: replaced by the real probe.
type securityHeaders struct{}

// NewSecurityHeaders returns the probe.
func NewSecurityHeaders() Probe { return securityHeaders{} }

func (securityHeaders) Check() finding.Check { return finding.CheckSecurityHeaders }

func (securityHeaders) Rules() []Rule { return nil }

func (securityHeaders) Run(context.Context, *Session) Verdict {
	return NotTested("probe not implemented yet")
}
