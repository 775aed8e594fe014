package suppress

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/apigate/apigate/internal/finding"
)

// BaselineReason marks findings the baseline accepted.
const BaselineReason = "in baseline"

// Baseline is the committed record of findings accepted when it was written. Only findings
// not in it count towards the exit code, so a project can adopt apigate without fixing
// everything first.
type Baseline struct {
	Version  int             `json:"version"`
	Tool     string          `json:"tool"`
	Created  time.Time       `json:"created"`
	Findings []BaselineEntry `json:"findings"`
}

// BaselineEntry is one accepted finding. Rule, method and path are there for the reader of
// the file; the fingerprint alone decides a match.
type BaselineEntry struct {
	Fingerprint string `json:"fingerprint"`
	Rule        string `json:"rule"`
	Method      string `json:"method,omitempty"`
	Path        string `json:"path,omitempty"`
}

// NewBaseline records rep's findings, active or suppressed, sorted for stable diffs.
func NewBaseline(rep *finding.Report, now time.Time) *Baseline {
	b := &Baseline{Version: 1, Tool: "apigate", Created: now.UTC().Truncate(time.Second)}
	seen := map[string]bool{}
	for _, f := range rep.Findings {
		if f.Fingerprint == "" || seen[f.Fingerprint] {
			continue
		}
		seen[f.Fingerprint] = true
		b.Findings = append(b.Findings, BaselineEntry{
			Fingerprint: f.Fingerprint, Rule: f.Rule, Method: f.Method, Path: f.Path,
		})
	}
	sort.Slice(b.Findings, func(i, j int) bool {
		x, y := b.Findings[i], b.Findings[j]
		if x.Rule != y.Rule {
			return x.Rule < y.Rule
		}
		if x.Path != y.Path {
			return x.Path < y.Path
		}
		return x.Method < y.Method
	})
	if b.Findings == nil {
		b.Findings = []BaselineEntry{}
	}
	return b
}

// WriteFile writes the baseline atomically.
func (b *Baseline) WriteFile(path string) error {
	data, err := json.MarshalIndent(b, "", "  ")
	if err != nil {
		return fmt.Errorf("baseline: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".apigate-baseline-*")
	if err != nil {
		return fmt.Errorf("baseline: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("baseline: write %s: %w", path, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("baseline: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("baseline: write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("baseline: %w", err)
	}
	return nil
}

// LoadBaseline reads a baseline file.
func LoadBaseline(path string) (*Baseline, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("baseline: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, 16<<20))
	if err != nil {
		return nil, fmt.Errorf("baseline: read %s: %w", path, err)
	}
	var b Baseline
	if err := json.Unmarshal(data, &b); err != nil {
		return nil, fmt.Errorf("baseline: %s is not a baseline file: %w", path, err)
	}
	if b.Version != 1 {
		return nil, fmt.Errorf("baseline: %s has version %d; this apigate reads version 1", path, b.Version)
	}
	for i, e := range b.Findings {
		if e.Fingerprint == "" {
			return nil, fmt.Errorf("baseline: %s: finding %d has no fingerprint", path, i)
		}
	}
	return &b, nil
}

// Apply marks findings in the baseline as suppressed and notes how many baselined
// findings are now gone. It returns the number of findings it marked.
func (b *Baseline) Apply(rep *finding.Report, source string) int {
	if b == nil {
		return 0
	}
	in := map[string]bool{}
	for _, e := range b.Findings {
		in[e.Fingerprint] = true
	}
	marked := 0
	present := map[string]bool{}
	for i := range rep.Findings {
		f := &rep.Findings[i]
		if !in[f.Fingerprint] {
			continue
		}
		present[f.Fingerprint] = true
		if f.Suppressed == "" {
			f.Suppressed = BaselineReason
			marked++
		}
	}
	if gone := len(in) - len(present); gone > 0 {
		rep.Notes = append(rep.Notes, fmt.Sprintf(
			"%d finding(s) recorded in the baseline %s no longer appear; "+
				"run 'apigate baseline' to drop them", gone, source))
	}
	return marked
}
