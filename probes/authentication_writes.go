package probes

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/apigate/apigate/internal/finding"
	"github.com/apigate/apigate/internal/httpx"
	"github.com/apigate/apigate/internal/target"
)

// testWrites sends write operations without credentials. A write counts as a bypass only
// when its effect is seen: the created object carries our marker, or the owner reads back
// the change or finds the object gone (detection-notes §2: empty 2xx on writes).
func (a *authRun) testWrites(writes []*target.Operation) {
	resources := a.resources
	n := 0
	for _, op := range writes {
		if n >= authMaxWrites || a.ctx.Err() != nil {
			break
		}
		n++
		a.tested++
		a.noteForm("no credentials")
		method := strings.ToUpper(op.Method)
		switch {
		case method == http.MethodPost && len(PathParams(op.Path)) == 0:
			a.anonymousCreate(op, resources)
		case len(PathParams(op.Path)) == 1 && resourceOf(resources, op) != nil && a.id != nil:
			a.anonymousItemWrite(op, resourceOf(resources, op))
		case len(PathParams(op.Path)) == 0:
			ex, err := a.s.Send(a.ctx, nil, op.Method, op.Path, map[string]any{}, nil)
			if err != nil && ex == nil {
				continue
			}
			a.countWrite(op, ex, "the change could not be read back")
		default:
			a.untested = append(a.untested, op.Method+" "+op.Path+" (no object of ours to act on)")
		}
	}
}

// resourceOf finds the resource whose item path op acts on.
func resourceOf(rs []*resource, op *target.Operation) *resource {
	for _, r := range rs {
		for _, u := range append(append([]*target.Operation{}, r.Update...), r.Delete) {
			if u == op {
				return r
			}
		}
	}
	return nil
}

// countWrite files an unconfirmed write answer as refused or unclear.
func (a *authRun) countWrite(op *target.Operation, ex *httpx.Exchange, unconfirmed string) {
	out, why := judgeAuth(ex, nil)
	switch out {
	case outRefused, outNotBypass:
		a.refused++
	default:
		a.unclear = append(a.unclear, fmt.Sprintf("%s %s with no credentials: %s (%s)",
			op.Method, op.Path, why, unconfirmed))
	}
}

func (a *authRun) anonymousCreate(op *target.Operation, resources []*resource) {
	marker := a.s.Canary + "-anon"
	ex, err := a.s.Send(a.ctx, nil, op.Method, op.Path, createBody(op, marker), nil)
	if err != nil && ex == nil {
		return
	}
	if !Is2xx(ex.Status) || EmptyBody(ex.Body) && ex.Status != http.StatusCreated ||
		LooksLikeError(ex.Body) {
		a.countWrite(op, ex, "nothing was created")
		return
	}
	var r *resource
	for _, x := range resources {
		if x.Create == op {
			r = x
		}
	}
	stored := strings.Contains(string(ex.Body), marker)
	if !stored && r != nil && a.id != nil {
		// The answer does not echo the object: read it back as the identity.
		if oid := extractID(ex, r); oid != "" {
			back, _ := a.s.Send(a.ctx, a.id, http.MethodGet, r.ItemPath(r.Read, &object{ID: oid}),
				nil, nil)
			stored = back != nil && Is2xx(back.Status) &&
				strings.Contains(string(back.Body), marker)
		}
	}
	if !stored {
		a.countWrite(op, ex, "the object could not be found afterwards")
		return
	}
	if op.Security != target.SecurityRequired {
		// Anonymous creation is a feature of sign-up forms, comments and contact forms;
		// without a declaration it is not evidence of a missing check.
		a.publicLike = append(a.publicLike, op.Method+" "+op.Path)
		a.tested--
		if r != nil && a.id != nil {
			a.s.deleteObject(a.ctx, a.id, r, &object{ID: extractID(ex, r)})
		}
		return
	}
	a.findings = append(a.findings, a.missingFinding(op, ex, RuleAuthMissing, "no credentials",
		finding.ConfidenceHigh, fmt.Sprintf("%d and created an object carrying our marker",
			ex.Status)))
	if r != nil && a.id != nil {
		a.s.deleteObject(a.ctx, a.id, r, &object{ID: extractID(ex, r)})
	}
}

// anonymousItemWrite updates or deletes an object the identity created, with no
// credentials, then reads it back as the identity.
func (a *authRun) anonymousItemWrite(op *target.Operation, r *resource) {
	o, err := a.s.createObject(a.ctx, a.id, r, a.s.Canary+"-authw")
	if err != nil {
		a.untested = append(a.untested,
			op.Method+" "+op.Path+" (could not create an object: "+err.Error()+")")
		return
	}
	defer a.s.deleteObject(a.ctx, a.id, r, o)
	path := r.ItemPath(op, o)
	readPath := r.ItemPath(r.Read, o)
	if strings.EqualFold(op.Method, http.MethodDelete) {
		ex, err := a.s.Send(a.ctx, nil, op.Method, path, nil, nil)
		if err != nil && ex == nil {
			return
		}
		if !Is2xx(ex.Status) {
			a.countWrite(op, ex, "")
			return
		}
		back, _ := a.s.Send(a.ctx, a.id, http.MethodGet, readPath, nil, nil)
		if back != nil && (back.Status == http.StatusNotFound || back.Status == http.StatusGone) {
			a.findings = append(a.findings, a.missingFinding(op, ex, RuleAuthMissing,
				"no credentials",
				finding.ConfidenceHigh, fmt.Sprintf("%d, and the owner then got %d reading the object",
					ex.Status, back.Status)))
			return
		}
		a.countWrite(op, ex, "the object was still there afterwards")
		return
	}
	var stored []byte
	if ex, _ := a.s.Send(a.ctx, a.id, http.MethodGet, readPath, nil, nil); ex != nil &&
		Is2xx(ex.Status) {
		stored = ex.Body
	}
	field := markedField(o.Body, o.Marker, stored)
	if field == "" {
		a.untested = append(a.untested, op.Method+" "+op.Path+" (no text field to change)")
		return
	}
	changed := o.Marker + "-changed"
	body := map[string]any{field: changed}
	if strings.EqualFold(op.Method, http.MethodPut) {
		body = cloneMap(o.Body)
		body[field] = changed
	}
	ex, err := a.s.Send(a.ctx, nil, op.Method, path, body, nil)
	if err != nil && ex == nil {
		return
	}
	if !Is2xx(ex.Status) {
		a.countWrite(op, ex, "")
		return
	}
	back, _ := a.s.Send(a.ctx, a.id, http.MethodGet, readPath, nil, nil)
	if back != nil && Is2xx(back.Status) && strings.Contains(string(back.Body), changed) {
		a.findings = append(a.findings, a.missingFinding(op, ex, RuleAuthMissing, "no credentials",
			finding.ConfidenceHigh, fmt.Sprintf("%d, and the owner then read back the changed %q",
				ex.Status, field)))
		return
	}
	a.countWrite(op, ex, "the change was not stored")
}

// loginChecks logs in once per identity with a wrong password. A success is a 2xx that is
// not error-shaped and hands out a credential (a token field, a JWT or a session cookie):
// a 200 {"status":"fail"} is a refusal whatever its status.
func (a *authRun) loginChecks() {
	for i, id := range a.s.Target.Identities {
		if i >= 2 || id.Login == nil || id.Login.PasswordField == "" || a.ctx.Err() != nil {
			continue
		}
		body := cloneMap(id.Login.Body)
		body[id.Login.PasswordField] = "apigate-wrong-" + a.s.Canary
		method := id.Login.Method
		if method == "" {
			method = http.MethodPost
		}
		a.noteForm("a wrong password at login")
		ex, err := a.s.Send(a.ctx, nil, method, id.Login.Path, body, nil)
		if err != nil && ex == nil {
			continue
		}
		if !loginSucceeded(ex) {
			continue
		}
		op := &target.Operation{Method: method, Path: id.Login.Path}
		for _, o := range a.s.Target.Operations {
			if strings.EqualFold(o.Method, method) && target.MatchPath(o.Path, id.Login.Path) {
				op = o
			}
		}
		a.findings = append(a.findings, a.s.NewFinding(RuleLoginWrongPassword, op, ex,
			finding.ConfidenceHigh, fmt.Sprintf("Login as %s succeeds with a wrong password",
				id.Name),
			safeExcerpt(ex.Body, 300),
			fmt.Sprintf("The login of %s was sent with a made-up password and answered %d with a credential.",
				id.Name, ex.Status)))
	}
}

// loginSucceeded tells whether a login answer handed out a credential.
func loginSucceeded(ex *httpx.Exchange) bool {
	if ex == nil || !Is2xx(ex.Status) || LooksLikeError(ex.Body) {
		return false
	}
	for _, c := range ex.Header.Values("Set-Cookie") {
		name, val, _ := strings.Cut(strings.SplitN(c, ";", 2)[0], "=")
		if sessionCookie(name) && val != "" {
			return true
		}
	}
	var v any
	if json.Unmarshal(ex.Body, &v) != nil {
		return false
	}
	found := false
	walkJSON("", v, func(path, key string, val any) {
		s, ok := val.(string)
		if !ok || s == "" {
			return
		}
		if _, isJWT := parseJWT(s); isJWT || tokenKey(key) {
			found = true
		}
	})
	return found
}

func sessionCookie(name string) bool {
	n := strings.ToLower(name)
	return strings.Contains(n, "session") || strings.Contains(n, "sid") ||
		strings.Contains(n, "token") || strings.Contains(n, "auth")
}

// tokenKey reports keys that hold a bearer credential.
func tokenKey(key string) bool {
	switch normKey(key) {
	case "token", "accesstoken", "idtoken", "authtoken", "jwt", "sessiontoken", "sessionid",
		"bearertoken", "apitoken", "refreshtoken":
		return true
	}
	return false
}

// normKey lowercases a JSON key and drops separators, so api_key, apiKey and api-key
// compare equal.
func normKey(k string) string {
	return strings.NewReplacer("_", "", "-", "", " ", "").Replace(strings.ToLower(k))
}

// walkJSON calls fn for every scalar in v with its dotted path and own key.
func walkJSON(path string, v any, fn func(path, key string, val any)) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			p := k
			if path != "" {
				p = path + "." + k
			}
			if _, nested := e.(map[string]any); nested {
				walkJSON(p, e, fn)
				continue
			}
			if l, isList := e.([]any); isList {
				for i, item := range l {
					walkJSONKey(fmt.Sprintf("%s[%d]", p, i), k, item, fn)
				}
				continue
			}
			fn(p, k, e)
		}
	case []any:
		for i, e := range x {
			walkJSON(fmt.Sprintf("%s[%d]", path, i), e, fn)
		}
	default:
		fn(path, "", v)
	}
}

// walkJSONKey walks a list element, giving scalars the list's key.
func walkJSONKey(path, key string, v any, fn func(path, key string, val any)) {
	switch v.(type) {
	case map[string]any, []any:
		walkJSON(path, v, fn)
	default:
		fn(path, key, v)
	}
}
