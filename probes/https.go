package probes

import (
	"context"

	"github.com/apigate/apigate/internal/finding"
)

// PLACEHOLDER: replaced by the real probe.
type https struct{}

// NewTransport returns the probe.
func NewTransport() Probe { return https{} }

func (https) Check() finding.Check { return finding.CheckHTTPS }

func (https) Rules() []Rule { return nil }

func (https) Run(context.Context, *Session) Verdict {
	return NotTested("probe not implemented yet")
}
