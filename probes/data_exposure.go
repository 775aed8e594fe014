package probes

import (
	"context"

	"github.com/apigate/apigate/internal/finding"
)

// PLACEHOLDER: replaced by the real probe.
type dataExposure struct{}

// NewDataExposure returns the probe.
func NewDataExposure() Probe { return dataExposure{} }

func (dataExposure) Check() finding.Check { return finding.CheckDataExposure }

func (dataExposure) Rules() []Rule { return nil }

func (dataExposure) Run(context.Context, *Session) Verdict {
	return NotTested("probe not implemented yet")
}
