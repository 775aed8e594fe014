package probes

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/apigate/apigate/internal/httpx"
	"github.com/apigate/apigate/internal/target"
)

// forbiddenObject creates an object as the first identity and reads it as the second, which
// should be refused (403, or 404 to hide that it exists) and logged as an authorization
// failure. The object is deleted afterwards when the API offers a DELETE.
func (r *logRun) forbiddenObject(ctx context.Context) {
	s := r.s
	a, b := s.Identity(0), s.Identity(1)
	if a == nil || b == nil {
		r.notes = append(r.notes, "forbidden access not tested: it needs two identities")
		return
	}
	create, read := findCreateRead(s)
	if create == nil {
		r.notes = append(r.notes, "forbidden access not tested: no create operation with a "+
			"matching read by id")
		return
	}
	body, _ := Example(create.RequestBody, "").(map[string]any)
	if body == nil {
		body = map[string]any{}
	}
	markCanary(create.RequestBody, body, "apigate-"+s.Canary)
	made, err := s.Send(ctx, a, http.MethodPost, FillPath(create, nil), body, nil)
	if err != nil || !Is2xx(made.Status) {
		r.notes = append(r.notes, fmt.Sprintf("forbidden access not tested: creating an object "+
			"with POST %s failed", create.Path))
		return
	}
	id := objectID(made)
	if id == "" {
		r.notes = append(r.notes,
			"forbidden access not tested: the created object's id was not found")
		return
	}
	param := PathParams(read.Path)[0]
	path := FillPath(read, map[string]string{param: id})
	h, rid := r.header()
	ex, err := s.Send(ctx, b, http.MethodGet, path, nil, h)
	if err == nil && (ex.Status == 403 || ex.Status == 404 || ex.Status == 401) {
		r.record("forbidden object", rid, ex)
	} else if err == nil {
		r.notes = append(r.notes, fmt.Sprintf("the second identity's read of the first one's "+
			"object answered %d, so there was no refusal to log", ex.Status))
	}
	for _, op := range s.Ops(http.MethodDelete) {
		if op.Path == read.Path {
			_, _ = s.Send(ctx, a, http.MethodDelete, path, nil, nil)
			break
		}
	}
}

// findCreateRead returns a POST on a collection and the GET of one of its items by id.
func findCreateRead(s *Session) (create, read *target.Operation) {
	for _, c := range s.Ops(http.MethodPost) {
		if c.RequestBody == nil || len(PathParams(c.Path)) > 0 || looksLikeLogin(c.Path) ||
			strings.Contains(strings.ToLower(c.Path), "signup") ||
			strings.Contains(strings.ToLower(c.Path), "register") {
			continue
		}
		for _, g := range s.Ops(http.MethodGet) {
			prefix, last, ok := cutLast(g.Path)
			if ok && target.IsParam(last) && strings.TrimSuffix(prefix, "/") ==
				strings.TrimSuffix(c.Path, "/") && len(PathParams(g.Path)) == 1 {
				return c, g
			}
		}
	}
	return nil, nil
}

func cutLast(p string) (string, string, bool) {
	i := strings.LastIndex(p, "/")
	if i < 0 {
		return "", "", false
	}
	return p[:i], p[i+1:], true
}

// markCanary puts the canary in the first free-text string property, so the object can be
// recognised as the scanner's.
func markCanary(sc *target.Schema, body map[string]any, canary string) {
	if sc == nil {
		return
	}
	for _, name := range sortedKeys(sc.Properties) {
		p := sc.Properties[name]
		if p == nil || p.Type != "string" || p.Format != "" || len(p.Enum) > 0 || p.ReadOnly ||
			p.Pattern != "" {
			continue
		}
		if p.MaxLength != nil && *p.MaxLength < len(canary) {
			continue
		}
		body[name] = canary
		return
	}
}

func sortedKeys(m map[string]*target.Schema) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// objectID finds the id of a created object: an "id" field (top level or under "data"),
// else the last segment of the Location header.
func objectID(ex *httpx.Exchange) string {
	var m map[string]any
	if json.Unmarshal(ex.Body, &m) == nil {
		for _, obj := range []map[string]any{m, asObject(m["data"])} {
			for _, k := range []string{"id", "ID", "Id", "uuid", "_id"} {
				switch v := obj[k].(type) {
				case string:
					if v != "" {
						return v
					}
				case float64:
					return strconv.FormatFloat(v, 'f', -1, 64)
				}
			}
		}
	}
	if loc := ex.Header.Get("Location"); loc != "" {
		if _, last, ok := cutLast(strings.TrimSuffix(loc, "/")); ok && last != "" {
			return last
		}
	}
	return ""
}

func asObject(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}
