package probes

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"mime"
	"strings"

	"github.com/apigate/apigate/internal/httpx"
	"github.com/apigate/apigate/internal/target"
)

// This file holds helpers shared by the request/response-surface probes (transport, input
// validation, safe errors, CORS, security headers).

// identityFor returns the identity to send op as: the first identity for an operation that
// is not declared public, nil (anonymous) otherwise.
func (s *Session) identityFor(op *target.Operation) *target.Identity {
	if op != nil && s.Target.IsPublic(op) {
		return nil
	}
	return s.Identity(0)
}

// docsPathWords mark documentation routes, whose pages legitimately mention tracebacks and
// error formats and so are never judged as leaking them.
var docsPathWords = []string{"openapi", "swagger", "redoc", "/docs", "api-docs", "/doc/"}

// isDocsPath reports whether path looks like API documentation.
func isDocsPath(path string) bool {
	low := strings.ToLower(path)
	for _, w := range docsPathWords {
		if strings.Contains(low, w) {
			return true
		}
	}
	return false
}

// randLabel returns n random lowercase hex characters, for origins and routes no real
// deployment can already know.
func randLabel(n int) string {
	b := make([]byte, (n+1)/2)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)[:n]
}

// mediaType returns the lowercase media type of the response's Content-Type, "" if absent.
func mediaType(ex *httpx.Exchange) string {
	if ex == nil || ex.Header == nil {
		return ""
	}
	ct := ex.Header.Get("Content-Type")
	if ct == "" {
		return ""
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		mt, _, _ = strings.Cut(ct, ";")
	}
	return strings.ToLower(strings.TrimSpace(mt))
}

// isTextual reports whether a media type carries text a human could read: JSON, XML, HTML,
// plain text. An absent type counts as textual, since browsers and curl show it anyway.
func isTextual(mt string) bool {
	if mt == "" || strings.HasPrefix(mt, "text/") {
		return true
	}
	return strings.Contains(mt, "json") || strings.Contains(mt, "xml") ||
		strings.Contains(mt, "javascript")
}

// readableOps returns up to max GET operations, documentation excluded, with public ones and
// protected ones interleaved so a small cap still covers both kinds.
func (s *Session) readableOps(max int) []*target.Operation {
	var pub, priv []*target.Operation
	for _, op := range s.Ops("GET") {
		if isDocsPath(op.Path) {
			continue // documentation pages are not the API's responses
		}
		if s.Target.IsPublic(op) {
			pub = append(pub, op)
		} else {
			priv = append(priv, op)
		}
	}
	var out []*target.Operation
	for i := 0; len(out) < max && (i < len(pub) || i < len(priv)); i++ {
		if i < len(priv) {
			out = append(out, priv[i])
		}
		if i < len(pub) && len(out) < max {
			out = append(out, pub[i])
		}
	}
	return out
}

// opNames renders operations as "GET /a, POST /b", for a finding's detail.
func opNames(ops []*target.Operation, max int) string {
	var parts []string
	for i, op := range ops {
		if i == max {
			parts = append(parts, "…")
			break
		}
		parts = append(parts, op.Method+" "+op.Path)
	}
	return strings.Join(parts, ", ")
}

// mustJSON encodes a value built from JSON-compatible parts, which cannot fail.
func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		return []byte("null")
	}
	return b
}

// headList returns at most n items, with a marker when some were left out.
func headList(items []string, n int) []string {
	if len(items) <= n {
		return items
	}
	return append(append([]string(nil), items[:n]...), fmt.Sprintf("and %d more", len(items)-n))
}
