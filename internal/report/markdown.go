package report

import (
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"

	"github.com/apigate/apigate/internal/finding"
)

// Size limits of the places the Markdown report goes. GitHub rejects an issue comment body
// over 65,536 characters and drops a step summary over 1 MiB; the writer measures bytes,
// which is never less than characters, and keeps a margin.
const (
	MaxCommentBytes = 65536 - 1024
	MaxSummaryBytes = 1<<20 - 4096
)

// maxStoredFingerprints bounds the fingerprint list hidden in a comment so that it can never
// crowd out the findings themselves (17 bytes each).
const maxStoredFingerprints = 1500

// MarkdownOptions shapes the Markdown report for a pull request comment or a job summary.
type MarkdownOptions struct {
	Options
	// Previous holds the active finding fingerprints of the previous run (read from the
	// earlier comment); with HasPrevious false no new/fixed counts are shown.
	Previous    []string
	HasPrevious bool
	// FailOn is the threshold that decides the run's verdict; 0 shows no verdict line.
	FailOn finding.Severity
	// FileURL, when set, turns locations into links: FileURL + path + "#L" + line, e.g.
	// "https://github.com/o/r/blob/<sha>/".
	FileURL string
	// MaxBytes caps the output; 0 means MaxSummaryBytes. The findings table and details
	// are cut first, with a count of what was left out.
	MaxBytes int
	// Footer is an extra line at the end (e.g. a link to the run and the Security tab).
	Footer string
}

// Markdown writes the report as Markdown for a file or a job summary.
func Markdown(w io.Writer, rep *finding.Report, opts Options) error {
	_, err := io.WriteString(w, MarkdownReport(rep, MarkdownOptions{Options: opts}))
	return err
}

// CommentMarker is the hidden first line of apigate's pull request comment for a category;
// the sticky comment is found by it (and by its author).
func CommentMarker(category string) string {
	if category == "" {
		category = DefaultCategory
	}
	return fmt.Sprintf("<!-- apigate:comment category=%s -->", sanitizeCategory(category))
}

func fingerprintMarker(category string) string {
	if category == "" {
		category = DefaultCategory
	}
	return fmt.Sprintf("<!-- apigate:fingerprints category=%s ", sanitizeCategory(category))
}

var fingerprintRE = regexp.MustCompile(`^[0-9A-Za-z_.:-]{1,128}$`)

// ParseFingerprints reads the fingerprints hidden at the end of an earlier comment. It
// reads the last fingerprint block, which is the one apigate wrote: evidence quoted above it
// cannot add or move one.
func ParseFingerprints(body, category string) ([]string, bool) {
	m := fingerprintMarker(category)
	i := strings.LastIndex(body, m)
	if i < 0 {
		return nil, false
	}
	rest := body[i+len(m):]
	end := strings.Index(rest, "-->")
	if end < 0 {
		return nil, false
	}
	var fps []string
	for _, f := range strings.Split(strings.TrimSpace(rest[:end]), ",") {
		if fingerprintRE.MatchString(f) {
			fps = append(fps, f)
		}
	}
	return fps, true
}

// Delta compares this run with the previous run's fingerprints.
type Delta struct {
	// New marks the fingerprints of active findings the previous run did not have.
	New map[string]bool
	// Fixed counts previous findings that are gone (neither active nor suppressed now).
	Fixed int
}

// Compare computes the delta of rep against the previous run's active fingerprints.
func Compare(rep *finding.Report, previous []string) Delta {
	prev := map[string]bool{}
	for _, p := range previous {
		prev[p] = true
	}
	d := Delta{New: map[string]bool{}}
	now := map[string]bool{}
	for _, f := range rep.Findings {
		fp := Fingerprint(f)
		now[fp] = true
		if f.Suppressed == "" && !prev[fp] {
			d.New[fp] = true
		}
	}
	for p := range prev {
		if !now[p] {
			d.Fixed++
		}
	}
	return d
}

// MarkdownReport renders the report: a verdict line, new/fixed/suppressed counts, the
// checklist scorecard, a findings table (highest severity first) and a details block per
// finding with its evidence and curl line, then the hidden fingerprints. It stays within
// opts.MaxBytes by cutting table rows and details, and says how many it left out.
func MarkdownReport(rep *finding.Report, opts MarkdownOptions) string {
	limit := opts.MaxBytes
	if limit <= 0 {
		limit = MaxSummaryBytes
	}
	category := opts.Category
	if category == "" {
		category = DefaultCategory
	}
	active := rep.Active()
	finding.Sort(active)
	var suppressed []finding.Finding
	for _, f := range rep.Findings {
		if f.Suppressed != "" {
			suppressed = append(suppressed, f)
		}
	}
	var delta Delta
	if opts.HasPrevious && rep.Complete() {
		delta = Compare(rep, opts.Previous)
	}

	var head strings.Builder
	head.WriteString(CommentMarker(category) + "\n")
	writeHeader(&head, rep, opts, active, suppressed, delta)
	writeScorecard(&head, rep, active)

	tail := markdownTail(rep, opts, category, active, suppressed, limit)

	// What is left is for the findings table and the details blocks.
	budget := limit - head.Len() - len(tail) - 400
	var body strings.Builder
	if len(active) > 0 {
		writeFindings(&body, active, opts, delta, budget)
	}
	return head.String() + body.String() + tail
}

func writeHeader(b *strings.Builder, rep *finding.Report, opts MarkdownOptions,
	active, suppressed []finding.Finding, delta Delta) {
	b.WriteString("## apigate API security scan\n\n")
	if !rep.Complete() {
		// A partial scan has no verdict: its findings are a lower bound, and a check
		// that never ran is not a pass.
		fmt.Fprintf(b, "⛔ **Scan failed:** %s\n\nThe results below are partial: checks "+
			"that did not run are not passes, and findings may be missing.\n\n",
			html(code(clip(rep.Error, 500))))
	} else if opts.FailOn > 0 {
		n := 0
		for _, f := range active {
			if f.Severity >= opts.FailOn {
				n++
			}
		}
		if n > 0 {
			fmt.Fprintf(b, "❌ **Failed:** %d finding(s) at or above `%s`.\n\n", n, opts.FailOn)
		} else if opts.FailOn > finding.SeverityCritical {
			b.WriteString("ℹ️ **Report only** (`fail-on: none`).\n\n")
		} else {
			fmt.Fprintf(b, "✅ **Passed:** no finding at or above `%s`.\n\n", opts.FailOn)
		}
	}
	target := "the API"
	if rep.Target != "" {
		target = "`" + code(rep.Target) + "`"
	}
	fmt.Fprintf(b, "Scanned %s in %.1fs with %d requests", target, rep.Duration, rep.Requests)
	if rep.Version != "" {
		fmt.Fprintf(b, " (apigate %s)", cell(rep.Version))
	}
	b.WriteString(".\n\n")

	counts := map[finding.Severity]int{}
	for _, f := range active {
		counts[f.Severity]++
	}
	var parts []string
	for s := finding.SeverityCritical; s >= finding.SeverityInfo; s-- {
		if counts[s] > 0 {
			parts = append(parts, fmt.Sprintf("%s %d %s", severityIcon(s), counts[s], s))
		}
	}
	line := fmt.Sprintf("**%d active finding(s)**", len(active))
	if len(parts) > 0 {
		line += ": " + strings.Join(parts, " · ")
	}
	b.WriteString(line + "\n\n")
	switch {
	case !rep.Complete():
		fmt.Fprintf(b, "Not compared with the previous run (the scan is partial) · "+
			"**%d suppressed**\n\n", len(suppressed))
	case opts.HasPrevious:
		fmt.Fprintf(b, "Since the previous run: **%d new** · **%d fixed** · **%d suppressed**\n\n",
			len(delta.New), delta.Fixed, len(suppressed))
	default:
		fmt.Fprintf(b, "No previous run to compare with · **%d suppressed**\n\n", len(suppressed))
	}
}

func writeScorecard(b *strings.Builder, rep *finding.Report, active []finding.Finding) {
	passed := 0
	for _, c := range finding.Checks {
		if rep.Result(c).Status == finding.StatusPass {
			passed++
		}
	}
	fmt.Fprintf(b, "### Checklist: %d of %d passed\n\n", passed, len(finding.Checks))
	b.WriteString("| # | Check | Result | Findings | Why |\n|---:|---|---|---:|---|\n")
	for _, c := range finding.Checks {
		cr := rep.Result(c)
		n := 0
		for _, f := range active {
			if f.Check == c {
				n++
			}
		}
		fmt.Fprintf(b, "| %d | %s | %s %s | %d | %s |\n", c.Number(), c.Title(),
			statusIcon(cr.Status), cr.Status, n, cell(clip(cr.Reason, 300)))
	}
	b.WriteString("\n")
}

// writeFindings writes the table and then the details blocks, each only as far as budget
// allows, with a line saying how many rows or blocks were left out.
func writeFindings(b *strings.Builder, active []finding.Finding, opts MarkdownOptions,
	delta Delta, budget int) {
	fmt.Fprintf(b, "### Findings\n\n")
	b.WriteString("| Severity | Rule | Endpoint | Evidence | Location |\n|---|---|---|---|---|\n")
	shown := 0
	for _, f := range active {
		row := findingRow(f, opts, delta)
		if b.Len()+len(row) > budget {
			break
		}
		b.WriteString(row)
		shown++
	}
	if shown < len(active) {
		fmt.Fprintf(b, "\n… and **%d more finding(s)** not shown here for size; the SARIF "+
			"report and the repository's Security tab list them all.\n", len(active)-shown)
	}
	b.WriteString("\n")

	detailed := 0
	for _, f := range active[:shown] {
		block := findingDetails(f, opts)
		if b.Len()+len(block) > budget {
			break
		}
		b.WriteString(block)
		detailed++
	}
	if detailed < shown {
		fmt.Fprintf(b, "_Details of %d finding(s) left out for size._\n\n", shown-detailed)
	}
}

func findingRow(f finding.Finding, opts MarkdownOptions, delta Delta) string {
	sev := fmt.Sprintf("%s %s", severityIcon(f.Severity), f.Severity)
	if delta.New[Fingerprint(f)] {
		sev += " 🆕"
	}
	endpoint := strings.TrimSpace(f.Method + " " + f.Path)
	return fmt.Sprintf("| %s | `%s` | `%s` | %s | %s |\n", sev, code(f.Rule), code(endpoint),
		cell(clip(evidenceSummary(f), 200)), locationLink(f, opts))
}

// evidenceSummary is one line: the finding's title and the status that proved it.
func evidenceSummary(f finding.Finding) string {
	s := firstNonEmpty(f.Title, f.Rule)
	if f.Evidence.Status != 0 {
		s += fmt.Sprintf(" (HTTP %d)", f.Evidence.Status)
	}
	return s
}

func locationLink(f finding.Finding, opts MarkdownOptions) string {
	l := f.Location
	if l == nil || !usableFile(l.File) {
		return "—"
	}
	file := cleanRepoPath(l.File, opts.SourceRoot)
	label := fmt.Sprintf("%s:%d", file, max(l.Line, 1))
	if opts.FileURL == "" {
		return "`" + code(label) + "`"
	}
	return fmt.Sprintf("[%s](%s%s#L%d)", cell(label), opts.FileURL, file, max(l.Line, 1))
}

func findingDetails(f finding.Finding, opts MarkdownOptions) string {
	var b strings.Builder
	fmt.Fprintf(&b, "<details><summary>%s <b>%s</b> <code>%s</code> %s</summary>\n\n",
		severityIcon(f.Severity), html(f.Rule), html(strings.TrimSpace(f.Method+" "+f.Path)),
		html(firstNonEmpty(f.Title, f.Rule)))
	var tax []string
	tax = append(tax, f.CWE...)
	if f.OWASP != "" {
		tax = append(tax, "OWASP "+f.OWASP)
	}
	fmt.Fprintf(&b, "Severity **%s**, confidence %s", f.Severity, f.Confidence)
	if len(tax) > 0 {
		fmt.Fprintf(&b, ", %s", html(strings.Join(tax, ", ")))
	}
	fmt.Fprintf(&b, ". [Rule %s](%s#%s)", html(f.Rule), DocsBase, f.Rule)
	if loc := locationLink(f, opts); loc != "—" {
		fmt.Fprintf(&b, ", defined at %s", loc)
	}
	b.WriteString(".\n\n")
	ev := f.Evidence
	if ev.Request != "" {
		status := "no response"
		if ev.Status != 0 {
			status = fmt.Sprintf("HTTP %d", ev.Status)
		}
		fmt.Fprintf(&b, "Request: `%s` → %s\n\n", code(ev.Request), status)
	}
	if ev.Detail != "" {
		b.WriteString(html(ev.Detail) + "\n\n")
	}
	if ev.Excerpt != "" {
		b.WriteString(fenced("text", clip(ev.Excerpt, 1200)))
	}
	if r, ok := opts.rule(f.Rule); ok && strings.TrimSpace(r.Help) != "" {
		b.WriteString("**Fix:** " + strings.TrimSpace(r.Help) + "\n\n")
	}
	if f.Curl != "" {
		b.WriteString("Reproduce:\n\n" + fenced("sh", f.Curl))
	}
	b.WriteString("</details>\n\n")
	return b.String()
}

// markdownTail is everything after the findings: suppressed findings, notes, the footer and
// the hidden fingerprint list. Its size is reserved before the findings are written.
func markdownTail(rep *finding.Report, opts MarkdownOptions, category string,
	active, suppressed []finding.Finding, limit int) string {
	var b strings.Builder
	if len(suppressed) > 0 {
		fmt.Fprintf(&b, "<details><summary>%d suppressed finding(s)</summary>\n\n", len(suppressed))
		for i, f := range suppressed {
			if i == 50 || b.Len() > limit/8 {
				fmt.Fprintf(&b, "- … and %d more\n", len(suppressed)-i)
				break
			}
			fmt.Fprintf(&b, "- `%s` `%s`: %s\n", code(f.Rule),
				code(strings.TrimSpace(f.Method+" "+f.Path)), html(clip(f.Suppressed, 200)))
		}
		b.WriteString("\n</details>\n\n")
	}
	notes := rep.Notes
	if rep.Error != "" {
		// The verdict line at the top already says why the scan failed; the note that
		// repeats it is for formats without such a line.
		notes = slices.DeleteFunc(slices.Clone(notes), func(n string) bool {
			return strings.HasSuffix(n, rep.Error)
		})
	}
	for i, n := range notes {
		if i == 20 {
			fmt.Fprintf(&b, "> Note: %d more notes in the JSON report.\n", len(notes)-i)
			break
		}
		fmt.Fprintf(&b, "> Note: %s\n", html(clip(n, 300)))
	}
	if len(notes) > 0 {
		b.WriteString("\n")
	}
	if opts.Footer != "" {
		b.WriteString(opts.Footer + "\n\n")
	}

	fps := make([]string, 0, len(active))
	for _, f := range active {
		fps = append(fps, Fingerprint(f))
	}
	if !rep.Complete() {
		// A partial scan is no baseline: compared with it, everything it did not reach
		// would count as fixed next time. It carries the previous run's list forward, or
		// leaves none.
		if !opts.HasPrevious {
			return b.String()
		}
		fps = slices.Clone(opts.Previous)
	}
	slices.Sort(fps)
	fps = slices.Compact(fps)
	if len(fps) > maxStoredFingerprints {
		fps = fps[:maxStoredFingerprints]
	}
	b.WriteString(fingerprintMarker(category) + strings.Join(fps, ",") + " -->\n")
	return b.String()
}

// fenced wraps s in a code fence longer than any backtick run inside it, so response text
// cannot close the block early.
func fenced(lang, s string) string {
	longest, run := 0, 0
	for _, r := range s {
		if r == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	fence := strings.Repeat("`", max(3, longest+1))
	return fence + lang + "\n" + strings.TrimRight(s, "\n") + "\n" + fence + "\n\n"
}

// cell makes untrusted text safe inside a table cell: one line, no pipe, no HTML.
func cell(s string) string {
	return html(code(s))
}

// code makes untrusted text safe inside a code span in a table cell: one line, no pipe, no
// backtick. Code spans show "<" literally, so nothing is HTML-escaped.
func code(s string) string {
	return strings.NewReplacer("\r", " ", "\n", " ", "|", "\\|", "`", "'").Replace(s)
}

// html escapes the characters that would let response text open tags or hidden comments.
func html(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// sanitizeCategory keeps a category from closing the HTML comment it is written in.
func sanitizeCategory(c string) string {
	return strings.Map(func(r rune) rune {
		if r == '>' || r == '<' || r == ' ' || r == '\n' || r == '\r' {
			return '_'
		}
		return r
	}, c)
}

func severityIcon(s finding.Severity) string {
	switch s {
	case finding.SeverityCritical:
		return "🟥"
	case finding.SeverityHigh:
		return "🔴"
	case finding.SeverityMedium:
		return "🟠"
	case finding.SeverityLow:
		return "🟡"
	}
	return "⚪"
}

func statusIcon(s finding.Status) string {
	switch s {
	case finding.StatusPass:
		return "✅"
	case finding.StatusFail:
		return "❌"
	case finding.StatusInconclusive:
		return "⚠️"
	}
	return "➖"
}
