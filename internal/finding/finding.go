// Package finding holds the plain data that probes produce and reports consume: findings,
// their severities, and the per-check verdicts of a scan. It has no behaviour beyond ordering
// and parsing, so every output format can depend on it without pulling in the scanner.
package finding

import (
	"fmt"
	"strings"
)

// Check names one item of the API security checklist. The string values are part of the
// JSON report's stable interface.
type Check string

// The twelve checks, in checklist order.
const (
	CheckHTTPS               Check = "https"
	CheckAuthentication      Check = "authentication"
	CheckObjectAuthorization Check = "object-authorization"
	CheckInputValidation     Check = "input-validation"
	CheckRateLimit           Check = "rate-limit"
	CheckDataExposure        Check = "data-exposure"
	CheckSafeErrors          Check = "safe-errors"
	CheckCORS                Check = "cors"
	CheckVersioning          Check = "versioning"
	CheckLogging             Check = "logging"
	CheckMassAssignment      Check = "mass-assignment"
	CheckSecurityHeaders     Check = "security-headers"
)

// Checks lists every check in checklist order; reports print them in this order.
var Checks = []Check{
	CheckHTTPS, CheckAuthentication, CheckObjectAuthorization, CheckInputValidation,
	CheckRateLimit, CheckDataExposure, CheckSafeErrors, CheckCORS, CheckVersioning,
	CheckLogging, CheckMassAssignment, CheckSecurityHeaders,
}

// Title is the human name of a check, as the checklist words it.
func (c Check) Title() string {
	switch c {
	case CheckHTTPS:
		return "HTTPS only"
	case CheckAuthentication:
		return "Authentication"
	case CheckObjectAuthorization:
		return "Per-object authorization"
	case CheckInputValidation:
		return "Input validation"
	case CheckRateLimit:
		return "Rate limiting"
	case CheckDataExposure:
		return "Data exposure"
	case CheckSafeErrors:
		return "Safe errors"
	case CheckCORS:
		return "CORS"
	case CheckVersioning:
		return "Versioning and deprecation"
	case CheckLogging:
		return "Logging and monitoring"
	case CheckMassAssignment:
		return "Mass assignment"
	case CheckSecurityHeaders:
		return "Security headers"
	}
	return string(c)
}

// Number is the check's position in the checklist: 1 to 10 for the ten points, 11 and 12 for
// the two additions.
func (c Check) Number() int {
	for i, x := range Checks {
		if x == c {
			return i + 1
		}
	}
	return 0
}

// Severity orders findings. The zero value is not a valid severity.
type Severity int

// Severities from least to most severe, so that comparisons read naturally.
const (
	SeverityInfo Severity = iota + 1
	SeverityLow
	SeverityMedium
	SeverityHigh
	SeverityCritical
)

var severityNames = map[Severity]string{
	SeverityInfo:     "info",
	SeverityLow:      "low",
	SeverityMedium:   "medium",
	SeverityHigh:     "high",
	SeverityCritical: "critical",
}

func (s Severity) String() string {
	if n, ok := severityNames[s]; ok {
		return n
	}
	return fmt.Sprintf("severity(%d)", int(s))
}

// MarshalText writes the lowercase name, as the JSON report expects.
func (s Severity) MarshalText() ([]byte, error) {
	if _, ok := severityNames[s]; !ok {
		return nil, fmt.Errorf("invalid severity %d", int(s))
	}
	return []byte(s.String()), nil
}

// UnmarshalText reads a name written by MarshalText.
func (s *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// ParseSeverity reads a severity name, case-insensitively.
func ParseSeverity(name string) (Severity, error) {
	for s, n := range severityNames {
		if strings.EqualFold(name, n) {
			return s, nil
		}
	}
	return 0, fmt.Errorf("unknown severity %q (want critical, high, medium, low or info)", name)
}

// SecuritySeverity is the CVSS-like score code scanning expects in a rule's
// "security-severity" property. Each value sits inside the band GitHub maps to the same
// level, so the alert's level matches the finding's severity.
func (s Severity) SecuritySeverity() string {
	switch s {
	case SeverityCritical:
		return "9.5"
	case SeverityHigh:
		return "8.0"
	case SeverityMedium:
		return "5.5"
	case SeverityLow:
		return "3.0"
	}
	return "0.0"
}

// Confidence says how sure a probe is that a finding is real, separately from how bad it
// would be.
type Confidence string

// Confidence levels.
const (
	ConfidenceHigh   Confidence = "high"
	ConfidenceMedium Confidence = "medium"
	ConfidenceLow    Confidence = "low"
)

// Evidence is what a reviewer needs to check a finding in seconds. Every string in it has
// already passed through the scanner's secret redaction.
type Evidence struct {
	// Request is the request line, e.g. "GET http://127.0.0.1:8080/api/me".
	Request string `json:"request"`
	// Status is the response status code, 0 when no response arrived.
	Status int `json:"status,omitempty"`
	// Excerpt is the part of the response (headers or body) that proves the finding.
	Excerpt string `json:"excerpt,omitempty"`
	// Detail explains in a sentence what the excerpt shows.
	Detail string `json:"detail,omitempty"`
}

// Location anchors a finding to a line of the scanned repository, for code scanning and
// annotations. File is relative to the repository root.
type Location struct {
	File   string `json:"file"`
	Line   int    `json:"line"`
	Column int    `json:"column,omitempty"`
	// Kind says what was found at that line: "openapi", "route" or "compose".
	Kind string `json:"kind,omitempty"`
}

// Finding is one proven problem. Its JSON field names are a stable interface.
type Finding struct {
	Rule       string     `json:"rule"`
	Check      Check      `json:"check"`
	Severity   Severity   `json:"severity"`
	Confidence Confidence `json:"confidence"`
	Method     string     `json:"method"`
	Path       string     `json:"path"`
	Title      string     `json:"title"`
	Evidence   Evidence   `json:"evidence"`
	Curl       string     `json:"curl"`

	// URL is the full address the evidence came from.
	URL string `json:"url,omitempty"`
	// CWE and OWASP repeat the rule's taxonomy so a reader of the JSON needs no rule table.
	CWE   []string `json:"cwe,omitempty"`
	OWASP string   `json:"owasp,omitempty"`
	// Location is filled in after probing, when the finding can be tied to a source line.
	Location *Location `json:"location,omitempty"`
	// Key distinguishes findings of one rule on one operation, e.g. the header name of a
	// version banner; stable across runs. Empty when the rule finds at most one thing per
	// operation, which keeps those fingerprints as they were.
	Key string `json:"key,omitempty"`
	// Fingerprint identifies the finding across runs: rule, method, path template and Key.
	Fingerprint string `json:"fingerprint,omitempty"`
	// Suppressed is set, with the reason, when a suppression or the baseline matched.
	Suppressed string `json:"suppressed,omitempty"`
	// Variables explains the ${LABEL} shell variables Curl uses in place of secrets: label
	// -> where the reader gets the value.
	Variables map[string]string `json:"variables,omitempty"`
}

// Status is a check's verdict.
type Status string

// Verdicts. NotTested and Inconclusive are never reported as passing.
const (
	StatusPass         Status = "pass"
	StatusFail         Status = "fail"
	StatusInconclusive Status = "inconclusive"
	StatusNotTested    Status = "not-tested"
)

// CheckResult is the verdict of one check with the reason behind it.
type CheckResult struct {
	Check  Check  `json:"check"`
	Status Status `json:"status"`
	Reason string `json:"reason"`
	// Requests counts the HTTP requests the check sent.
	Requests int `json:"requests,omitempty"`
}
