package probes

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"sort"
	"strings"

	"github.com/apigate/apigate/internal/httpx"
	"github.com/apigate/apigate/internal/target"
)

// Send sends one request as id (nil means anonymous). A JSON body is marshalled and given a
// JSON content type unless header already sets one. If the identity's credentials are
// rejected with 401 and it can log in again, the request is retried once with fresh ones.
func (s *Session) Send(ctx context.Context, id *target.Identity, method, path string, body any, header http.Header) (*httpx.Exchange, error) {
	ex, err := s.send(ctx, id, method, path, body, header)
	if err == nil && id != nil && ex.Status == http.StatusUnauthorized {
		if ok, _ := id.Refresh(ctx); ok {
			return s.send(ctx, id, method, path, body, header)
		}
	}
	return ex, err
}

func (s *Session) send(ctx context.Context, id *target.Identity, method, path string, body any, header http.Header) (*httpx.Exchange, error) {
	h := header.Clone()
	if h == nil {
		h = http.Header{}
	}
	if h.Get("Accept") == "" {
		h.Set("Accept", "application/json")
	}
	var raw []byte
	switch b := body.(type) {
	case nil:
	case []byte:
		raw = b
	case string:
		raw = []byte(b)
	default:
		var err error
		if raw, err = json.Marshal(b); err != nil {
			return nil, fmt.Errorf("encode body: %w", err)
		}
		if h.Get("Content-Type") == "" {
			h.Set("Content-Type", "application/json")
		}
	}
	if id != nil {
		r, _ := http.NewRequest(method, "http://x/", nil)
		id.Apply(r)
		for k, vs := range r.Header {
			if h.Get(k) == "" {
				h[k] = vs
			}
		}
	}
	return s.Client.Do(ctx, httpx.Request{Method: method, URL: s.Target.URL(path), Header: h, Body: raw})
}

// FillPath replaces each {param} of an operation's path with a value: vals[name] when given,
// else an example from the parameter's schema, else "1".
func FillPath(op *target.Operation, vals map[string]string) string {
	segs := strings.Split(op.Path, "/")
	for i, seg := range segs {
		if !target.IsParam(seg) {
			continue
		}
		name := strings.Trim(seg, "{}<>:")
		if v, ok := vals[name]; ok {
			segs[i] = v
			continue
		}
		v := "1"
		for _, p := range op.Params {
			if p.In == "path" && p.Name == name && p.Schema != nil {
				v = fmt.Sprint(Example(p.Schema, name))
			}
		}
		segs[i] = v
	}
	return strings.Join(segs, "/")
}

// PathParams returns the parameter names of a path template, in order.
func PathParams(path string) []string {
	var out []string
	for _, seg := range strings.Split(path, "/") {
		if target.IsParam(seg) {
			out = append(out, strings.Trim(seg, "{}<>:"))
		}
	}
	return out
}

// Example builds a valid value for schema. name (the property name) helps choose realistic
// strings such as an e-mail address. Read-only properties are left out of objects.
func Example(s *target.Schema, name string) any {
	return example(s, name, 0)
}

func example(s *target.Schema, name string, depth int) any {
	if s == nil || depth > 6 {
		return "x"
	}
	if s.Example != nil {
		return s.Example
	}
	if len(s.Enum) > 0 {
		return s.Enum[0]
	}
	switch s.Type {
	case "object":
		m := map[string]any{}
		for k, p := range s.Properties {
			if p.ReadOnly {
				continue
			}
			m[k] = example(p, k, depth+1)
		}
		return m
	case "array":
		return []any{example(s.Items, name, depth+1)}
	case "integer":
		return int64(clamp(1, s.Minimum, s.Maximum))
	case "number":
		return clamp(1.5, s.Minimum, s.Maximum)
	case "boolean":
		return false
	}
	return exampleString(s, name)
}

func clamp(v float64, lo, hi *float64) float64 {
	if lo != nil && v < *lo {
		v = math.Ceil(*lo)
	}
	if hi != nil && v > *hi {
		v = math.Floor(*hi)
	}
	return v
}

func exampleString(s *target.Schema, name string) string {
	var v string
	switch {
	case s.Format == "email" || strings.Contains(strings.ToLower(name), "email"):
		v = "apigate@example.invalid"
	case s.Format == "uuid":
		v = "3f2c1c9e-8a8c-4d8e-9a51-5b1e5f0a7c11"
	case s.Format == "date-time":
		v = "2026-01-02T03:04:05Z"
	case s.Format == "date":
		v = "2026-01-02"
	case s.Format == "uri" || s.Format == "url":
		v = "https://example.invalid/x"
	default:
		v = "apigate-test"
	}
	if s.MaxLength != nil && len(v) > *s.MaxLength {
		v = v[:*s.MaxLength]
	}
	for s.MinLength != nil && len(v) < *s.MinLength {
		v += "x"
	}
	return v
}

// IsJSON reports whether the exchange's response is JSON by content type or by shape.
func IsJSON(ex *httpx.Exchange) bool {
	if ex == nil || ex.Header == nil {
		return false
	}
	ct := strings.ToLower(ex.Header.Get("Content-Type"))
	if strings.Contains(ct, "json") {
		return true
	}
	b := bytes.TrimSpace(ex.Body)
	return len(b) > 0 && (b[0] == '{' || b[0] == '[') && json.Valid(b)
}

// Is2xx reports a successful status.
func Is2xx(status int) bool { return status >= 200 && status < 300 }

// errorKeywords mark a 2xx body that is really an error, so it is never taken as success.
var errorKeywords = []string{
	"error", "internal server", "failed", "unauthorized", "unauthorised", "access denied",
	"forbidden", "method not allowed", "timeout", "server busy", "authentication",
	"permission denied", "invalid token", "token expired", "session expired",
	"not authenticated", "not authorized", "unable to process", "bad request",
	"service unavailable", "account locked", "too many", `"status":"fail"`,
	`"success":false`, `"ok":false`,
}

// LooksLikeError reports whether body reads as an error or refusal despite its status.
// Only the words a server uses to explain a refusal count; keys of ordinary objects that
// merely contain such words (an "error_rate" field, say) are not matched by value checks.
func LooksLikeError(body []byte) bool {
	low := strings.ToLower(string(body))
	low = strings.ReplaceAll(low, `": "`, `":"`)
	low = strings.ReplaceAll(low, `": false`, `":false`)
	for _, k := range errorKeywords {
		if strings.Contains(low, k) {
			return true
		}
	}
	return false
}

// EmptyBody reports a body with no content: nothing, {}, [] or null.
func EmptyBody(body []byte) bool {
	switch string(bytes.TrimSpace(body)) {
	case "", "{}", "[]", "null", `""`:
		return true
	}
	return false
}

// volatileKeys are dropped before comparing two JSON bodies: they change between two reads
// of the same object.
var volatileKeys = map[string]bool{
	"timestamp": true, "time": true, "date": true, "now": true, "created_at": true,
	"updated_at": true, "createdat": true, "updatedat": true, "request_id": true,
	"requestid": true, "trace_id": true, "traceid": true, "etag": true, "nonce": true,
	"csrf": true, "csrf_token": true, "expires_at": true, "expiresat": true,
}

// Flatten turns a JSON document into path=value pairs ("a.b[0].c=1"), without volatile
// keys. Array indexes are kept so reordered lists compare as different.
func Flatten(body []byte) map[string]string {
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return nil
	}
	out := map[string]string{}
	flatten("", v, out)
	return out
}

func flatten(prefix string, v any, out map[string]string) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if volatileKeys[strings.ToLower(k)] {
				continue
			}
			p := k
			if prefix != "" {
				p = prefix + "." + k
			}
			flatten(p, e, out)
		}
	case []any:
		for i, e := range x {
			flatten(fmt.Sprintf("%s[%d]", prefix, i), e, out)
		}
	default:
		b, _ := json.Marshal(x)
		out[prefix] = string(b)
	}
}

// Similarity compares two bodies: the share of path=value pairs they have in common (Jaccard)
// for JSON, and a line-set Jaccard otherwise. 1 means identical after volatile fields.
func Similarity(a, b []byte) float64 {
	fa, fb := Flatten(a), Flatten(b)
	if fa == nil || fb == nil {
		return jaccard(lines(a), lines(b))
	}
	sa, sb := map[string]bool{}, map[string]bool{}
	for k, v := range fa {
		sa[k+"="+v] = true
	}
	for k, v := range fb {
		sb[k+"="+v] = true
	}
	return jaccard(sa, sb)
}

func lines(b []byte) map[string]bool {
	m := map[string]bool{}
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			m[l] = true
		}
	}
	return m
}

func jaccard(a, b map[string]bool) float64 {
	if len(a) == 0 && len(b) == 0 {
		return 1
	}
	inter := 0
	for k := range a {
		if b[k] {
			inter++
		}
	}
	union := len(a) + len(b) - inter
	return float64(inter) / float64(union)
}

// HeaderExcerpt renders the named response headers as "Name: value" lines, for evidence.
func HeaderExcerpt(ex *httpx.Exchange, names ...string) string {
	var out []string
	for _, n := range names {
		for _, v := range ex.Header.Values(n) {
			out = append(out, http.CanonicalHeaderKey(n)+": "+v)
		}
	}
	sort.Strings(out)
	return strings.Join(out, "\n")
}

// Ops returns the target's operations with the given methods (all when none given).
func (s *Session) Ops(methods ...string) []*target.Operation {
	var out []*target.Operation
	for _, op := range s.Target.Operations {
		if len(methods) == 0 {
			out = append(out, op)
			continue
		}
		for _, m := range methods {
			if strings.EqualFold(op.Method, m) {
				out = append(out, op)
				break
			}
		}
	}
	return out
}

// Identity returns the i-th identity, or nil.
func (s *Session) Identity(i int) *target.Identity {
	if i < len(s.Target.Identities) {
		return s.Target.Identities[i]
	}
	return nil
}
