package httpx

import (
	"sort"
	"strings"
)

// Curl renders the exchange's request as a curl command a user can paste into a shell.
// Secrets become ${LABEL} references the shell expands; headers curl sets itself are left out.
func (e *Exchange) Curl(r *Redactor) string {
	var b strings.Builder
	b.WriteString("curl -sS -i")
	if e.Method != "GET" {
		b.WriteString(" -X " + shellQuote(e.Method))
	}
	names := make([]string, 0, len(e.ReqHeader))
	for k := range e.ReqHeader {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if strings.EqualFold(k, "User-Agent") || strings.EqualFold(k, "Content-Length") {
			continue
		}
		for _, v := range e.ReqHeader[k] {
			b.WriteString(" -H " + quoteSecrets(r, k+": "+v))
		}
	}
	if len(e.ReqBody) > 0 {
		body := string(e.ReqBody)
		if len(body) > 2048 {
			body = body[:2048] + "..."
		}
		b.WriteString(" --data-binary " + quoteSecrets(r, body))
	}
	b.WriteString(" " + quoteSecrets(r, e.URL))
	return b.String()
}

// quoteSecrets shell-quotes s with each secret in it replaced by a "${LABEL}" reference
// that the shell expands: the quoted text is closed around the reference.
func quoteSecrets(r *Redactor, s string) string {
	segs := r.segments(s)
	if len(segs) == 1 && segs[0].label == "" {
		return shellQuote(s)
	}
	var b strings.Builder
	for _, sg := range segs {
		if sg.label != "" {
			b.WriteString(`"${` + shellName(sg.label) + `}"`)
			continue
		}
		b.WriteString("'" + strings.ReplaceAll(sg.text, "'", `'\''`) + "'")
	}
	return b.String()
}

// shellName turns a label into a valid shell variable name.
func shellName(label string) string {
	out := []byte(label)
	for i, c := range out {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			out[i] = '_'
		}
	}
	if len(out) == 0 || out[0] >= '0' && out[0] <= '9' {
		out = append([]byte{'_'}, out...)
	}
	return string(out)
}

// shellQuote quotes s for a POSIX shell. Double quotes are used when s holds no character
// the shell would expand other than a ${VAR} placeholder added later; otherwise single quotes.
func shellQuote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\n'\"\\$`!*?[]{}()<>|&;#~") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// RequestLine is "METHOD URL", redacted.
func (e *Exchange) RequestLine(r *Redactor) string {
	return r.Redact(e.Method + " " + e.URL)
}
