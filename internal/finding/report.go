package finding

import (
	"cmp"
	"slices"
	"time"
)

// Report is the whole result of one scan, the single input of every output format.
type Report struct {
	// Tool and Version name the scanner that wrote the report.
	Tool    string `json:"tool"`
	Version string `json:"version"`
	// Target is the base URL that was scanned.
	Target   string    `json:"target"`
	Started  time.Time `json:"started"`
	Duration float64   `json:"duration_seconds"`
	// Requests counts every HTTP request the probes sent.
	Requests int `json:"requests"`

	Findings []Finding     `json:"findings"`
	Checks   []CheckResult `json:"checks"`
	// Notes are facts about the scan a reader should know (limits, skipped parts).
	Notes []string `json:"notes,omitempty"`
	// Error says why the scan failed (stopped, target down, budget spent, nothing
	// verified); empty when it completed. A report with an Error is no clean bill of
	// health whatever its checks say.
	Error string `json:"error,omitempty"`
}

// Complete reports whether the scan ran to its end: no deadline, signal, dead target,
// spent budget or other failure cut it short.
func (r *Report) Complete() bool { return r.Error == "" }

// Active returns the findings that no suppression or baseline matched.
func (r *Report) Active() []Finding {
	var out []Finding
	for _, f := range r.Findings {
		if f.Suppressed == "" {
			out = append(out, f)
		}
	}
	return out
}

// AtOrAbove counts the active findings whose severity is at least min.
func (r *Report) AtOrAbove(min Severity) int {
	n := 0
	for _, f := range r.Active() {
		if f.Severity >= min {
			n++
		}
	}
	return n
}

// CountBySeverity counts active findings per severity.
func (r *Report) CountBySeverity() map[Severity]int {
	m := map[Severity]int{}
	for _, f := range r.Active() {
		m[f.Severity]++
	}
	return m
}

// Result returns the verdict recorded for c, or a not-tested one when none was.
func (r *Report) Result(c Check) CheckResult {
	for _, cr := range r.Checks {
		if cr.Check == c {
			return cr
		}
	}
	return CheckResult{Check: c, Status: StatusNotTested, Reason: "no probe ran for this check"}
}

// Sort orders findings highest severity first, then by checklist order, path and rule, so
// every output lists them the same way.
func Sort(fs []Finding) {
	slices.SortStableFunc(fs, func(a, b Finding) int {
		return cmp.Or(
			cmp.Compare(b.Severity, a.Severity),
			cmp.Compare(a.Check.Number(), b.Check.Number()),
			cmp.Compare(a.Path, b.Path),
			cmp.Compare(a.Method, b.Method),
			cmp.Compare(a.Rule, b.Rule),
		)
	})
}
