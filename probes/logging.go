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

// Late runs the probe after the concurrent probes, before rate-limit: it reads the logs
// they left and its failed logins must not meet a lockout.
func (logging) Late() int { return 1 }
