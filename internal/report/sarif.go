package report

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"unicode"

	"github.com/owenrumney/go-sarif/v2/sarif"

	"github.com/apigate/apigate/internal/finding"
	"github.com/apigate/apigate/probes"
)

// Code scanning limits (GitHub docs, "SARIF support for code scanning"). A file over a
// maximum is rejected whole, so the writer stays below each one itself.
const (
	// sarifMaxResults is the number of results code scanning keeps per run ("only the top
	// 5,000 results will be included"); the rejection limit is 25,000.
	sarifMaxResults = 5000
	// sarifMaxTags is how many tags per rule code scanning keeps (20 would be rejected).
	sarifMaxTags = 10
	// sarifMaxDescription bounds shortDescription and fullDescription texts.
	sarifMaxDescription = 1024
	// sarifMaxMessage keeps each result message readable and the file small.
	sarifMaxMessage = 4000
)

// DocsBase is where each rule's documentation lives; a rule's helpUri is DocsBase#<id>.
const DocsBase = "https://github.com/apigate/apigate/blob/main/docs/rules.md"

// DefaultCategory is the code scanning category used when none is given.
const DefaultCategory = "apigate"

// SARIF writes the report as SARIF 2.1.0 that GitHub code scanning accepts: one run, a rule
// for every known rule, and a result for every finding (suppressed ones carry a
// suppression). Every result is anchored to a repository file - the finding's own location,
// else opts.DefaultLocation at line 1 - never to the endpoint's http URL, which code
// scanning rejects as an artifact location; the URL is in the message instead.
func SARIF(w io.Writer, rep *finding.Report, opts Options) error {
	doc, err := buildSARIF(rep, opts)
	if err != nil {
		return err
	}
	// go-sarif writes some optional properties as null (e.g. a suppression's guid), which
	// the schema forbids; a round trip through a generic value drops them.
	var raw bytes.Buffer
	if err := doc.Write(&raw); err != nil {
		return fmt.Errorf("sarif: encode: %w", err)
	}
	var v any
	if err := json.Unmarshal(raw.Bytes(), &v); err != nil {
		return fmt.Errorf("sarif: re-read: %w", err)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(dropNulls(v)); err != nil {
		return fmt.Errorf("sarif: write: %w", err)
	}
	return nil
}

func buildSARIF(rep *finding.Report, opts Options) (*sarif.Report, error) {
	doc, err := sarif.New(sarif.Version210)
	if err != nil {
		return nil, fmt.Errorf("sarif: %w", err)
	}
	driver := sarif.NewVersionedDriver(rep.Tool, rep.Version).
		WithInformationURI("https://github.com/apigate/apigate")
	if driver.Name == "" {
		driver.Name = "apigate"
	}
	if rep.Version != "" {
		driver.WithSemanticVersion(rep.Version)
	}
	run := sarif.NewRun(*sarif.NewTool(driver))
	category := opts.Category
	if category == "" {
		category = DefaultCategory
	}
	run.WithAutomationDetails(sarif.NewRunAutomationDetails().WithID(category + "/"))

	findings := append([]finding.Finding(nil), rep.Findings...)
	finding.Sort(findings)

	rules, index := sarifRules(opts.rules(), findings)
	driver.WithRules(rules)

	kept := findings
	if len(kept) > sarifMaxResults {
		kept = kept[:sarifMaxResults]
	}
	seen := map[string]int{}
	unanchored := 0
	for _, f := range kept {
		res, fallback := sarifResult(f, index[f.Rule], opts, seen)
		if fallback {
			unanchored++
		}
		run.AddResult(res)
	}

	props := sarif.Properties{}
	if rep.Target != "" {
		props["target"] = rep.Target
	}
	var notes []string
	notes = append(notes, rep.Notes...)
	if n := len(findings) - len(kept); n > 0 {
		notes = append(notes, fmt.Sprintf("%d lower-severity findings were left out: code "+
			"scanning keeps at most %d results per run", n, sarifMaxResults))
	}
	if unanchored > 0 {
		notes = append(notes, fmt.Sprintf("%d findings had no source location and are anchored "+
			"to %s line 1", unanchored, fallbackFile(opts)))
	}
	if len(notes) > 0 {
		props["notes"] = notes
	}
	if len(props) > 0 {
		run.PropertyBag = sarif.PropertyBag{Properties: props}
	}
	run.WithInvocations([]*sarif.Invocation{invocation(rep)})
	doc.AddRun(run)
	return doc, nil
}

// invocation records whether the scan ran to its end. A failed scan's SARIF says so with
// executionSuccessful false and an error notification, so no consumer takes its short list
// of results for a clean one (and code scanning shows the failure on the tool's status).
func invocation(rep *finding.Report) *sarif.Invocation {
	success := rep.Complete()
	inv := &sarif.Invocation{ExecutionSuccessful: &success}
	if !success {
		inv.ToolExecutionNotifications = []*sarif.Notification{{
			Level:   "error",
			Message: sarif.NewTextMessage(clip(rep.Error, sarifMaxMessage)),
		}}
	}
	return inv
}

// sarifRules builds the rule table: every known rule, plus a generic entry for any rule a
// finding names that the table lacks, so every result has a valid ruleIndex.
func sarifRules(known []probes.Rule, findings []finding.Finding) ([]*sarif.ReportingDescriptor, map[string]int) {
	var list []probes.Rule
	index := map[string]int{}
	add := func(r probes.Rule) {
		if _, ok := index[r.ID]; ok {
			return
		}
		index[r.ID] = len(list)
		list = append(list, r)
	}
	for _, r := range known {
		add(r)
	}
	for _, f := range findings {
		if _, ok := index[f.Rule]; !ok {
			add(probes.Rule{ID: f.Rule, Check: f.Check, Title: f.Title, Severity: f.Severity,
				CWE: f.CWE, OWASP: f.OWASP})
		}
	}

	// A finding may raise or lower its rule's default severity, but code scanning reads
	// security-severity from the rule only; the rule therefore carries the highest severity
	// any of its active findings has, so an alert never looks milder than its evidence.
	worst := map[string]finding.Severity{}
	lowest := map[string]finding.Confidence{}
	for _, f := range findings {
		if f.Suppressed == "" && f.Severity > worst[f.Rule] {
			worst[f.Rule] = f.Severity
		}
		if confRank(f.Confidence) < confRank(lowest[f.Rule]) || lowest[f.Rule] == "" {
			lowest[f.Rule] = f.Confidence
		}
	}

	out := make([]*sarif.ReportingDescriptor, 0, len(list))
	for _, r := range list {
		sev := r.Severity
		if w, ok := worst[r.ID]; ok {
			sev = w
		}
		out = append(out, sarifRule(r, sev, lowest[r.ID]))
	}
	return out, index
}

func sarifRule(r probes.Rule, sev finding.Severity, conf finding.Confidence) *sarif.ReportingDescriptor {
	title := firstNonEmpty(r.Title, r.ID)
	short := firstNonEmpty(r.Summary, title)
	helpMD := strings.TrimSpace(r.Help)
	if helpMD == "" {
		helpMD = short
	}
	full := firstNonEmpty(plainHelp(r.Help), short)
	helpURI := DocsBase + "#" + r.ID

	rule := sarif.NewRule(r.ID).
		WithName(ruleName(r.ID)).
		WithShortDescription(sarif.NewMultiformatMessageString(clip(short, sarifMaxDescription))).
		WithFullDescription(sarif.NewMultiformatMessageString(clip(full, sarifMaxDescription))).
		WithHelpURI(helpURI).
		WithHelp(&sarif.MultiformatMessageString{
			Text:     ptr(plainHelp(helpMD) + " See " + helpURI),
			Markdown: ptr(ruleHelpMarkdown(r, helpMD)),
		}).
		WithDefaultConfiguration(&sarif.ReportingConfiguration{Level: sarifLevel(sev)})

	props := sarif.Properties{
		"tags":      ruleTags(r),
		"precision": precision(conf),
	}
	if ss := sev.SecuritySeverity(); sev > finding.SeverityInfo {
		props["security-severity"] = ss
	}
	rule.WithProperties(props)
	return rule
}

// ruleHelpMarkdown is the help code scanning shows under an alert: why and how to fix, then
// the taxonomy and a link to the full rule documentation.
func ruleHelpMarkdown(r probes.Rule, helpMD string) string {
	var b strings.Builder
	b.WriteString(helpMD)
	b.WriteString("\n\n")
	if r.Check != "" {
		fmt.Fprintf(&b, "Checklist item %d: %s. ", r.Check.Number(), r.Check.Title())
	}
	var tax []string
	for _, c := range r.CWE {
		tax = append(tax, cweLink(c))
	}
	if r.OWASP != "" {
		tax = append(tax, "OWASP "+r.OWASP)
	}
	if len(tax) > 0 {
		b.WriteString(strings.Join(tax, ", ") + ". ")
	}
	fmt.Fprintf(&b, "[Rule documentation](%s#%s)", DocsBase, r.ID)
	return b.String()
}

func cweLink(c string) string {
	n := strings.TrimPrefix(strings.ToUpper(c), "CWE-")
	if n == "" || strings.Trim(n, "0123456789") != "" {
		return c
	}
	return fmt.Sprintf("[%s](https://cwe.mitre.org/data/definitions/%s.html)", c, n)
}

// ruleTags are "security" (which makes the alerts security alerts), the CWE ids in both the
// plain and the CodeQL "external/cwe" spelling, the OWASP category and the checklist item,
// capped at the number code scanning keeps.
func ruleTags(r probes.Rule) []string {
	tags := []string{"security"}
	seen := map[string]bool{"security": true}
	add := func(t string) {
		if t != "" && !seen[t] && len(tags) < sarifMaxTags {
			seen[t] = true
			tags = append(tags, t)
		}
	}
	for _, c := range r.CWE {
		add(strings.ToUpper(c))
	}
	if r.OWASP != "" {
		add("OWASP-" + r.OWASP)
	}
	if r.Check != "" {
		add(string(r.Check))
	}
	for _, c := range r.CWE {
		add("external/cwe/" + strings.ToLower(c))
	}
	return tags
}

// sarifResult builds one result. It reports whether the location is the fallback anchor.
func sarifResult(f finding.Finding, ruleIndex int, opts Options, seen map[string]int) (*sarif.Result, bool) {
	loc, fallback := findingLocation(f, opts)
	region := sarif.NewRegion().WithStartLine(loc.Line).WithStartColumn(loc.Column).
		WithEndLine(loc.Line).WithEndColumn(endColumn(opts.SourceRoot, loc))
	location := sarif.NewLocationWithPhysicalLocation(
		sarif.NewPhysicalLocation().
			WithArtifactLocation(sarif.NewSimpleArtifactLocation(loc.File)).
			WithRegion(region))

	fp := Fingerprint(f)
	seen[fp]++
	res := sarif.NewRuleResult(f.Rule).
		WithRuleIndex(ruleIndex).
		WithLevel(sarifLevel(f.Severity)).
		WithMessage(sarif.NewTextMessage(clip(resultMessage(f, loc, fallback), sarifMaxMessage))).
		WithLocations([]*sarif.Location{location}).
		WithPartialFingerPrints(map[string]any{
			"primaryLocationLineHash": fmt.Sprintf("%s:%d", lineHash(fp), seen[fp]),
		})
	props := sarif.Properties{
		"apigate/fingerprint": fp,
		"confidence":          string(f.Confidence),
		"severity":            f.Severity.String(),
		"endpoint":            strings.TrimSpace(f.Method + " " + f.Path),
	}
	if f.Severity > finding.SeverityInfo {
		props["security-severity"] = f.Severity.SecuritySeverity()
	}
	res.PropertyBag = sarif.PropertyBag{Properties: props}
	if f.Suppressed != "" {
		res.AddSuppression(sarif.NewSuppression("external").
			WithStatus("accepted").
			WithJustifcation(clip(f.Suppressed, 1000)))
	}
	return res, fallback
}

// resultMessage says what was proven where: the title, the request that proved it with the
// endpoint's full URL, the evidence, and the curl line that reproduces it.
func resultMessage(f finding.Finding, loc finding.Location, fallback bool) string {
	var b strings.Builder
	b.WriteString(strings.TrimSuffix(firstNonEmpty(f.Title, f.Rule), "."))
	b.WriteString(".")
	endpoint := firstNonEmpty(f.URL, f.Path)
	if endpoint != "" {
		fmt.Fprintf(&b, " Endpoint: %s %s.", f.Method, endpoint)
	}
	ev := f.Evidence
	if ev.Request != "" {
		status := "no response"
		if ev.Status != 0 {
			status = fmt.Sprintf("HTTP %d", ev.Status)
		}
		fmt.Fprintf(&b, " Request: %s -> %s.", ev.Request, status)
	}
	if ev.Detail != "" {
		b.WriteString(" " + strings.TrimSpace(ev.Detail))
	}
	if ev.Excerpt != "" {
		fmt.Fprintf(&b, "\nEvidence: %s", clip(strings.TrimSpace(ev.Excerpt), 600))
	}
	if f.Curl != "" {
		fmt.Fprintf(&b, "\nReproduce: %s", f.Curl)
	}
	if fallback {
		fmt.Fprintf(&b, "\n(No source line was found for this endpoint; the alert is anchored "+
			"to %s.)", loc.File)
	}
	return b.String()
}

// findingLocation is the finding's own location when it names a repository file, else the
// fallback anchor: opts.DefaultLocation at line 1.
func findingLocation(f finding.Finding, opts Options) (finding.Location, bool) {
	if l := f.Location; l != nil && usableFile(l.File) {
		out := *l
		out.File = cleanRepoPath(l.File, opts.SourceRoot)
		if out.Line < 1 {
			out.Line = 1
		}
		if out.Column < 1 {
			out.Column = 1
		}
		return out, false
	}
	return finding.Location{File: fallbackFile(opts), Line: 1, Column: 1}, true
}

// fallbackFile is where findings without a location are anchored. README.md is the last
// resort because nearly every repository has one at its root.
func fallbackFile(opts Options) string {
	if usableFile(opts.DefaultLocation) {
		return cleanRepoPath(opts.DefaultLocation, opts.SourceRoot)
	}
	return "README.md"
}

// usableFile rejects empty names and URLs: an artifact location must be a repository file.
func usableFile(name string) bool {
	if strings.TrimSpace(name) == "" {
		return false
	}
	return !strings.Contains(name, "://")
}

// cleanRepoPath turns a path into a forward-slash path relative to the repository root.
func cleanRepoPath(p, root string) string {
	if filepath.IsAbs(p) && root != "" {
		if rel, err := filepath.Rel(root, p); err == nil && !strings.HasPrefix(rel, "..") {
			p = rel
		}
	}
	p = path.Clean(filepath.ToSlash(p))
	return strings.TrimPrefix(p, "./")
}

// endColumn ends the region at the end of the anchored line when the file can be read under
// root, so the whole line is highlighted; otherwise one column past the start.
func endColumn(root string, loc finding.Location) int {
	fallback := loc.Column + 1
	if root == "" || filepath.IsAbs(loc.File) {
		return fallback
	}
	fh, err := os.Open(filepath.Join(root, filepath.FromSlash(loc.File)))
	if err != nil {
		return fallback
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for n := 1; sc.Scan(); n++ {
		if n == loc.Line {
			end := len([]rune(strings.TrimRightFunc(sc.Text(), unicode.IsSpace))) + 1
			if end > loc.Column {
				return end
			}
			return fallback
		}
	}
	return fallback
}

// Fingerprint is the finding's identity across runs. The engine fills Finding.Fingerprint;
// this falls back to the same inputs for findings built elsewhere.
func Fingerprint(f finding.Finding) string {
	if f.Fingerprint != "" {
		return f.Fingerprint
	}
	h := sha256.Sum256([]byte(f.Rule + "\x00" + f.Method + "\x00" + f.Path))
	return hex.EncodeToString(h[:8])
}

// lineHash derives the primaryLocationLineHash from the fingerprint rather than from the
// line's content: the finding is about the endpoint, which stays the same finding when the
// lines around its definition move.
func lineHash(fp string) string {
	h := sha256.Sum256([]byte("apigate/v1\x00" + fp))
	return hex.EncodeToString(h[:8])
}

// sarifLevel maps severity to the SARIF level: high and critical are errors (they fail
// code scanning's pull request check by default), medium a warning, the rest notes.
func sarifLevel(s finding.Severity) string {
	switch {
	case s >= finding.SeverityHigh:
		return "error"
	case s == finding.SeverityMedium:
		return "warning"
	}
	return "note"
}

func confRank(c finding.Confidence) int {
	switch c {
	case finding.ConfidenceHigh:
		return 3
	case finding.ConfidenceMedium:
		return 2
	case finding.ConfidenceLow:
		return 1
	}
	return 4
}

// precision is the rule's SARIF precision: the lowest confidence among its findings in this
// run, or high for rules without findings (probes report what they proved).
func precision(c finding.Confidence) string {
	switch c {
	case finding.ConfidenceMedium:
		return "medium"
	case finding.ConfidenceLow:
		return "low"
	}
	return "high"
}

// ruleName turns "auth-jwt-alg-none" into "AuthJwtAlgNone", the identifier-like name SARIF
// expects.
func ruleName(id string) string {
	var b strings.Builder
	for _, part := range strings.FieldsFunc(id, func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	}) {
		rs := []rune(part)
		b.WriteRune(unicode.ToUpper(rs[0]))
		b.WriteString(string(rs[1:]))
	}
	if b.Len() == 0 {
		return "Rule"
	}
	return clip(b.String(), 255)
}

// clip shortens s to at most n bytes without splitting a rune.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && (s[cut]&0xC0) == 0x80 {
		cut--
	}
	return s[:cut] + "…"
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if strings.TrimSpace(v) != "" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func ptr[T any](v T) *T { return &v }

// dropNulls removes null members from JSON objects, recursively.
func dropNulls(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if e == nil {
				delete(x, k)
				continue
			}
			x[k] = dropNulls(e)
		}
	case []any:
		for i, e := range x {
			x[i] = dropNulls(e)
		}
	}
	return v
}
