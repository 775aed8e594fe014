// Package suppress applies the findings a project has accepted: suppressions from the config
// (a rule, a path pattern, a required reason and an optional expiry) and a baseline file of
// findings recorded earlier. Matched findings stay in the report, marked with the reason, so
// a reviewer still sees them; only the exit code ignores them.
package suppress

import (
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/apigate/apigate/internal/finding"
	"github.com/apigate/apigate/internal/target"
)

// Rule accepts the findings of one rule on matching paths.
type Rule struct {
	// ID is a rule ID, a check name (accepting every rule of that check) or "*".
	ID string
	// Path is a path pattern; "" matches every path. {param} segments match any segment,
	// * matches one segment and a trailing /* (or /**) any rest.
	Path   string
	Reason string
	// Until is the last day the rule applies; zero means no expiry.
	Until time.Time
	// Where names the rule's place in the config, for notes ("file:line:col").
	Where string
}

// Validate reports a rule whose ID names nothing, so a typo cannot hide that a suppression
// never applies. known lists the rule IDs; check names and "*" are always accepted.
func Validate(rules []Rule, known []string) error {
	ok := map[string]bool{"*": true}
	for _, id := range known {
		ok[id] = true
	}
	for _, c := range finding.Checks {
		ok[string(c)] = true
	}
	for _, r := range rules {
		if !ok[r.ID] {
			return fmt.Errorf("%s: unknown rule %q (see 'apigate rules')", r.Where, r.ID)
		}
	}
	return nil
}

// Apply marks the findings that rules accept and adds a note for every rule that expired
// or matched nothing. now decides expiry; a rule applies through the whole of its Until day.
func Apply(rep *finding.Report, rules []Rule, now time.Time) {
	used := make([]bool, len(rules))
	expired := make([]bool, len(rules))
	for i, r := range rules {
		expired[i] = !r.Until.IsZero() && now.After(endOfDay(r.Until))
	}
	for fi := range rep.Findings {
		f := &rep.Findings[fi]
		for i, r := range rules {
			if !r.matches(f) {
				continue
			}
			used[i] = true
			if expired[i] || f.Suppressed != "" {
				continue
			}
			f.Suppressed = r.Reason
		}
	}
	for i, r := range rules {
		switch {
		case expired[i]:
			rep.Notes = append(rep.Notes, fmt.Sprintf(
				"suppression at %s (%s) expired on %s: its findings count again; fix them or renew it",
				r.Where, r.describe(), r.Until.Format("2006-01-02")))
		case !used[i]:
			rep.Notes = append(rep.Notes, fmt.Sprintf(
				"suppression at %s (%s) matched no finding: remove it if the problem is fixed",
				r.Where, r.describe()))
		}
	}
}

func endOfDay(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 23, 59, 59, 0, time.UTC)
}

func (r Rule) describe() string {
	if r.Path == "" {
		return "rule " + r.ID
	}
	return "rule " + r.ID + " on " + r.Path
}

func (r Rule) matches(f *finding.Finding) bool {
	if r.ID != "*" && r.ID != f.Rule && r.ID != string(f.Check) {
		return false
	}
	return r.Path == "" || MatchPath(r.Path, f.Path)
}

// MatchPath matches a suppression's path pattern against a finding's path template.
// A {param} segment on either side matches any segment, a * inside a segment is a glob, and
// a trailing /* (or /**) matches any rest, including none, as the config's public list does.
func MatchPath(pattern, p string) bool {
	ps, ss := split(pattern), split(p)
	if n := len(ps); n > 0 && (ps[n-1] == "*" || ps[n-1] == "**") {
		ps = ps[:n-1]
		if len(ss) < len(ps) {
			return false
		}
		ss = ss[:len(ps)]
	}
	if len(ps) != len(ss) {
		return false
	}
	for i := range ps {
		if target.IsParam(ps[i]) || target.IsParam(ss[i]) {
			continue
		}
		if ok, _ := path.Match(ps[i], ss[i]); !ok {
			return false
		}
	}
	return true
}

func split(p string) []string {
	p, _, _ = strings.Cut(p, "?")
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}
