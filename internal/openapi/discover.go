package openapi

import (
	"context"
	"encoding/json"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/apigate/apigate/internal/target"
)

// DiscoverSeeds are the paths discovery starts from when no document describes the API.
var DiscoverSeeds = []string{"/", "/api", "/api/v1", "/v1", "/api/v2", "/v2"}

// Discover finds GET operations without a document: it fetches the seeds, then follows the
// API paths and collection ids that JSON answers mention, breadth first, sending at most max
// requests. It finds only what answers link to; it is a fallback that keeps a minimal scan
// going, not a crawler.
func Discover(ctx context.Context, get Fetcher, seeds []string, max int) []*target.Operation {
	queue := append([]string{}, seeds...)
	asked := map[string]bool{}
	found := map[string]*target.Operation{}
	sent := 0
	for len(queue) > 0 && sent < max && ctx.Err() == nil {
		p := queue[0]
		queue = queue[1:]
		if asked[p] {
			continue
		}
		asked[p] = true
		sent++
		status, body, err := get(ctx, p)
		if err != nil || status < 200 || status > 299 {
			continue
		}
		var doc any
		if json.Unmarshal(body, &doc) != nil {
			continue
		}
		if p != "/" {
			op := templateOperation(p)
			if _, ok := found[op.Path]; !ok {
				found[op.Path] = op
			}
		}
		for _, next := range linksIn(doc, p) {
			if !asked[next] {
				queue = append(queue, next)
			}
		}
	}
	out := make([]*target.Operation, 0, len(found))
	for _, op := range found {
		out = append(out, op)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

var apiPathRe = regexp.MustCompile(`^/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*$`)

// linksIn collects API paths mentioned in a JSON answer: strings that are absolute paths
// or URLs, and item paths built from the ids of a collection served at from.
func linksIn(doc any, from string) []string {
	var out []string
	seen := map[string]bool{}
	add := func(p string) {
		p, _, _ = strings.Cut(p, "#")
		p, _, _ = strings.Cut(p, "?")
		if len(p) > 1 && len(p) < 200 && apiPathRe.MatchString(p) && !seen[p] && !isStatic(p) {
			seen[p] = true
			out = append(out, p)
		}
	}
	budget := 5000
	var walk func(v any, depth int)
	walk = func(v any, depth int) {
		budget--
		if budget < 0 || depth > 20 {
			return
		}
		switch x := v.(type) {
		case string:
			if strings.HasPrefix(x, "/") && !strings.HasPrefix(x, "//") {
				add(x)
			} else if i := strings.Index(x, "://"); i > 0 && i < 6 {
				if j := strings.IndexByte(x[i+3:], '/'); j >= 0 {
					add(x[i+3+j:]) // same target or not, only the path is kept
				}
			}
		case []any:
			for _, e := range x {
				walk(e, depth+1)
			}
		case map[string]any:
			keys := make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				walk(x[k], depth+1)
			}
		}
	}
	walk(doc, 0)
	// A collection of objects with ids suggests item paths under it.
	items, _ := doc.([]any)
	if m, ok := doc.(map[string]any); ok && items == nil {
		for _, k := range []string{"items", "data", "results"} {
			if a, ok := m[k].([]any); ok {
				items = a
				break
			}
		}
	}
	if from != "/" {
		for _, it := range items {
			if obj, ok := it.(map[string]any); ok {
				if id := idString(obj["id"]); id != "" {
					add(strings.TrimSuffix(from, "/") + "/" + id)
					break // one item is enough to learn the template
				}
			}
		}
	}
	return out
}

func idString(v any) string {
	switch x := v.(type) {
	case string:
		if x != "" && !strings.ContainsAny(x, "/?# ") {
			return x
		}
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return ""
}

func isStatic(p string) bool {
	for _, ext := range []string{".css", ".js", ".png", ".jpg", ".svg", ".ico", ".html", ".map", ".woff"} {
		if strings.HasSuffix(strings.ToLower(p), ext) {
			return true
		}
	}
	return false
}

var idSegRe = regexp.MustCompile(`^(\d+|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[0-9a-fA-F]{24})$`)

// templateOperation turns id-like segments into {id} parameters, so /users/42 and
// /users/43 are one operation; the id seen becomes the parameter's example, which probes
// use as a value that exists.
func templateOperation(p string) *target.Operation {
	p, _, _ = strings.Cut(p, "?")
	segs := strings.Split(p, "/")
	op := &target.Operation{Method: "GET"}
	for i, s := range segs {
		if !idSegRe.MatchString(s) {
			continue
		}
		name := "id"
		if n := len(op.Params); n > 0 {
			name = "id" + strconv.Itoa(n+1)
		}
		segs[i] = "{" + name + "}"
		op.Params = append(op.Params, target.Param{Name: name, In: "path", Required: true,
			Schema: &target.Schema{Type: "string", Example: s}})
	}
	op.Path = strings.Join(segs, "/")
	return op
}
