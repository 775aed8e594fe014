package main

import (
	"testing"

	"github.com/apigate/apigate/internal/finding"
)

// TestDemoFingerprints: two scans of the vulnerable demo give every finding a fingerprint of
// its own, and the same set both times, so new/fixed counting between runs is exact.
func TestDemoFingerprints(t *testing.T) {
	if testing.Short() {
		t.Skip("scans the demo twice")
	}
	var runs [2]map[string]string
	for i := range runs {
		_, rep, _ := runDemo(t)
		runs[i] = map[string]string{}
		for _, f := range rep.Findings {
			id := f.Rule + " " + f.Method + " " + f.Path + " " + f.Key
			if f.Fingerprint == "" {
				t.Errorf("run %d: %s has no fingerprint", i+1, id)
			}
			if prev, dup := runs[i][f.Fingerprint]; dup {
				t.Errorf("run %d: %s and %s share fingerprint %s", i+1, prev, id, f.Fingerprint)
			}
			// The logging verdict depends on when the demo's log lines land, so its findings
			// may differ between runs; their uniqueness is still checked above.
			if f.Check != finding.CheckLogging {
				runs[i][f.Fingerprint] = id
			}
		}
		if len(runs[i]) < 12 {
			t.Fatalf("run %d: only %d findings", i+1, len(runs[i]))
		}
	}
	for fp, id := range runs[0] {
		if runs[1][fp] != id {
			t.Errorf("%s (%s) is not in the second run", id, fp)
		}
	}
	for fp, id := range runs[1] {
		if _, ok := runs[0][fp]; !ok {
			t.Errorf("%s (%s) is only in the second run", id, fp)
		}
	}
}
