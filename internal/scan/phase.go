package scan

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/apigate/apigate/internal/finding"
)

// Phases of a run, in the order the pipeline enters them.
const (
	PhaseBoot     = "boot"
	PhaseDiscover = "discovery"
	PhaseProbe    = "probing"
	PhaseTeardown = "teardown"
	PhaseReport   = "report writing"
	PhasePublish  = "publishing"
)

// Tracker records the phase a run is in and the checks still running, so a run stopped by
// its deadline or a signal can say where it was stuck. The zero value is ready to use and a
// nil *Tracker ignores every call. It is safe for concurrent use.
type Tracker struct {
	// OnEnter, when set, is called as each phase begins (fault tests pause runs there).
	OnEnter func(phase string)

	mu      sync.Mutex
	phase   string
	running map[finding.Check]bool
	// ctx is the run's context (see Watch); once it is done, the phase and the checks that
	// were busy are remembered as the place the run stopped.
	ctx         context.Context
	stopPhase   string
	stopRunning map[finding.Check]bool
}

// Watch ties the tracker to the run's context, so StoppedAt can tell where the run was when
// the deadline or a signal ended it, even after the probes wound down.
func (t *Tracker) Watch(ctx context.Context) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.ctx = ctx
}

func (t *Tracker) stoppedLocked() bool { return t.ctx != nil && t.ctx.Err() != nil }

// Enter records that the run moved to phase.
func (t *Tracker) Enter(phase string) {
	if t == nil {
		return
	}
	t.mu.Lock()
	if t.stoppedLocked() && t.stopPhase == "" {
		t.stopPhase = t.phase
	}
	t.phase = phase
	hook := t.OnEnter
	t.mu.Unlock()
	if hook != nil {
		hook(phase)
	}
}

// Phase is the current phase, "" before the first.
func (t *Tracker) Phase() string {
	if t == nil {
		return ""
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.phase
}

func (t *Tracker) started(c finding.Check) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.running == nil {
		t.running = map[finding.Check]bool{}
	}
	t.running[c] = true
}

func (t *Tracker) finished(c finding.Check) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.running, c)
	if t.stoppedLocked() {
		if t.stopRunning == nil {
			t.stopRunning = map[finding.Check]bool{}
		}
		t.stopRunning[c] = true
	}
}

// Running lists the checks that started and have not finished, in checklist order.
func (t *Tracker) Running() []finding.Check {
	if t == nil {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return sortedChecks(t.running, nil)
}

func sortedChecks(sets ...map[finding.Check]bool) []finding.Check {
	var out []finding.Check
	for _, set := range sets {
		for c := range set {
			if !slices.Contains(out, c) {
				out = append(out, c)
			}
		}
	}
	slices.SortFunc(out, func(a, b finding.Check) int { return a.Number() - b.Number() })
	return out
}

// Where describes the current position for a message: "during probing (checks cors,
// rate-limit still running)", or "before the run started".
func (t *Tracker) Where() string {
	if t == nil {
		return "before the run started"
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return where(t.phase, sortedChecks(t.running))
}

// StoppedAt is Where as it was when the watched context ended: the phase then, and the
// checks that were still running at that moment. Before the context ends it equals Where.
func (t *Tracker) StoppedAt() string {
	if t == nil {
		return "before the run started"
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.stoppedLocked() {
		return where(t.phase, sortedChecks(t.running))
	}
	phase := t.stopPhase
	if phase == "" {
		phase = t.phase
	}
	return where(phase, sortedChecks(t.running, t.stopRunning))
}

func where(phase string, running []finding.Check) string {
	if phase == "" {
		return "before the run started"
	}
	if phase != PhaseProbe || len(running) == 0 {
		return "during " + phase
	}
	names := make([]string, len(running))
	for i, c := range running {
		names[i] = string(c)
	}
	noun := "check"
	if len(names) > 1 {
		noun = "checks"
	}
	return fmt.Sprintf("during %s (%s %s still running)", phase, noun, strings.Join(names, ", "))
}
