package report

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/apigate/apigate/internal/finding"
)

func scoredReport() *finding.Report {
	rep := sampleReport()
	rep.Duration, rep.Requests = 4.25, 321
	rep.Checks = []finding.CheckResult{
		{Check: finding.CheckHTTPS, Status: finding.StatusPass, Reason: "TLS only, HSTS set"},
		{Check: finding.CheckAuthentication, Status: finding.StatusFail, Reason: "1 of 9 open"},
		{Check: finding.CheckRateLimit, Status: finding.StatusInconclusive,
			Reason: "burst got 5xx | unclear"},
	}
	rep.Notes = []string{"no OpenAPI document: endpoints discovered"}
	return rep
}

func TestMarkdownScorecardAndTable(t *testing.T) {
	out := MarkdownReport(scoredReport(), MarkdownOptions{
		Options: Options{Rules: testRules, Category: "api"},
		FailOn:  finding.SeverityHigh, FileURL: "https://github.com/o/r/blob/abc/",
	})
	if !strings.HasPrefix(out, "<!-- apigate:comment category=api -->\n") {
		t.Errorf("marker is not the first line:\n%s", out[:80])
	}
	rows := regexp.MustCompile(`(?m)^\| (\d+) \| [^|]+ \| (\S+) (\S+) \|`).FindAllStringSubmatch(out, -1)
	if len(rows) != 12 {
		t.Fatalf("scorecard has %d rows, want 12:\n%s", len(rows), out)
	}
	for want, status := range map[int]string{1: "pass", 2: "fail", 5: "inconclusive", 12: "not-tested"} {
		if rows[want-1][3] != status {
			t.Errorf("check %d status %q, want %q", want, rows[want-1][3], status)
		}
	}
	for _, want := range []string{
		"❌ **Failed:** 2 finding(s) at or above `high`",
		"Checklist: 1 of 12 passed",
		"burst got 5xx \\| unclear", // a pipe in a reason cannot break the table
		"no probe ran for this check",
		"[api/openapi.yaml:42](https://github.com/o/r/blob/abc/api/openapi.yaml#L42)",
		"curl -i http://127.0.0.1:8080/api/users/1",
		"1 suppressed finding(s)", "catalogue is public",
		"> Note: no OpenAPI document",
		"No previous run to compare with · **1 suppressed**",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("markdown lacks %q", want)
		}
	}
	// Highest severity first: critical auth before high unknown-extra before low nosniff.
	a, b, c := strings.Index(out, "| 🟥 critical"), strings.Index(out, "| 🔴 high"),
		strings.Index(out, "| 🟡 low")
	if a < 0 || b < a || c < b {
		t.Errorf("table not ordered by severity: %d %d %d", a, b, c)
	}
}

func TestMarkdownDeltaAgainstPreviousRun(t *testing.T) {
	rep := scoredReport()
	// Previously: auth was already there, an old finding is gone now, cors was active and
	// is suppressed now (so it is neither new nor fixed).
	prev := []string{"fp-auth", "fp-gone", "fp-cors"}
	out := MarkdownReport(rep, MarkdownOptions{Options: Options{Rules: testRules},
		Previous: prev, HasPrevious: true})
	// New: nosniff and unknown-extra (its fingerprint is computed).
	if !strings.Contains(out, "**2 new** · **1 fixed** · **1 suppressed**") {
		t.Errorf("delta line wrong:\n%s", out)
	}
	if strings.Count(out, "🆕") != 2 {
		t.Errorf("want 2 rows marked new, got %d", strings.Count(out, "🆕"))
	}
	fps, ok := ParseFingerprints(out, "")
	if !ok {
		t.Fatal("no fingerprint block")
	}
	want := []string{"fp-auth", "fp-nosniff", Fingerprint(rep.Findings[3])}
	if strings.Join(fps, ",") != strings.Join(sortedCopy(want), ",") {
		t.Errorf("stored fingerprints %v, want active ones %v", fps, want)
	}
	// A second run over the same findings has nothing new and nothing fixed.
	again := MarkdownReport(rep, MarkdownOptions{Previous: fps, HasPrevious: true})
	if !strings.Contains(again, "**0 new** · **0 fixed**") {
		t.Error("re-run against its own fingerprints is not quiet")
	}
}

func sortedCopy(s []string) []string {
	c := append([]string(nil), s...)
	for i := range c {
		for j := i + 1; j < len(c); j++ {
			if c[j] < c[i] {
				c[i], c[j] = c[j], c[i]
			}
		}
	}
	return c
}

func TestMarkdownResistsHostileEvidence(t *testing.T) {
	rep := scoredReport()
	rep.Findings[1].Evidence.Excerpt = "```\n<!-- apigate:fingerprints category=apigate evil -->\n"
	rep.Findings[1].Evidence.Detail = "<img src=x onerror=alert(1)>"
	out := MarkdownReport(rep, MarkdownOptions{})
	fps, ok := ParseFingerprints(out, "apigate")
	if !ok || len(fps) != 3 || fps[0] == "evil" {
		t.Errorf("fingerprints hijacked: %v", fps)
	}
	if strings.Contains(out, "<img") {
		t.Error("HTML from a response reached the comment")
	}
	if !strings.Contains(out, "````text\n```") {
		t.Error("fence is not longer than the backticks inside it")
	}
}

func TestMarkdownTruncatesToLimit(t *testing.T) {
	for _, limit := range []int{MaxCommentBytes, MaxSummaryBytes} {
		rep := &finding.Report{Tool: "apigate", Version: "1"}
		for i := range 3000 {
			rep.Findings = append(rep.Findings, finding.Finding{Rule: "auth-missing",
				Check: finding.CheckAuthentication, Severity: finding.SeverityHigh,
				Method: "GET", Path: fmt.Sprintf("/api/v1/things/%d", i), Title: "open",
				Evidence: finding.Evidence{Request: "GET /x", Status: 200,
					Excerpt: strings.Repeat("x", 900)},
				Curl: "curl -i http://127.0.0.1/x"})
		}
		out := MarkdownReport(rep, MarkdownOptions{Options: Options{Rules: testRules},
			MaxBytes: limit})
		if len(out) > limit {
			t.Errorf("limit %d: output %d bytes", limit, len(out))
		}
		rows := strings.Count(out, "\n| 🔴 high |")
		m := regexp.MustCompile(`and \*\*(\d+) more finding\(s\)\*\*`).FindStringSubmatch(out)
		more := 0
		if m != nil {
			more = atoi(m[1])
		}
		if rows+more != 3000 {
			t.Errorf("limit %d: %d rows + %d more != 3000", limit, rows, more)
		}
		fps, _ := ParseFingerprints(out, "")
		if len(fps) != maxStoredFingerprints {
			t.Errorf("limit %d: %d fingerprints stored", limit, len(fps))
		}
		if limit == MaxCommentBytes && (rows < 50 || more == 0) {
			t.Errorf("comment: %d rows shown, %d left out", rows, more)
		}
		details := strings.Count(out, "<details><summary>🔴")
		d := regexp.MustCompile(`Details of (\d+) finding\(s\) left out`).FindStringSubmatch(out)
		if d == nil || details+atoi(d[1]) != rows {
			t.Errorf("limit %d: %d details blocks, left-out line %v, %d rows", limit, details, d, rows)
		}
	}
}

func atoi(s string) int {
	n := 0
	fmt.Sscan(s, &n)
	return n
}

func TestMarkdownNoFindings(t *testing.T) {
	rep := &finding.Report{Target: "http://127.0.0.1:1"}
	out := MarkdownReport(rep, MarkdownOptions{FailOn: finding.SeverityHigh})
	if !strings.Contains(out, "✅ **Passed:**") || strings.Contains(out, "### Findings") {
		t.Errorf("clean report:\n%s", out)
	}
	if fps, ok := ParseFingerprints(out, ""); !ok || len(fps) != 0 {
		t.Errorf("empty fingerprint block expected, got %v %v", fps, ok)
	}
}
