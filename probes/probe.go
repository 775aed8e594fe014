// Package probes holds one active probe per checklist item. Each probe lives in its own file
// with the metadata of the rules it can report beside it; registry.go lists them all.
//
// A probe receives a Session (the target, an HTTP client scoped to the probe, the clock) and
// returns a Verdict: the check's status with its reason, and the findings that prove a
// failure. Probes never print and never decide exit codes.
package probes

import (
	"context"
	"strings"
	"time"

	"github.com/apigate/apigate/internal/finding"
	"github.com/apigate/apigate/internal/httpx"
	"github.com/apigate/apigate/internal/target"
)

// Rule is the metadata of one kind of finding. IDs are stable: suppressions, baselines and
// code scanning alerts refer to them.
type Rule struct {
	ID       string
	Check    finding.Check
	Title    string
	Severity finding.Severity
	CWE      []string // e.g. "CWE-306"
	OWASP    string   // e.g. "API2:2023"
	// Summary is one line for `apigate rules` and the SARIF short description.
	Summary string
	// Help says why it matters and how to fix it, in Markdown.
	Help string
}

// Probe tests one checklist item.
type Probe interface {
	// Check is the checklist item the probe decides.
	Check() finding.Check
	// Rules lists every rule the probe may report.
	Rules() []Rule
	// Run probes the target. It returns a verdict even on failure: a probe that could not
	// run says not-tested or inconclusive with the reason.
	Run(ctx context.Context, s *Session) Verdict
}

// Late is implemented by probes that must run alone, after the concurrent ones, because
// their traffic would disturb other probes (bursts that trigger rate limits, lockouts) or
// because they read what the others left behind (logs). Lower values run first.
type Late interface {
	Late() int
}

// Verdict is a probe's answer.
type Verdict struct {
	Status   finding.Status
	Reason   string
	Findings []finding.Finding
}

// Session is what a probe works with.
type Session struct {
	Target *target.Target
	// Client sends the probe's requests; its Stats count only this probe's traffic.
	Client *httpx.Client
	// Started is when the scan began; the logging probe reads logs from then on.
	Started time.Time
	// Canary is unique to this scan; probes put it in values they create so that their
	// objects and log lines can be recognised.
	Canary string
}

// Pass, Fail, Inconclusive and NotTested build verdicts.
func Pass(reason string) Verdict { return Verdict{Status: finding.StatusPass, Reason: reason} }

// Inconclusive is a verdict that neither passes nor fails the check.
func Inconclusive(reason string) Verdict {
	return Verdict{Status: finding.StatusInconclusive, Reason: reason}
}

// NotTested is a verdict for a check that could not run, with the reason.
func NotTested(reason string) Verdict {
	return Verdict{Status: finding.StatusNotTested, Reason: reason}
}

// Fail is a verdict with findings.
func Fail(reason string, fs ...finding.Finding) Verdict {
	return Verdict{Status: finding.StatusFail, Reason: reason, Findings: fs}
}

// NewFinding fills a finding from a rule and the exchange that proves it. op may be nil when
// the finding is not about one operation; the path then comes from the exchange's URL.
func (s *Session) NewFinding(r Rule, op *target.Operation, ex *httpx.Exchange, conf finding.Confidence, title, excerpt, detail string) finding.Finding {
	red := s.Client.Redactor()
	f := finding.Finding{
		Rule:       r.ID,
		Check:      r.Check,
		Severity:   r.Severity,
		Confidence: conf,
		Title:      red.Redact(title),
		CWE:        r.CWE,
		OWASP:      r.OWASP,
	}
	if f.Title == "" {
		f.Title = r.Title
	}
	if op != nil {
		f.Method, f.Path = op.Method, op.Path
	}
	if ex != nil {
		if f.Method == "" {
			f.Method = ex.Method
		}
		if f.Path == "" {
			f.Path = s.pathOf(ex.URL)
		}
		f.URL = red.Redact(ex.URL)
		f.Curl = ex.Curl(red)
		f.Variables = s.curlVariables(f.Curl)
		f.Evidence = finding.Evidence{
			Request: ex.RequestLine(red),
			Status:  ex.Status,
			Excerpt: red.Redact(Truncate(excerpt, 600)),
			Detail:  red.Redact(detail),
		}
	}
	return f
}

// pathOf strips the target's base from a URL, leaving the API path.
func (s *Session) pathOf(u string) string {
	base := strings.TrimSuffix(s.Target.Base.String(), "/")
	p := strings.TrimPrefix(u, base)
	if p == u {
		// Another scheme or port (the transport probe): keep only the path.
		if i := strings.Index(u, "://"); i >= 0 {
			rest := u[i+3:]
			if j := strings.Index(rest, "/"); j >= 0 {
				p = rest[j:]
			} else {
				p = "/"
			}
		}
	}
	p, _, _ = strings.Cut(p, "?")
	if p == "" {
		p = "/"
	}
	return p
}

// Truncate shortens s to at most n bytes, marking the cut, without splitting a UTF-8 rune.
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && cut < len(s) && (s[cut]&0xC0) == 0x80 {
		cut--
	}
	return s[:cut] + "…"
}
