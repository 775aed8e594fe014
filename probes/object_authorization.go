package probes

import (
	"context"

	"github.com/apigate/apigate/internal/finding"
)

// PLACEHOLDER: replaced by the real probe.
type objectAuthorization struct{}

// NewObjectAuthorization returns the probe.
func NewObjectAuthorization() Probe { return objectAuthorization{} }

func (objectAuthorization) Check() finding.Check { return finding.CheckObjectAuthorization }

func (objectAuthorization) Rules() []Rule { return nil }

func (objectAuthorization) Run(context.Context, *Session) Verdict {
	return NotTested("probe not implemented yet")
}
