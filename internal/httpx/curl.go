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
		b.WriteString(" -X " + e.Method)
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
	const mark = "\x00"
	marked := r.replace(s, func(label string) string { return mark + label + mark })
	if marked == s {
		return shellQuote(s)
	}
	q := "'" + strings.ReplaceAll(marked, "'", `'\''`) + "'"
	parts := strings.Split(q, mark)
	var b strings.Builder
	for i, p := range parts {
		if i%2 == 1 {
			b.WriteString(`'"${` + p + `}"'`)
			continue
		}
		b.WriteString(p)
	}
	return b.String()
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
