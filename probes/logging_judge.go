package probes

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/apigate/apigate/internal/finding"
	"github.com/apigate/apigate/internal/target"
)

// logLine is a log line prepared for matching: its raw text plus, for JSON lines, the
// decoded values (so escaping does not hide a secret or a request id).
type logLine struct {
	target.LogLine
	search string
}

// maxLogLineScan bounds how much of one log line is examined.
const maxLogLineScan = 16 << 10

// maxLogScan bounds the bytes of log examined in all: the most recent lines are kept, since
// the probe's own traffic is the latest.
const maxLogScan = 8 << 20

func prepareLines(lines []target.LogLine) []logLine {
	total, first := 0, 0
	for i := len(lines) - 1; i >= 0; i-- {
		total += min(len(lines[i].Text), maxLogLineScan)
		if total > maxLogScan {
			first = i + 1
			break
		}
	}
	lines = lines[first:]
	out := make([]logLine, 0, len(lines))
	for _, l := range lines {
		text := l.Text
		if len(text) > maxLogLineScan {
			text = text[:maxLogLineScan]
		}
		search := text
		if t := strings.TrimSpace(text); strings.HasPrefix(t, "{") {
			var v any
			if json.Unmarshal([]byte(t), &v) == nil {
				var vals []string
				logJSONValues(v, &vals, 0)
				search += "\n" + strings.Join(vals, " ")
			}
		}
		out = append(out, logLine{LogLine: l, search: search})
	}
	return out
}

// logJSONValues collects "key=value" for every leaf of a decoded JSON value.
func logJSONValues(v any, out *[]string, depth int) {
	if depth > 8 || len(*out) > 256 {
		return
	}
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if s, ok := e.(string); ok {
				*out = append(*out, k+"="+s)
				continue
			}
			if f, ok := e.(float64); ok {
				*out = append(*out, k+"="+strconv.FormatFloat(f, 'f', -1, 64))
				continue
			}
			logJSONValues(e, out, depth+1)
		}
	case []any:
		for _, e := range x {
			logJSONValues(e, out, depth+1)
		}
	case string:
		*out = append(*out, x)
	}
}

// secretForms are the shapes a secret takes in a log: raw, URL-encoded, base64.
func secretForms(s string) []string {
	out := []string{s}
	b := []byte(s)
	for _, f := range []string{url.QueryEscape(s), url.PathEscape(s),
		base64.StdEncoding.EncodeToString(b), base64.RawURLEncoding.EncodeToString(b)} {
		if f != s {
			out = append(out, f)
		}
	}
	return out
}

// containsID reports whether text contains the request id as a whole token ("x-1" does not
// match inside "x-12").
func containsID(text, id string) bool {
	if id == "" {
		return false
	}
	for i := 0; ; {
		j := strings.Index(text[i:], id)
		if j < 0 {
			return false
		}
		end := i + j + len(id)
		if end >= len(text) || text[end] < '0' || text[end] > '9' {
			return true
		}
		i = end
	}
}

// failureWords mark a line that reports a failure rather than merely a request.
var failureWords = []string{"fail", "denied", "forbidden", "unauthorized", "unauthorised",
	"refused", "rejected", "wrong password", "bad credentials", "invalid", "expired",
	"locked", "authz_", "too many"}

func hasFailureWord(text string) bool {
	low := strings.ToLower(text)
	// The scanner's own usernames end in example.invalid; that is not a failure word.
	low = strings.ReplaceAll(low, "example.invalid", "")
	for _, w := range failureWords {
		if strings.Contains(low, w) {
			return true
		}
	}
	return false
}

// hasStatus reports a status code standing as a field in the line: `status=401`,
// `"status":401`, `" 401 `. A bare digit run inside a timestamp or port does not count.
func hasStatus(text string, status int) bool {
	code := strconv.Itoa(status)
	for i := 0; ; {
		j := strings.Index(text[i:], code)
		if j < 0 {
			return false
		}
		start, end := i+j, i+j+len(code)
		before := start == 0 || strings.IndexByte(" =:\"\t", text[start-1]) >= 0
		after := end >= len(text) || strings.IndexByte(" ,\"}\t", text[end]) >= 0
		if before && after {
			return true
		}
		i = end
	}
}

// judge reads the logs for the secrets, the failures and the forged line.
func (r *logRun) judge(raw []target.LogLine) Verdict {
	lines := prepareLines(raw)
	s := r.s
	var fs []finding.Finding
	var reasons []string

	// Secrets: any form of any canary anywhere.
	leaked := 0
	for _, c := range r.secrets {
		if c.ex == nil {
			continue
		}
	search:
		for _, l := range lines {
			for _, form := range secretForms(c.value) {
				if !strings.Contains(l.search, form) {
					continue
				}
				f := s.NewFinding(RuleLogSecret, nil, c.ex, finding.ConfidenceHigh,
					fmt.Sprintf("The %s sent by the scanner is written to the service's logs", c.what),
					"log: "+l.Text,
					fmt.Sprintf("The canary %s (%s) sent with this request appears in a log line; "+
						"the excerpt shows it redacted.", c.what, c.label))
				f.Severity = c.sev
				f.Fingerprint = controlFingerprint(f, c.label)
				fs = append(fs, f)
				leaked++
				break search
			}
		}
	}
	var sentWhat []string
	for _, c := range r.secrets {
		if c.ex != nil {
			sentWhat = append(sentWhat, c.what)
		}
	}
	sent := len(sentWhat)
	if leaked == 0 {
		reasons = append(reasons, fmt.Sprintf("none of the %d canary secrets sent (%s) appears "+
			"in the logs", sent, strings.Join(sentWhat, ", ")))
	} else {
		reasons = append(reasons, fmt.Sprintf("%d of the %d canary secrets sent appear in the logs",
			leaked, sent))
	}

	// Auth failures: each event needs a correlated line.
	unlogged := map[string][]*authEvent{}
	var kinds []string
	access := 0
	for _, e := range r.events {
		e.match = r.matchEvent(e, lines)
		switch e.match {
		case matchNone:
			if len(unlogged[e.kind]) == 0 {
				kinds = append(kinds, e.kind)
			}
			unlogged[e.kind] = append(unlogged[e.kind], e)
		case matchAccess:
			access++
		}
	}
	for _, k := range kinds {
		evs := unlogged[k]
		e := evs[0]
		f := s.NewFinding(RuleLogAuthFailure, nil, e.ex, finding.ConfidenceMedium,
			fmt.Sprintf("%d of %d %s events left no trace in the logs", len(evs), r.count(k), k),
			fmt.Sprintf("HTTP %d; no log line with X-Request-ID %s, nor one with status %d or "+
				"a failure word for %s at that time", e.ex.Status, e.rid, e.ex.Status,
				s.pathOf(e.ex.URL)),
			fmt.Sprintf("The %s was refused with %d but the service's logs have no line for it.",
				k, e.ex.Status))
		if k != "failed login" {
			f.Severity = finding.SeverityLow
		}
		fs = append(fs, f)
	}
	missing := 0
	for _, k := range kinds {
		missing += len(unlogged[k])
	}
	switch {
	case missing > 0:
		reasons = append(reasons, fmt.Sprintf("%d of %d provoked auth failures (%s) left no "+
			"trace in the logs", missing, len(r.events), r.kindList()))
	case len(r.events) == 0:
		reasons = append(reasons, "no authentication failure could be provoked")
	case len(kinds) == 0 && access == 0:
		reasons = append(reasons, fmt.Sprintf("all %d provoked auth failures (%s) are logged "+
			"as events", len(r.events), r.kindList()))
	case len(kinds) == 0:
		reasons = append(reasons, fmt.Sprintf("all %d provoked auth failures (%s) are logged, "+
			"but %d only as access-log lines with the status (partial: no application "+
			"security event)", len(r.events), r.kindList(), access))
	}

	// Injection: a line carrying the forged text without the text that preceded the CR/LF.
	if f, ok := r.forgedLine(lines); ok {
		fs = append(fs, f)
		reasons = append(reasons, "CR/LF in a username forged a separate log line")
	} else if r.injEx != nil {
		reasons = append(reasons, "CR/LF in the username and User-Agent forged no log line")
	}
	reasons = append(reasons, r.notes...)
	reason := strings.Join(reasons, "; ")
	if len(fs) > 0 {
		return Fail(reason, fs...)
	}
	if len(r.events) == 0 {
		return Inconclusive(reason)
	}
	return Pass(reason)
}

func (r *logRun) count(kind string) int {
	n := 0
	for _, e := range r.events {
		if e.kind == kind {
			n++
		}
	}
	return n
}

func (r *logRun) kindList() string {
	var ks []string
	seen := map[string]bool{}
	for _, e := range r.events {
		if !seen[e.kind] {
			seen[e.kind] = true
			ks = append(ks, fmt.Sprintf("%d %s", r.count(e.kind), e.kind))
		}
	}
	return strings.Join(ks, ", ")
}

// eventWindow is how close in time an uncorrelated line must be to an event to be taken as
// its trace.
const eventWindow = 2 * time.Second

// matchEvent finds the best trace of e: a correlated line (its request id, or the same path
// within a moment) naming a failure is an event; one with only the status is an access line.
func (r *logRun) matchEvent(e *authEvent, lines []logLine) eventMatch {
	best := matchNone
	path := r.s.pathOf(e.ex.URL)
	for _, l := range lines {
		if r.forged != "" && strings.Contains(l.search, r.forged) {
			continue // the injection's own text must not count as a trace
		}
		byID := containsID(l.search, e.rid)
		byTime := !l.Time.IsZero() && l.Time.Sub(e.at).Abs() <= eventWindow+logClockSkew &&
			strings.Contains(l.search, path)
		if !byID && !byTime {
			continue
		}
		if hasFailureWord(l.search) {
			return matchEvent
		}
		if hasStatus(l.search, e.ex.Status) || (byID && best == matchNone) {
			best = matchAccess
		}
	}
	return best
}

// forgedLine looks for the injected text standing on a line of its own.
func (r *logRun) forgedLine(lines []logLine) (finding.Finding, bool) {
	if r.injEx == nil {
		return finding.Finding{}, false
	}
	prefix := "apigate-" + r.s.Canary
	for _, l := range lines {
		for _, seg := range strings.Split(l.Text, "\r") {
			if !strings.Contains(seg, r.forged) || strings.Contains(seg, prefix) ||
				strings.Contains(seg, r.ua) {
				continue
			}
			f := r.s.NewFinding(RuleLogInjection, nil, r.injEx, finding.ConfidenceHigh,
				"CR/LF in a username forges a separate log line", "log: "+l.Text,
				"The username sent was \"apigate-<canary>\\r\\n"+r.forged+"\"; the text after "+
					"the CR/LF stands on its own log line.")
			if strings.HasPrefix(strings.TrimSpace(seg), r.forged) {
				f.Severity = finding.SeverityMedium // the attacker writes the whole line
			}
			return f, true
		}
	}
	return finding.Finding{}, false
}
