package httpx

import (
	"encoding/base64"
	"net/url"
	"sort"
	"strings"
	"sync"
)

// Redactor replaces secret values with labels wherever the scanner records or prints text.
// A secret is hidden in its raw, URL-encoded and base64 forms. It is safe for concurrent use.
type Redactor struct {
	mu      sync.RWMutex
	secrets map[string]string // value -> label
	why     map[string]string // label -> where a user gets the value (see Explain)
}

// NewRedactor returns an empty redactor.
func NewRedactor() *Redactor { return &Redactor{secrets: map[string]string{}} }

// minSecret is the shortest value treated as a secret; shorter ones would redact ordinary
// words and digits everywhere.
const minSecret = 4

// Add registers a secret under label (e.g. "ALICE_TOKEN"). Values shorter than four bytes
// are ignored.
func (r *Redactor) Add(secret, label string) {
	if len(secret) < minSecret {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, form := range forms(secret) {
		if _, ok := r.secrets[form]; !ok {
			r.secrets[form] = label
		}
	}
}

func forms(s string) []string {
	out := []string{s}
	if q := url.QueryEscape(s); q != s {
		out = append(out, q)
	}
	if p := url.PathEscape(s); p != s {
		out = append(out, p)
	}
	out = append(out, base64.StdEncoding.EncodeToString([]byte(s)),
		base64.RawURLEncoding.EncodeToString([]byte(s)))
	return out
}

// Explain records, for a label, where a reader of a report gets the value it hides ("the
// token alice gets from POST /api/login"), so reproduce lines that use ${LABEL} can say so.
// The text must not contain the secret.
func (r *Redactor) Explain(label, text string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.why == nil {
		r.why = map[string]string{}
	}
	r.why[label] = text
}

// Explanation returns what Explain recorded for label, "" when nothing was.
func (r *Redactor) Explanation(label string) string {
	if r == nil {
		return ""
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.why[label]
}

// Labels returns the distinct labels, sorted.
func (r *Redactor) Labels() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	seen := map[string]bool{}
	var out []string
	for _, l := range r.secrets {
		if !seen[l] {
			seen[l] = true
			out = append(out, l)
		}
	}
	sort.Strings(out)
	return out
}

// Secrets returns every registered value (all forms), longest first.
func (r *Redactor) Secrets() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]string, 0, len(r.secrets))
	for s := range r.secrets {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out
}

// Redact hides every secret in s as "[redacted:LABEL]".
func (r *Redactor) Redact(s string) string {
	return r.replace(s, func(label string) string { return "[redacted:" + label + "]" })
}

// Placeholder hides every secret in s as a shell variable reference "${LABEL}", so a curl
// command stays runnable once the user exports the variable.
func (r *Redactor) Placeholder(s string) string {
	return r.replace(s, func(label string) string { return "${" + label + "}" })
}

func (r *Redactor) replace(s string, with func(string) string) string {
	if r == nil {
		return s
	}
	r.mu.RLock()
	empty := len(r.secrets) == 0
	r.mu.RUnlock()
	if empty {
		return s
	}
	// Longest first, so a secret that contains another is replaced whole.
	for _, sec := range r.Secrets() {
		if strings.Contains(s, sec) {
			r.mu.RLock()
			label := r.secrets[sec]
			r.mu.RUnlock()
			s = strings.ReplaceAll(s, sec, with(label))
		}
	}
	return s
}

// segment is a run of plain text, or a secret (label set) in place of its text.
type segment struct {
	text  string
	label string
}

// segments splits s into plain text and secrets, matching longest secrets first as
// replace does, without a marker character that s itself could contain.
func (r *Redactor) segments(s string) []segment {
	segs := []segment{{text: s}}
	if r == nil {
		return segs
	}
	for _, sec := range r.Secrets() {
		r.mu.RLock()
		label := r.secrets[sec]
		r.mu.RUnlock()
		var next []segment
		for _, sg := range segs {
			if sg.label != "" || !strings.Contains(sg.text, sec) {
				next = append(next, sg)
				continue
			}
			parts := strings.Split(sg.text, sec)
			for i, p := range parts {
				if i > 0 {
					next = append(next, segment{text: sec, label: label})
				}
				if p != "" {
					next = append(next, segment{text: p})
				}
			}
		}
		segs = next
	}
	return segs
}
