package probes

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/apigate/apigate/internal/target"
)

// mutation is one invalid request derived from a valid one. Exactly one thing is wrong in
// it, so whatever the server does can be attributed to that one change.
type mutation struct {
	class string // structure, type, range, string
	name  string // what was done, for the report: "string where an integer is expected"
	field string // the property or parameter changed, "" for structural changes
	path  string
	body  []byte // nil: no body
	ctype string
	// stored is the invalid value to look for when reading the object back; nil when the
	// value cannot be compared (raw JSON such as 1e309).
	stored any
	// violates says the request breaks the documented schema, so accepting it is a gap.
	violates bool
	// large marks oversized input, whose latency is compared with the baseline's.
	large bool
	// missing marks a required field left out: the read-back looks for its absence.
	missing bool
}

// longString is the size of the "very long string" mutation: large enough to find missing
// limits, small enough to keep the scan fast.
const longString = 64 << 10

// nestDepth is how deep the nested-JSON mutation goes: beyond the recursion limits of
// naive parsers, which then crash or stall, yet only 20 KB on the wire.
const nestDepth = 10000

// rawValue is spliced verbatim into a JSON body: numbers that do not fit any Go type, and
// strings that are not valid UTF-8.
type rawValue string

// valueMutation is one invalid value for a field.
type valueMutation struct {
	class, name string
	value       any
	violates    bool
	large       bool
}

// valueMutations lists invalid values for a schema, most telling first.
func valueMutations(sc *target.Schema) []valueMutation {
	if sc == nil {
		return nil
	}
	var out []valueMutation
	add := func(class, name string, v any, violates bool) {
		out = append(out, valueMutation{class: class, name: name, value: v, violates: violates})
	}
	nullOK := sc.Nullable
	switch sc.Type {
	case "integer", "number":
		add("type", "a string where a number is expected", "abc", true)
		if sc.Minimum != nil {
			add("range", "minimum - 1", *sc.Minimum-1, true)
		} else {
			add("range", "-1", -1, false)
		}
		if sc.Maximum != nil {
			add("range", "maximum + 1", *sc.Maximum+1, true)
		}
		if sc.Type == "integer" {
			add("range", "int32 maximum + 1", int64(2147483648), sc.Format == "int32" ||
				(sc.Maximum != nil && *sc.Maximum < 2147483648))
			add("range", "int64 maximum + 1", rawValue("9223372036854775808"), true)
		}
		add("range", "1e309 (beyond float64)", rawValue("1e309"), true)
		add("type", "a boolean where a number is expected", true, true)
		add("type", "an array where a number is expected", []any{1}, true)
		add("type", "null", nil, !nullOK)
	case "string":
		add("type", "a number where a string is expected", 12345, true)
		if sc.MaxLength != nil {
			add("string", "maxLength + 1 characters", strings.Repeat("a", *sc.MaxLength+1), true)
		}
		if len(sc.Enum) > 0 {
			add("string", "a value outside the enum", "apigate-not-in-enum", true)
		}
		if bad, ok := formatViolations[sc.Format]; ok {
			add("string", "a value that is not a valid "+sc.Format, bad, true)
		}
		out = append(out, valueMutation{class: "string", name: "a 64 KB string",
			value: strings.Repeat("A", longString), violates: sc.MaxLength != nil &&
				*sc.MaxLength < longString, large: true})
		add("string", "a NUL character", "apigate\x00nul", false)
		add("string", "invalid UTF-8", rawValue("\"apigate\xff\xfe\""), false)
		add("string", "an empty string", "", sc.MinLength != nil && *sc.MinLength > 0)
		add("type", "an object where a string is expected", map[string]any{"a": 1}, true)
		add("type", "null", nil, !nullOK)
	case "boolean":
		add("type", "a string where a boolean is expected", "yes", true)
		add("type", "a number where a boolean is expected", 2, true)
		add("type", "null", nil, !nullOK)
	case "array":
		add("type", "an object where an array is expected", map[string]any{"a": 1}, true)
		add("type", "a string where an array is expected", "apigate", true)
	case "object":
		add("type", "a string where an object is expected", "apigate", true)
		add("type", "an array where an object is expected", []any{1}, true)
	}
	return out
}

// showValue renders a mutated value compactly for a report: long strings are cut, bytes
// that are not printable are escaped.
func showValue(v any) string {
	switch x := v.(type) {
	case rawValue:
		q := strconv.Quote(string(x))
		return q[1 : len(q)-1]
	case string:
		if len(x) > 24 {
			return fmt.Sprintf("%q", x[:12]+"…")
		}
		return fmt.Sprintf("%q", x)
	}
	return string(mustJSON(v))
}

// formatViolations are values that break a string format.
var formatViolations = map[string]string{
	"email":     "apigate-not-an-email",
	"uuid":      "apigate-not-a-uuid",
	"date-time": "apigate-not-a-date",
	"date":      "2026-13-45",
	"uri":       "apigate not a uri",
	"url":       "apigate not a url",
	"ipv4":      "999.1.1.1",
}

// encodeBody marshals body, splicing in raw values that encoding/json cannot produce.
func encodeBody(body any) []byte {
	raws := map[string]rawValue{}
	var swap func(v any) any
	swap = func(v any) any {
		switch x := v.(type) {
		case rawValue:
			key := fmt.Sprintf("apigate-raw-%d", len(raws))
			raws[key] = x
			return key
		case map[string]any:
			m := make(map[string]any, len(x))
			for k, e := range x {
				m[k] = swap(e)
			}
			return m
		}
		return v
	}
	b := mustJSON(swap(body))
	for k, raw := range raws {
		b = bytes.Replace(b, []byte(`"`+k+`"`), []byte(raw), 1)
	}
	return b
}

// bodyMutations derives the invalid bodies for an operation from its valid example body.
func bodyMutations(op *target.Operation, path string, valid map[string]any) []mutation {
	sc := op.RequestBody
	ct := op.RequestContentType
	if ct == "" {
		ct = "application/json"
	}
	var out []mutation
	structural := func(name string, body []byte, ctype string, violates bool) {
		out = append(out, mutation{class: "structure", name: name, path: path, body: body,
			ctype: ctype, violates: violates})
	}
	structural("malformed JSON", []byte(`{"apigate": [`), ct, false)
	nested := mutation{class: "structure", name: "JSON nested 10,000 levels deep", path: path,
		body:  []byte(`{"apigate":` + strings.Repeat("[", nestDepth) + strings.Repeat("]", nestDepth) + `}`),
		ctype: ct, large: true}
	structural("an empty body", []byte{}, ct, false)
	structural("a wrong Content-Type (text/plain)", encodeBody(valid), "text/plain", false)
	if len(sc.Required) > 0 {
		req := append([]string(nil), sc.Required...)
		sort.Strings(req)
		m := copyMap(valid)
		delete(m, req[0])
		out = append(out, mutation{class: "structure", name: "no " + req[0] +
			" (a required field)", field: req[0], path: path, body: encodeBody(m), ctype: ct,
			violates: true, missing: true})
	}
	// An unknown field is only a gap when the schema forbids one; silently dropping it is
	// fine, but a 5xx on it is still a server error.
	extra := copyMap(valid)
	extra["apigate_unknown"] = "apigate"
	out = append(out, mutation{class: "structure", name: "an undeclared extra field",
		field: "apigate_unknown", path: path, body: encodeBody(extra), ctype: ct,
		stored: "apigate", violates: sc.AdditionalProperties != nil && !*sc.AdditionalProperties})
	out = append(out, nested)
	names := make([]string, 0, len(sc.Properties))
	for k, p := range sc.Properties {
		if !p.ReadOnly {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		if (op.Method == "PUT" || op.Method == "PATCH") && credentialField(name) {
			continue // an accepted bad e-mail or password could lock the identity out
		}
		for _, vm := range valueMutations(sc.Properties[name]) {
			m := copyMap(valid)
			m[name] = vm.value
			mu := mutation{class: vm.class, name: name + " = " + showValue(vm.value) + " (" +
				vm.name + ")", field: name,
				path: path, body: encodeBody(m), ctype: ct, violates: vm.violates, large: vm.large}
			if _, raw := vm.value.(rawValue); !raw && vm.value != nil {
				mu.stored = vm.value
			}
			out = append(out, mu)
		}
	}
	return out
}

// credentialWords mark fields an identity may log in with or be reached by.
var credentialWords = []string{"password", "passwd", "pwd", "secret", "token", "email",
	"e_mail", "username", "login", "phone", "otp", "mfa"}

// credentialField reports whether a property name holds credentials, which updates never
// mutate.
func credentialField(name string) bool {
	low := strings.ToLower(name)
	for _, w := range credentialWords {
		if strings.Contains(low, w) {
			return true
		}
	}
	return false
}

// paramMutations derives invalid path and query values; the body, if any, stays valid.
func paramMutations(op *target.Operation, vals map[string]string, body []byte, ct string) []mutation {
	var out []mutation
	for _, p := range op.Params {
		if p.In != "path" && p.In != "query" {
			continue
		}
		for _, vm := range valueMutations(p.Schema) {
			s, ok := paramText(vm.value)
			if !ok || vm.large {
				continue
			}
			path := ""
			if p.In == "path" {
				v := copyStrings(vals)
				v[p.Name] = s
				path = FillPath(op, v)
			} else {
				path = FillPath(op, vals) + "?" + p.Name + "=" + s
			}
			out = append(out, mutation{class: vm.class, name: "parameter " + p.Name + " = " +
				showValue(vm.value) + " (" + vm.name + ")", field: p.Name, path: path,
				body: body, ctype: ct})
		}
	}
	return out
}

// paramText renders a mutated value for a URL, percent-encoding what a URL cannot carry.
func paramText(v any) (string, bool) {
	switch x := v.(type) {
	case nil, map[string]any, []any:
		return "", false
	case rawValue:
		s := strings.Trim(string(x), `"`)
		return urlEscape(s), true
	case string:
		if x == "" {
			return "", false
		}
		return urlEscape(x), true
	}
	return fmt.Sprint(v), true
}

func urlEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' ||
			c == '.' || c == '_' {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}

// pickMutations takes up to n mutations, one class at a time in turn, so a small cap still
// covers structure, types, ranges and strings.
func pickMutations(all []mutation, n int) []mutation {
	classes := []string{"structure", "type", "range", "string"}
	byClass := map[string][]mutation{}
	for _, m := range all {
		byClass[m.class] = append(byClass[m.class], m)
	}
	var out []mutation
	for len(out) < n {
		added := false
		for _, c := range classes {
			if len(byClass[c]) > 0 && len(out) < n {
				out = append(out, byClass[c][0])
				byClass[c] = byClass[c][1:]
				added = true
			}
		}
		if !added {
			break
		}
	}
	// Oversized inputs are the only ones whose latency is judged: always send one of each
	// kind (deep nesting, a long string).
	have := map[string]bool{}
	for _, o := range out {
		if o.large {
			have[o.class] = true
		}
	}
	for _, m := range all {
		if m.large && !have[m.class] {
			have[m.class] = true
			out = append(out, m)
		}
	}
	return out
}

func copyMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m)+1)
	for k, v := range m {
		out[k] = v
	}
	return out
}

func copyStrings(m map[string]string) map[string]string {
	out := make(map[string]string, len(m)+1)
	for k, v := range m {
		out[k] = v
	}
	return out
}

// storedAs reports whether the flattened object holds v at field.
func storedAs(flat map[string]string, field string, v any) bool {
	got, ok := flat[field]
	if !ok {
		return false
	}
	var want []byte
	if f, isFloat := v.(float64); isFloat && f == float64(int64(f)) {
		want = mustJSON(int64(f))
	} else {
		want = mustJSON(v)
	}
	if got == string(want) {
		return true
	}
	// Numbers may come back in another notation (1e+06); a number coerced to a string, or
	// the other way round, is lenient parsing rather than the invalid value stored.
	var a, b any
	if json.Unmarshal([]byte(got), &a) != nil || json.Unmarshal(want, &b) != nil {
		return false
	}
	fa, okA := a.(float64)
	fb, okB := b.(float64)
	return okA && okB && fa == fb
}
