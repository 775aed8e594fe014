package probes

import (
	"context"

	"github.com/apigate/apigate/internal/finding"
)

// PLACEHOLDER: replaced by the real probe.
type inputValidation struct{}

// NewInputValidation returns the probe.
func NewInputValidation() Probe { return inputValidation{} }

func (inputValidation) Check() finding.Check { return finding.CheckInputValidation }

func (inputValidation) Rules() []Rule { return nil }

func (inputValidation) Run(context.Context, *Session) Verdict {
	return NotTested("probe not implemented yet")
}
