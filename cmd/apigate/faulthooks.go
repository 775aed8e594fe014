//go:build apigate_faults

package main

import (
	"fmt"
	"os"
	"time"
)

// Fault-test builds only (go build -tags apigate_faults): APIGATE_FAULT_PAUSE names a
// phase (e.g. "report writing") at which the run announces itself on stderr and sleeps
// APIGATE_FAULT_PAUSE_FOR (default 3s), so a test can deliver a signal in that phase.
//
// APIGATE_FAULT_PANIC names a phase at which the run panics, to test crash handling.
func init() {
	if crash := os.Getenv("APIGATE_FAULT_PANIC"); crash != "" {
		phaseHook = func(phase string) {
			if phase == crash {
				panic("injected fault in " + phase)
			}
		}
		return
	}
	want := os.Getenv("APIGATE_FAULT_PAUSE")
	if want == "" {
		return
	}
	pause := 3 * time.Second
	if d, err := time.ParseDuration(os.Getenv("APIGATE_FAULT_PAUSE_FOR")); err == nil {
		pause = d
	}
	phaseHook = func(phase string) {
		if phase != want {
			return
		}
		fmt.Fprintf(os.Stderr, "apigate-fault: paused in %s\n", phase)
		time.Sleep(pause)
	}
}
