package report

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/apigate/apigate/internal/finding"
)

// Text writes the report for a terminal: a scorecard line per check, then the findings
// grouped by check, each with its evidence, why it matters, the fix and a curl line.
func Text(w io.Writer, rep *finding.Report, opts Options) error {
	b := bufio.NewWriter(w)
	p := painter{on: opts.Color}

	fmt.Fprintf(b, "%s %s scanned %s in %.1fs (%d requests)\n\n",
		p.bold("apigate"), rep.Version, rep.Target, rep.Duration, rep.Requests)

	fmt.Fprintln(b, p.bold("Checklist"))
	for _, c := range finding.Checks {
		cr := rep.Result(c)
		n := 0
		for _, f := range rep.Active() {
			if f.Check == c {
				n++
			}
		}
		status := p.status(cr.Status)
		count := ""
		if n > 0 {
			count = fmt.Sprintf(" (%d)", n)
		}
		fmt.Fprintf(b, "  %2d  %-28s %s%s\n", c.Number(), c.Title(), status, count)
		if cr.Reason != "" {
			fmt.Fprintf(b, "      %s\n", p.dim(wrap(cr.Reason, 88, "      ")))
		}
	}
	fmt.Fprintln(b)

	active := rep.Active()
	if len(active) == 0 {
		fmt.Fprintln(b, "No findings.")
	}
	for _, c := range finding.Checks {
		var fs []finding.Finding
		for _, f := range active {
			if f.Check == c {
				fs = append(fs, f)
			}
		}
		if len(fs) == 0 {
			continue
		}
		fmt.Fprintf(b, "%s\n\n", p.bold(fmt.Sprintf("%d. %s", c.Number(), c.Title())))
		for _, f := range fs {
			writeTextFinding(b, p, f, opts)
		}
	}

	if sup := len(rep.Findings) - len(active); sup > 0 {
		fmt.Fprintf(b, "%d finding(s) suppressed:\n", sup)
		for _, f := range rep.Findings {
			if f.Suppressed != "" {
				fmt.Fprintf(b, "  - %s %s %s: %s\n", f.Rule, f.Method, f.Path, f.Suppressed)
			}
		}
		fmt.Fprintln(b)
	}
	writeVariables(b, p, active)
	for _, n := range rep.Notes {
		fmt.Fprintf(b, "note: %s\n", n)
	}

	counts := rep.CountBySeverity()
	var parts []string
	for s := finding.SeverityCritical; s >= finding.SeverityInfo; s-- {
		if counts[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[s], s))
		}
	}
	summary := "no findings"
	if len(parts) > 0 {
		summary = strings.Join(parts, ", ")
	}
	fmt.Fprintf(b, "%s %d finding(s): %s\n", p.bold("Summary:"), len(active), summary)
	return b.Flush()
}

func writeTextFinding(b *bufio.Writer, p painter, f finding.Finding, opts Options) {
	fmt.Fprintf(b, "  %s %s  %s %s\n", p.severity(f.Severity), f.Title, f.Method, f.Path)
	tax := strings.Join(append(append([]string{}, f.CWE...), f.OWASP), ", ")
	fmt.Fprintf(b, "    rule %s, confidence %s, %s\n", f.Rule, f.Confidence, tax)
	if f.Location != nil {
		fmt.Fprintf(b, "    defined at %s:%d\n", f.Location.File, f.Location.Line)
	}
	ev := f.Evidence
	if ev.Request != "" {
		status := "no response"
		if ev.Status != 0 {
			status = fmt.Sprint(ev.Status)
		}
		fmt.Fprintf(b, "    evidence: %s -> %s\n", ev.Request, status)
	}
	if ev.Detail != "" {
		fmt.Fprintf(b, "      %s\n", wrap(ev.Detail, 86, "      "))
	}
	if ev.Excerpt != "" {
		for _, line := range strings.Split(strings.TrimRight(ev.Excerpt, "\n"), "\n") {
			fmt.Fprintf(b, "      | %s\n", line)
		}
	}
	if r, ok := opts.rule(f.Rule); ok && r.Help != "" {
		fmt.Fprintf(b, "    %s\n", wrap(plainHelp(r.Help), 86, "    "))
	}
	if f.Curl != "" {
		fmt.Fprintf(b, "    reproduce: %s\n", f.Curl)
	}
	fmt.Fprintln(b)
}

// plainHelp flattens rule help written in Markdown into one paragraph for a terminal.
func plainHelp(md string) string {
	md = strings.ReplaceAll(md, "`", "")
	md = strings.ReplaceAll(md, "**", "")
	return strings.Join(strings.Fields(md), " ")
}

// wrap folds s at width columns, indenting continuation lines with indent.
func wrap(s string, width int, indent string) string {
	words := strings.Fields(s)
	var b strings.Builder
	col := 0
	for i, w := range words {
		if i > 0 && col+1+len(w) > width {
			b.WriteString("\n" + indent)
			col = 0
		} else if i > 0 {
			b.WriteByte(' ')
			col++
		}
		b.WriteString(w)
		col += len(w)
	}
	return b.String()
}

type painter struct{ on bool }

func (p painter) wrap(code, s string) string {
	if !p.on {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}

func (p painter) bold(s string) string { return p.wrap("1", s) }
func (p painter) dim(s string) string  { return p.wrap("2", s) }

func (p painter) status(s finding.Status) string {
	label := strings.ToUpper(string(s))
	switch s {
	case finding.StatusPass:
		return p.wrap("32", label)
	case finding.StatusFail:
		return p.wrap("31;1", label)
	case finding.StatusInconclusive:
		return p.wrap("33", label)
	}
	return p.wrap("2", label)
}

func (p painter) severity(s finding.Severity) string {
	label := fmt.Sprintf("[%s]", strings.ToUpper(s.String()))
	switch s {
	case finding.SeverityCritical, finding.SeverityHigh:
		return p.wrap("31;1", label)
	case finding.SeverityMedium:
		return p.wrap("33;1", label)
	}
	return p.wrap("36", label)
}
