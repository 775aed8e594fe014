package openapi

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/apigate/apigate/internal/target"
)

// converted pairs an operation with its path as written in the document, to find its line.
type converted struct {
	*target.Operation
	templatePath string
}

// methodOrder lists methods in the order operations are emitted for one path.
var methodOrder = []string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE"}

func convert(doc *openapi3.T, base string) ([]converted, error) {
	if doc.Paths == nil {
		return nil, nil
	}
	m := doc.Paths.Map()
	paths := make([]string, 0, len(m))
	for p := range m {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	var out []converted
	for _, p := range paths {
		item := m[p]
		if item == nil {
			continue
		}
		if !strings.HasPrefix(p, "/") {
			return nil, fmt.Errorf("path %q does not start with /", p)
		}
		ops := item.Operations()
		for _, method := range methodOrder {
			o := ops[method]
			if o == nil {
				continue
			}
			c := newConverter()
			op := &target.Operation{
				Method:      method,
				Path:        base + p,
				OperationID: o.OperationID,
				Summary:     o.Summary,
				Deprecated:  o.Deprecated,
				Security:    security(doc, o),
				AuthSchemes: authSchemes(doc, o),
				Params:      c.params(item.Parameters, o.Parameters),
			}
			op.RequestBody, op.RequestContentType = c.requestBody(o.RequestBody)
			op.Response = c.response(o.Responses)
			out = append(out, converted{Operation: op, templatePath: p})
		}
	}
	return out, nil
}

// security applies the operation's own requirements, else the document's. A requirement
// list that is empty, or that offers an empty alternative ({}), lets anonymous callers in.
func security(doc *openapi3.T, o *openapi3.Operation) target.Security {
	reqs := doc.Security
	declared := len(doc.Security) > 0
	if o.Security != nil {
		reqs, declared = *o.Security, true
	}
	if !declared {
		return target.SecurityUnknown
	}
	if len(reqs) == 0 {
		return target.SecurityNone
	}
	for _, r := range reqs {
		if len(r) == 0 {
			return target.SecurityNone
		}
	}
	return target.SecurityRequired
}

// authSchemes names how the credentials the operation's requirements declare travel (see
// target.Operation.AuthSchemes), each kind once, in the order first met.
func authSchemes(doc *openapi3.T, o *openapi3.Operation) []string {
	reqs := doc.Security
	if o.Security != nil {
		reqs = *o.Security
	}
	var kinds []string
	for _, r := range reqs {
		for name := range r {
			var ss *openapi3.SecurityScheme
			if doc.Components != nil && doc.Components.SecuritySchemes[name] != nil {
				ss = doc.Components.SecuritySchemes[name].Value
			}
			if k := schemeKind(ss); k != "" && !slices.Contains(kinds, k) {
				kinds = append(kinds, k)
			}
		}
	}
	slices.Sort(kinds) // requirement maps have no order
	return kinds
}

// schemeKind sorts a security scheme by what a browser does with it: a cookie, or HTTP
// Basic/Digest credentials, it attaches to cross-origin requests by itself; a bearer token
// or an API key in a header or the query it never does.
func schemeKind(ss *openapi3.SecurityScheme) string {
	if ss == nil {
		return ""
	}
	switch strings.ToLower(ss.Type) {
	case "apikey":
		if strings.EqualFold(ss.In, "cookie") {
			return target.AuthCookie
		}
		return target.AuthBearer
	case "http":
		if strings.EqualFold(ss.Scheme, "basic") || strings.EqualFold(ss.Scheme, "digest") {
			return target.AuthBasic
		}
		return target.AuthBearer
	case "oauth2", "openidconnect":
		return target.AuthBearer
	}
	return ""
}

// converter turns kin-openapi schemas into target schemas, sharing converted schemas so a
// recursive schema becomes a cycle in memory instead of an endless copy.
type converter struct {
	seen map[*openapi3.Schema]*target.Schema
}

func newConverter() *converter { return &converter{seen: map[*openapi3.Schema]*target.Schema{}} }

func (c *converter) params(pathLevel, opLevel openapi3.Parameters) []target.Param {
	var out []target.Param
	index := map[string]int{}
	add := func(ps openapi3.Parameters) {
		for _, ref := range ps {
			if ref == nil || ref.Value == nil {
				continue
			}
			p := ref.Value
			tp := target.Param{Name: p.Name, In: p.In, Required: p.Required || p.In == "path"}
			if p.Schema != nil {
				tp.Schema = c.schema(p.Schema)
			}
			key := p.In + "\x00" + p.Name
			if i, ok := index[key]; ok {
				out[i] = tp // an operation's parameter overrides the path item's
				continue
			}
			index[key] = len(out)
			out = append(out, tp)
		}
	}
	add(pathLevel)
	add(opLevel)
	return out
}

// requestBody picks the JSON body when there is one, else a form body, else the first.
func (c *converter) requestBody(ref *openapi3.RequestBodyRef) (*target.Schema, string) {
	if ref == nil || ref.Value == nil || len(ref.Value.Content) == 0 {
		return nil, ""
	}
	ct, mt := pickMedia(ref.Value.Content)
	if mt == nil {
		return nil, ""
	}
	if mt.Schema == nil {
		return &target.Schema{}, ct
	}
	return c.schema(mt.Schema), ct
}

func pickMedia(content openapi3.Content) (string, *openapi3.MediaType) {
	keys := make([]string, 0, len(content))
	for k := range content {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	rank := func(ct string) int {
		ct = strings.ToLower(ct)
		switch {
		case ct == "application/json":
			return 0
		case strings.HasSuffix(ct, "+json") || strings.Contains(ct, "json"):
			return 1
		case ct == "application/x-www-form-urlencoded":
			return 2
		case ct == "multipart/form-data":
			return 3
		}
		return 4
	}
	sort.SliceStable(keys, func(i, j int) bool { return rank(keys[i]) < rank(keys[j]) })
	if len(keys) == 0 {
		return "", nil
	}
	return keys[0], content[keys[0]]
}

// response returns the schema of the lowest 2xx response with a JSON body.
func (c *converter) response(rs *openapi3.Responses) *target.Schema {
	if rs == nil {
		return nil
	}
	m := rs.Map()
	codes := make([]string, 0, len(m))
	for code := range m {
		codes = append(codes, code)
	}
	sort.Strings(codes)
	for _, code := range codes {
		if n, err := strconv.Atoi(code); (err != nil || n < 200 || n > 299) && code != "2XX" {
			continue
		}
		ref := m[code]
		if ref == nil || ref.Value == nil {
			continue
		}
		for ct, mt := range ref.Value.Content {
			if strings.Contains(strings.ToLower(ct), "json") && mt != nil && mt.Schema != nil {
				return c.schema(mt.Schema)
			}
		}
	}
	return nil
}

func (c *converter) schema(ref *openapi3.SchemaRef) *target.Schema {
	if ref == nil || ref.Value == nil {
		return nil
	}
	s := ref.Value
	if t, ok := c.seen[s]; ok {
		return t
	}
	t := &target.Schema{}
	c.seen[s] = t

	if s.Type != nil {
		for _, typ := range s.Type.Slice() {
			if typ == "null" {
				t.Nullable = true
			} else if t.Type == "" {
				t.Type = typ
			}
		}
	}
	t.Format, t.Pattern = s.Format, s.Pattern
	t.Enum = s.Enum
	if s.Const != nil && len(t.Enum) == 0 {
		t.Enum = []any{s.Const}
	}
	t.Minimum, t.Maximum = s.Min, s.Max
	if s.ExclusiveMin.Value != nil && t.Minimum == nil {
		t.Minimum = s.ExclusiveMin.Value
	}
	if s.ExclusiveMax.Value != nil && t.Maximum == nil {
		t.Maximum = s.ExclusiveMax.Value
	}
	if s.MinLength > 0 {
		n := int(s.MinLength)
		t.MinLength = &n
	}
	if s.MaxLength != nil {
		n := int(*s.MaxLength)
		t.MaxLength = &n
	}
	t.ReadOnly, t.WriteOnly = s.ReadOnly, s.WriteOnly
	t.Nullable = t.Nullable || s.Nullable
	t.Example = s.Example
	if t.Example == nil && len(s.Examples) > 0 {
		t.Example = s.Examples[0]
	}
	if s.AdditionalProperties.Has != nil && !*s.AdditionalProperties.Has {
		f := false
		t.AdditionalProperties = &f
	}
	t.Required = append(t.Required, s.Required...)
	if s.Items != nil {
		t.Items = c.schema(s.Items)
	}
	for name, p := range s.Properties {
		if t.Properties == nil {
			t.Properties = map[string]*target.Schema{}
		}
		t.Properties[name] = c.schema(p)
	}
	// allOf members add their fields; for oneOf/anyOf the first alternative stands in.
	parts := append([]*openapi3.SchemaRef{}, s.AllOf...)
	if len(s.OneOf) > 0 {
		parts = append(parts, s.OneOf[0])
	} else if len(s.AnyOf) > 0 {
		parts = append(parts, s.AnyOf[0])
	}
	for _, part := range parts {
		merge(t, c.schema(part))
	}
	return t
}

// merge copies into t what part declares and t does not.
func merge(t, part *target.Schema) {
	if part == nil || part == t {
		return
	}
	if t.Type == "" {
		t.Type = part.Type
	}
	if t.Format == "" {
		t.Format = part.Format
	}
	if t.Items == nil {
		t.Items = part.Items
	}
	if len(t.Enum) == 0 {
		t.Enum = part.Enum
	}
	if t.Example == nil {
		t.Example = part.Example
	}
	for name, p := range part.Properties {
		if t.Properties == nil {
			t.Properties = map[string]*target.Schema{}
		}
		if _, ok := t.Properties[name]; !ok {
			t.Properties[name] = p
		}
	}
	for _, r := range part.Required {
		if !contains(t.Required, r) {
			t.Required = append(t.Required, r)
		}
	}
	if t.Type == "" && len(t.Properties) > 0 {
		t.Type = "object"
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
