package finding

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestSeverityText(t *testing.T) {
	for s := SeverityInfo; s <= SeverityCritical; s++ {
		b, err := s.MarshalText()
		if err != nil {
			t.Fatalf("MarshalText(%d): %v", s, err)
		}
		var back Severity
		if err := back.UnmarshalText(b); err != nil || back != s {
			t.Errorf("round trip of %s gave %v, %v", b, back, err)
		}
	}
	if _, err := Severity(0).MarshalText(); err == nil {
		t.Error("the zero severity must not marshal: it would hide a probe that forgot to set one")
	}
	if s, err := ParseSeverity("HIGH"); err != nil || s != SeverityHigh {
		t.Errorf("ParseSeverity(HIGH) = %v, %v", s, err)
	}
	if _, err := ParseSeverity("severe"); err == nil || !strings.Contains(err.Error(), "critical, high") {
		t.Errorf("ParseSeverity(severe) error = %v, want one listing the valid names", err)
	}
}

// GitHub maps security-severity bands to levels; each severity must land in its own band.
func TestSecuritySeverityBands(t *testing.T) {
	bands := map[Severity][2]float64{
		SeverityCritical: {9.0, 10}, SeverityHigh: {7.0, 8.9},
		SeverityMedium: {4.0, 6.9}, SeverityLow: {0.1, 3.9},
	}
	for s, band := range bands {
		var v float64
		if err := json.Unmarshal([]byte(s.SecuritySeverity()), &v); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		if v < band[0] || v > band[1] {
			t.Errorf("%s security-severity %v outside GitHub's band %v", s, v, band)
		}
	}
}

func TestChecksNumberedInOrder(t *testing.T) {
	seen := map[string]bool{}
	for i, c := range Checks {
		if c.Number() != i+1 {
			t.Errorf("%s.Number() = %d, want %d", c, c.Number(), i+1)
		}
		if c.Title() == string(c) {
			t.Errorf("%s has no title", c)
		}
		if seen[c.Title()] {
			t.Errorf("title %q used twice", c.Title())
		}
		seen[c.Title()] = true
	}
	if len(Checks) != 12 {
		t.Errorf("%d checks, want the ten checklist items plus two", len(Checks))
	}
}

func TestReportCountsOnlyActiveFindings(t *testing.T) {
	r := &Report{Findings: []Finding{
		{Rule: "a", Severity: SeverityCritical},
		{Rule: "b", Severity: SeverityHigh, Suppressed: "accepted risk"},
		{Rule: "c", Severity: SeverityMedium},
		{Rule: "d", Severity: SeverityLow},
	}}
	if n := r.AtOrAbove(SeverityHigh); n != 1 {
		t.Errorf("AtOrAbove(high) = %d, want 1 (the suppressed high does not count)", n)
	}
	if n := r.AtOrAbove(SeverityLow); n != 3 {
		t.Errorf("AtOrAbove(low) = %d, want 3", n)
	}
	if c := r.CountBySeverity(); c[SeverityHigh] != 0 || c[SeverityCritical] != 1 {
		t.Errorf("CountBySeverity = %v", c)
	}
}

func TestResultDefaultsToNotTested(t *testing.T) {
	r := &Report{Checks: []CheckResult{{Check: CheckCORS, Status: StatusPass, Reason: "ok"}}}
	if got := r.Result(CheckCORS); got.Status != StatusPass {
		t.Errorf("Result(cors) = %+v", got)
	}
	if got := r.Result(CheckLogging); got.Status != StatusNotTested || got.Reason == "" {
		t.Errorf("a check with no verdict must read not-tested with a reason, got %+v", got)
	}
}

func TestSortOrder(t *testing.T) {
	fs := []Finding{
		{Rule: "z", Check: CheckCORS, Severity: SeverityLow, Path: "/a"},
		{Rule: "y", Check: CheckHTTPS, Severity: SeverityHigh, Path: "/b"},
		{Rule: "x", Check: CheckAuthentication, Severity: SeverityHigh, Path: "/a"},
		{Rule: "w", Check: CheckHTTPS, Severity: SeverityHigh, Path: "/a"},
		{Rule: "v", Check: CheckSafeErrors, Severity: SeverityCritical, Path: "/z"},
	}
	Sort(fs)
	var got []string
	for _, f := range fs {
		got = append(got, f.Rule)
	}
	if want := "v w y x z"; strings.Join(got, " ") != want {
		t.Errorf("order %v, want %s (severity, then checklist order, then path)", got, want)
	}
}
