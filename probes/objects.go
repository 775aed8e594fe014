package probes

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/apigate/apigate/internal/httpx"
	"github.com/apigate/apigate/internal/target"
)

// resource is a collection the API lets a caller create objects in, with the operations
// on one object: POST /things, GET /things/{id}, PUT|PATCH /things/{id}, DELETE /things/{id}.
// The identity probes act only on objects they created through it.
type resource struct {
	Create *target.Operation
	Read   *target.Operation
	Update []*target.Operation
	Delete *target.Operation
	// Param is the name of the item path's last parameter.
	Param string
	// Parent names the collection path's own parameter when the collection belongs to a
	// user (/users/{userId}/orders); it is filled with the acting identity's user id.
	Parent string
}

// Name is the collection's last path segment ("orders").
func (r *resource) Name() string {
	segs := strings.Split(strings.Trim(r.Create.Path, "/"), "/")
	return segs[len(segs)-1]
}

// Singular names one object of the collection ("order"), for messages.
func (r *resource) Singular() string {
	n := r.Name()
	switch {
	case strings.HasSuffix(n, "ies"):
		return strings.TrimSuffix(n, "ies") + "y"
	case strings.HasSuffix(n, "ss"):
		return n
	}
	return strings.TrimSuffix(n, "s")
}

// findResources pairs each POST on a collection path with the item operations one {param}
// below it. The collection path may hold one parameter naming its owning user
// (/users/{userId}/orders), which the probes fill with their own user id; collections under
// any other parameter are left out, as the probes could not name a parent they own.
func findResources(ops []*target.Operation) []*resource {
	var out []*resource
	for _, c := range ops {
		params := PathParams(c.Path)
		if !strings.EqualFold(c.Method, http.MethodPost) || len(params) > 1 ||
			len(params) == 1 && !ownerParam.MatchString(params[0]) {
			continue
		}
		r := &resource{Create: c}
		if len(params) == 1 {
			r.Parent = params[0]
		}
		prefix := strings.TrimSuffix(c.Path, "/") + "/"
		for _, op := range ops {
			rest, ok := strings.CutPrefix(op.Path, prefix)
			if !ok || strings.Contains(rest, "/") || !target.IsParam(rest) {
				continue
			}
			r.Param = strings.Trim(rest, "{}<>:")
			switch strings.ToUpper(op.Method) {
			case http.MethodGet:
				r.Read = op
			case http.MethodPut, http.MethodPatch:
				r.Update = append(r.Update, op)
			case http.MethodDelete:
				r.Delete = op
			}
		}
		if r.Read != nil {
			byMethod := func(i, j int) bool { return r.Update[i].Method > r.Update[j].Method }
			sort.Slice(r.Update, byMethod)
			out = append(out, r)
		}
	}
	return out
}

// ownerParam matches path parameters that name the user a collection belongs to.
var ownerParam = regexp.MustCompile(`(?i)^(user|users|uid|account|owner|customer|member|profile)([_-]?(id|name))?$`)

// ItemPath is the path of object o for one of the resource's item operations.
func (r *resource) ItemPath(op *target.Operation, o *object) string {
	vals := map[string]string{r.Param: o.ID}
	if r.Parent != "" {
		vals[r.Parent] = o.Parent
	}
	return FillPath(op, vals)
}

// CollectionPath is the collection's path under parent (ignored for top-level ones).
func (r *resource) CollectionPath(op *target.Operation, parent string) string {
	if r.Parent == "" {
		return op.Path
	}
	return FillPath(op, map[string]string{r.Parent: parent})
}

// createBody builds a valid create body from the operation's schema in which every free
// string carries marker, so the object can be recognised wherever it shows up.
func createBody(op *target.Operation, marker string) map[string]any {
	if op.RequestBody == nil || len(op.RequestBody.Properties) == 0 {
		return map[string]any{"name": marker, "title": marker, "description": marker}
	}
	body := map[string]any{}
	for name, p := range op.RequestBody.Properties {
		if p.ReadOnly {
			continue
		}
		body[name] = markValue(p, name, marker)
	}
	return body
}

// markValue is an example value for one property, with marker put in free strings.
func markValue(p *target.Schema, name, marker string) any {
	v := Example(p, name)
	if p.Type != "string" && p.Type != "" || len(p.Enum) > 0 {
		return v
	}
	if _, ok := v.(string); !ok {
		return v
	}
	switch p.Format {
	case "email":
		return marker + "@example.invalid"
	case "", "text":
	default:
		return v
	}
	if strings.Contains(strings.ToLower(name), "email") {
		return marker + "@example.invalid"
	}
	if p.Pattern != "" || p.MaxLength != nil && *p.MaxLength < len(marker) {
		return v
	}
	return marker
}

// markedField names a field of body that carries marker, preferring descriptive names.
// When stored (the object as read back) is given, only fields the API kept count, so a
// change is made where it can be seen.
func markedField(body map[string]any, marker string, stored []byte) string {
	kept := decodeObject(stored)
	var names []string
	for k, v := range body {
		if s, ok := v.(string); ok && s == marker {
			if kept != nil && kept[k] != marker {
				continue
			}
			names = append(names, k)
		}
	}
	sort.Slice(names, func(i, j int) bool { return fieldRank(names[i]) < fieldRank(names[j]) })
	if len(names) == 0 {
		return ""
	}
	return names[0]
}

func fieldRank(name string) string {
	for i, pref := range []string{"name", "title", "description", "note", "text", "content"} {
		if strings.Contains(strings.ToLower(name), pref) {
			return fmt.Sprintf("%d%s", i, name)
		}
	}
	return "9" + name
}

// idKeys are the JSON keys an API puts an object's identifier in.
var idKeys = []string{"id", "uuid", "_id", "ID", "Id", "key", "slug"}

// extractID reads the identifier of a created object from the response: an id-like field
// at the top level or under a data/item wrapper, else the Location header's last segment.
func extractID(ex *httpx.Exchange, r *resource) string {
	if ex == nil {
		return ""
	}
	var obj map[string]any
	d := json.NewDecoder(bytes.NewReader(ex.Body))
	d.UseNumber() // ids beyond 2^53 must survive
	if d.Decode(&obj) == nil {
		single := r.Singular()
		keys := append([]string{r.Param}, idKeys...)
		keys = append(keys, single+"_id", single+"Id")
		for _, cand := range []map[string]any{obj, asMap(obj["data"]), asMap(obj[single]),
			asMap(obj["item"]), asMap(obj["result"])} {
			for _, k := range keys {
				if id := scalarString(cand[k]); id != "" {
					return id
				}
			}
		}
	}
	if loc := ex.Header.Get("Location"); loc != "" {
		loc, _, _ = strings.Cut(loc, "?")
		segs := strings.Split(strings.TrimRight(loc, "/"), "/")
		if last := segs[len(segs)-1]; last != "" && !strings.Contains(last, ":") {
			return last
		}
	}
	return ""
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

// scalarString renders an id value: strings as they are, integral numbers without an
// exponent. Other kinds give "".
func scalarString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		if x == float64(int64(x)) {
			return fmt.Sprintf("%d", int64(x))
		}
	case json.Number:
		return x.String()
	}
	return ""
}

// object is something a probe created and must clean up.
type object struct {
	ID string
	// Parent is the owner id in the path of a nested collection, "" otherwise.
	Parent string
	Marker string
	Body   map[string]any
	Create *httpx.Exchange
}

// createObject creates an object in r as id with marker in its free strings.
func (s *Session) createObject(ctx context.Context, id *target.Identity, r *resource,
	marker string) (*object, error) {
	body := createBody(r.Create, marker)
	parent := ""
	if r.Parent != "" {
		if parent = identityUserID(ctx, s, id); parent == "" {
			return nil, fmt.Errorf("create in %s: the user id of %s is unknown", r.Create.Path,
				id.Name)
		}
	}
	ex, err := s.Send(ctx, id, r.Create.Method, r.CollectionPath(r.Create, parent), body, nil)
	if err != nil {
		return nil, fmt.Errorf("create in %s: %w", r.Create.Path, err)
	}
	if !Is2xx(ex.Status) {
		return nil, fmt.Errorf("create in %s: status %d", r.Create.Path, ex.Status)
	}
	oid := extractID(ex, r)
	if oid == "" {
		return nil, fmt.Errorf("create in %s: no id in the response", r.Create.Path)
	}
	return &object{ID: oid, Parent: parent, Marker: marker, Body: body, Create: ex}, nil
}

// deleteObject removes an object the probe created; failures are ignored because the
// object may already be gone.
func (s *Session) deleteObject(ctx context.Context, id *target.Identity, r *resource, o *object) {
	if r.Delete == nil || o == nil {
		return
	}
	_, _ = s.Send(ctx, id, r.Delete.Method, r.ItemPath(r.Delete, o), nil, nil)
}

// pathResolver fills path parameters with identifiers that exist, read from the listing of
// the collection above each parameter, so GETs on /things/{id} reach a real object.
type pathResolver struct {
	s     *Session
	id    *target.Identity
	cache map[string]string
}

func newPathResolver(s *Session, id *target.Identity) *pathResolver {
	return &pathResolver{s: s, id: id, cache: map[string]string{}}
}

// Resolve returns op's path with every parameter filled; ok is false when some parameter
// could only be filled with a made-up value.
func (pr *pathResolver) Resolve(ctx context.Context, op *target.Operation) (string, bool) {
	segs := strings.Split(op.Path, "/")
	vals := map[string]string{}
	ok := true
	for i, seg := range segs {
		if !target.IsParam(seg) {
			continue
		}
		name := strings.Trim(seg, "{}<>:")
		if ownerParam.MatchString(name) && pr.id != nil {
			// A user's own branch: the identity's id, not the first user listed.
			if v := identityUserID(ctx, pr.s, pr.id); v != "" {
				vals[name] = v
				continue
			}
		}
		prefix := strings.Join(segs[:i], "/")
		filled := FillPath(&target.Operation{Path: prefix, Params: op.Params}, vals)
		v := pr.firstID(ctx, prefix, filled)
		if v == "" {
			ok = false
			continue
		}
		vals[name] = v
	}
	return withRequiredQuery(op, FillPath(op, vals)), ok
}

// withRequiredQuery appends the operation's required query parameters with example values,
// so a search that needs ?q= is not refused for a missing parameter.
func withRequiredQuery(op *target.Operation, path string) string {
	q := url.Values{}
	for _, p := range op.Params {
		if p.In == "query" && p.Required {
			q.Set(p.Name, fmt.Sprint(Example(p.Schema, p.Name)))
		}
	}
	if len(q) == 0 {
		return path
	}
	return path + "?" + q.Encode()
}

func (pr *pathResolver) firstID(ctx context.Context, key, path string) string {
	if v, ok := pr.cache[key]; ok {
		return v
	}
	v := ""
	if path != "" && !strings.Contains(path, "{") {
		ex, err := pr.s.Send(ctx, pr.id, http.MethodGet, path, nil, nil)
		if err == nil && Is2xx(ex.Status) {
			v = firstListedID(ex.Body)
		}
	}
	pr.cache[key] = v
	return v
}

// firstListedID finds the id of the first element of a JSON list, bare or wrapped in an
// object (items, data, results...).
func firstListedID(body []byte) string {
	var v any
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	if d.Decode(&v) != nil {
		return ""
	}
	list, _ := v.([]any)
	if m, ok := v.(map[string]any); ok && list == nil {
		for _, k := range []string{"items", "data", "results", "records", "content", "list"} {
			if l, ok := m[k].([]any); ok {
				list = l
				break
			}
		}
	}
	for _, e := range list {
		m, ok := e.(map[string]any)
		if !ok {
			continue
		}
		for _, k := range idKeys {
			if id := scalarString(m[k]); id != "" {
				return id
			}
		}
	}
	return ""
}

// meOp finds the operation that returns the caller's own record (/me, /users/me, /profile,
// /account, /whoami), if the API has one.
func meOp(ops []*target.Operation, method string) *target.Operation {
	for _, op := range ops {
		if strings.EqualFold(op.Method, method) && meRoute.MatchString(op.Path) {
			return op
		}
	}
	return nil
}

var meRoute = regexp.MustCompile(`(?i)/(me|self|whoami|profile|account|current[_-]?user|user)/?$`)

// personalValues are an identity's own identifying strings: the user name it logs in with
// and the e-mail addresses and names of its own record. An answer carrying them was made
// for that identity.
func personalValues(ctx context.Context, s *Session, id *target.Identity) []string {
	if id == nil {
		return nil
	}
	var out []string
	add := func(v string) {
		if len(v) >= 3 {
			out = append(out, v)
		}
	}
	if id.Login != nil {
		if u, ok := id.Login.Body[id.Login.UsernameField].(string); ok {
			add(u)
		}
	}
	me := meOp(s.Target.Operations, http.MethodGet)
	if me == nil || len(PathParams(me.Path)) > 0 {
		return out
	}
	ex, err := s.Send(ctx, id, http.MethodGet, me.Path, nil, nil)
	if err != nil || !Is2xx(ex.Status) {
		return out
	}
	obj := decodeObject(ex.Body)
	for _, k := range []string{"username", "user_name", "userName", "login", "email", "handle"} {
		if v, ok := obj[k].(string); ok {
			add(v)
		}
	}
	for _, c := range contactValues(ex.Body) {
		add(c)
	}
	return out
}

// userIDs caches each identity's own user id for the scan: identities live as long as the
// scan, and every probe that nests objects under a user needs the same answer.
var userIDs sync.Map // *target.Identity -> string

// identityUserID is the identity's user id as its own record (/me) states it, "" when the
// API has no such record.
func identityUserID(ctx context.Context, s *Session, id *target.Identity) string {
	if v, ok := userIDs.Load(id); ok {
		return v.(string)
	}
	me := meOp(s.Target.Operations, http.MethodGet)
	if me == nil || len(PathParams(me.Path)) > 0 {
		return ""
	}
	ex, err := s.Send(ctx, id, http.MethodGet, me.Path, nil, nil)
	if err != nil || !Is2xx(ex.Status) {
		return ""
	}
	obj := decodeObject(ex.Body)
	v := ""
	for _, k := range []string{"id", "user_id", "userId", "uuid", "username"} {
		if v = scalarString(obj[k]); v != "" {
			break
		}
	}
	userIDs.Store(id, v)
	return v
}
