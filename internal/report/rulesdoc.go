package report

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/apigate/apigate/internal/finding"
	"github.com/apigate/apigate/probes"
)

// RulesDoc writes docs/rules.md from the rule table: one section per rule, whose heading is
// the rule ID so that GitHub's heading anchor equals the ID and a SARIF rule's helpUri
// (DocsBase#<id>) lands on it. `go test ./internal/report -run TestRulesDoc -update`
// regenerates the file; the same test fails when the file and the table disagree.
func RulesDoc(w io.Writer, rules []probes.Rule) error {
	b := bufio.NewWriter(w)
	fmt.Fprintln(b, "# apigate rules")
	fmt.Fprintln(b)
	fmt.Fprintln(b, "<!-- Generated from the probes' rule table by "+
		"`go test ./internal/report -run TestRulesDoc -update`. Do not edit by hand. -->")
	fmt.Fprintln(b)
	fmt.Fprintln(b, "Every finding names one of these rules. Code scanning alerts link here; "+
		"`apigate rules` prints the same table.")
	fmt.Fprintln(b)
	if len(rules) == 0 {
		fmt.Fprintln(b, "No rules are registered yet.")
		return b.Flush()
	}

	fmt.Fprintln(b, "| Rule | Check | Severity | CWE | OWASP |")
	fmt.Fprintln(b, "|---|---|---|---|---|")
	for _, r := range rules {
		fmt.Fprintf(b, "| [`%s`](#%s) | %d. %s | %s | %s | %s |\n", r.ID, r.ID, r.Check.Number(),
			r.Check.Title(), r.Severity, strings.Join(r.CWE, ", "), r.OWASP)
	}
	for _, c := range finding.Checks {
		var in []probes.Rule
		for _, r := range rules {
			if r.Check == c {
				in = append(in, r)
			}
		}
		if len(in) == 0 {
			continue
		}
		fmt.Fprintf(b, "\n## %d. %s\n", c.Number(), c.Title())
		for _, r := range in {
			fmt.Fprintf(b, "\n### %s\n\n", r.ID)
			fmt.Fprintf(b, "**%s** - %s\n\n", firstNonEmpty(r.Title, r.ID), r.Summary)
			fmt.Fprintf(b, "Default severity: %s (security-severity %s).", r.Severity,
				r.Severity.SecuritySeverity())
			var tax []string
			for _, cwe := range r.CWE {
				tax = append(tax, cweLink(cwe))
			}
			if r.OWASP != "" {
				tax = append(tax, "OWASP "+r.OWASP)
			}
			if len(tax) > 0 {
				fmt.Fprintf(b, " %s.", strings.Join(tax, ", "))
			}
			fmt.Fprintln(b)
			if h := strings.TrimSpace(r.Help); h != "" {
				fmt.Fprintf(b, "\n%s\n", h)
			}
		}
	}
	return b.Flush()
}
