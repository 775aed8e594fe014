package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/apigate/apigate/probes"
)

// cmdRules lists every rule with its checklist item, severity and taxonomy.
func cmdRules(args []string, stdout, stderr io.Writer) error {
	fs := flagSet("rules", stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RULE\tCHECK\tSEVERITY\tCWE\tOWASP\tDESCRIPTION")
	for _, r := range probes.AllRules() {
		fmt.Fprintf(tw, "%s\t%d %s\t%s\t%s\t%s\t%s\n", r.ID, r.Check.Number(), r.Check,
			r.Severity, strings.Join(r.CWE, ","), r.OWASP, r.Summary)
	}
	return tw.Flush()
}
