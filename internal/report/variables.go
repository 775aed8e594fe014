package report

import (
	"bufio"
	"fmt"
	"sort"
	"strings"

	"github.com/apigate/apigate/internal/finding"
)

// unexplainedVariable describes a ${LABEL} no probe explained, such as a token an
// identity obtained by logging in again during the scan.
const unexplainedVariable = "a secret apigate was given or obtained during the scan; " +
	"reports never contain its value"

// writeVariables ends the findings with one line per ${LABEL} their reproduce lines use,
// saying where the value comes from, so the curl lines can be run after exporting them.
func writeVariables(b *bufio.Writer, p painter, fs []finding.Finding) {
	why := map[string]string{}
	for _, f := range fs {
		for _, l := range finding.CurlVariables(f.Curl) {
			if why[l] == "" {
				why[l] = f.Variables[l]
			}
		}
	}
	if len(why) == 0 {
		return
	}
	labels := make([]string, 0, len(why))
	width := 0
	for l := range why {
		labels = append(labels, l)
		width = max(width, len(l))
	}
	sort.Strings(labels)
	fmt.Fprintln(b, p.bold("Variables used in reproduce lines")+
		" (export them before running a curl line)")
	indent := strings.Repeat(" ", width+4)
	for _, l := range labels {
		text := why[l]
		if text == "" {
			text = unexplainedVariable
		}
		fmt.Fprintf(b, "  %-*s  %s\n", width, l, wrap(text, 86-width, indent))
	}
	fmt.Fprintln(b)
}
