package httpx

import (
	"encoding/base64"
	"net/url"
	"strings"
	"testing"
)

// FuzzRedact: whatever the secret and the text, no form of the secret (raw, URL-encoded,
// base64) survives Redact. Secrets that could be rebuilt from the "[redacted:S]" marker
// itself are skipped: finding them there would reveal nothing.
func FuzzRedact(f *testing.F) {
	f.Add("hunter2-password", "login with hunter2-password please")
	f.Add("a b&c=d/e", "q=a+b%26c%3Dd%2Fe and a%20b%26c=d%2Fe")
	f.Add("tok.en", base64.StdEncoding.EncodeToString([]byte("tok.en"))+" "+
		base64.RawURLEncoding.EncodeToString([]byte("tok.en")))
	f.Add("aaaa", "aaaaaaaaa")
	f.Add("abab", "abababab")
	f.Fuzz(func(t *testing.T, secret, text string) {
		if len(secret) < minSecret || strings.ContainsAny(secret, "[]:") {
			return
		}
		forms := []string{secret, url.QueryEscape(secret), url.PathEscape(secret),
			base64.StdEncoding.EncodeToString([]byte(secret)),
			base64.RawURLEncoding.EncodeToString([]byte(secret))}
		for _, form := range forms {
			if strings.Contains("[redacted:S]", form) || strings.ContainsAny(form, "[]:") {
				return
			}
		}
		r := NewRedactor()
		r.Add(secret, "S")
		out := r.Redact(text)
		for _, form := range forms {
			if strings.Contains(out, form) {
				t.Fatalf("form %q of secret %q survives in %q", form, secret, out)
			}
		}
		if again := r.Redact(out); again != out {
			t.Fatalf("redaction is not stable: %q then %q", out, again)
		}
		// The plain-text segments the curl quoting sees are the same text minus secrets.
		var b strings.Builder
		for _, sg := range r.segments(text) {
			if sg.label != "" {
				b.WriteString("[redacted:" + sg.label + "]")
				continue
			}
			b.WriteString(sg.text)
		}
		if b.String() != out {
			t.Fatalf("segments %q disagree with Redact %q", b.String(), out)
		}
	})
}
