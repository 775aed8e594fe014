package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/apigate/apigate/internal/scan"
)

// phaseHook is called as each phase of a run begins. It is nil in release builds; the
// fault-test build (tag apigate_faults) sets it to pause a run at a chosen phase so tests
// can deliver a signal there.
var phaseHook func(phase string)

// newTracker returns the tracker of one run, watching ctx so that a deadline or a signal
// is reported with the phase and the checks it interrupted.
func newTracker(ctx context.Context) *scan.Tracker {
	t := &scan.Tracker{OnEnter: phaseHook}
	t.Watch(ctx)
	return t
}

// stopped turns a run whose context ended into its exit code and message: 130 for a
// signal, 3 for the --timeout deadline, naming where the run was. ok is false when ctx is
// still live.
func stopped(ctx context.Context, tr *scan.Tracker, timeout time.Duration) (code int, err error, ok bool) {
	switch {
	case errors.Is(ctx.Err(), context.Canceled):
		return exitInterrupted, fmt.Errorf("interrupted %s", tr.StoppedAt()), true
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return exitError, fmt.Errorf("timed out after %s %s", timeout, tr.StoppedAt()), true
	}
	return 0, nil, false
}

// withIncomplete appends the checks a stopped scan left without a verdict to err.
func withIncomplete(err, scanErr error) error {
	var inc *scan.Incomplete
	if !errors.As(scanErr, &inc) || len(inc.Checks) == 0 {
		return err
	}
	names := make([]string, len(inc.Checks))
	for i, c := range inc.Checks {
		names[i] = string(c)
	}
	return fmt.Errorf("%w; checks that did not complete: %s", err, strings.Join(names, ", "))
}
