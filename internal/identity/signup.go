package identity

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/apigate/apigate/internal/httpx"
	"github.com/apigate/apigate/internal/openapi"
	"github.com/apigate/apigate/internal/target"
)

// Signup registers a fresh user, then logs in as it. In Body and in Login's body the
// placeholders {{username}}, {{password}} and {{email}} stand for the generated values.
type Signup struct {
	// Method defaults to POST; Path defaults to the API document's signup operation.
	Method string
	Path   string
	// Body defaults to {username, email, password} (or the fields the document names).
	Body map[string]any
	Form bool
	// Login is how to log in afterwards; default the document's login operation, or the
	// token the signup answer itself carries.
	Login *Login
}

func signupIdentity(ctx context.Context, name string, s Signup, o Options) (*target.Identity, error) {
	if o.Client == nil || o.Target == nil {
		return nil, errors.New("signup needs the scan's HTTP client")
	}
	if s.Path == "" {
		op := o.SignupOperation
		if op == nil {
			return nil, errors.New("signup needs a path: the API document declares no signup operation")
		}
		s.Method, s.Path = op.Method, op.Path
		if s.Body == nil {
			s.Body = defaultBody(op)
		}
	}
	if s.Method == "" {
		s.Method = "POST"
	}
	if s.Body == nil {
		s.Body = map[string]any{"username": "{{username}}", "email": "{{email}}", "password": "{{password}}"}
	}
	v, err := newUser()
	if err != nil {
		return nil, err
	}
	body := fill(s.Body, v).(map[string]any)
	ex, err := send(ctx, o, s.Method, s.Path, body, s.Form)
	if err != nil {
		return nil, fmt.Errorf("signup %s %s: %w", s.Method, s.Path, err)
	}
	if ex.Status < 200 || ex.Status > 299 {
		return nil, fmt.Errorf("signup %s %s answered %d", s.Method, s.Path, ex.Status)
	}

	var l Login
	switch {
	case s.Login != nil:
		l = *s.Login
		if l.Body == nil {
			l.Body = map[string]any{"username": "{{username}}", "password": "{{password}}"}
		}
		l.Body = fill(l.Body, v).(map[string]any)
	case o.LoginOperation != nil:
		uf, _ := openapi.CredentialFields(o.LoginOperation)
		user := v["username"]
		if strings.Contains(strings.ToLower(uf), "email") {
			user = v["email"]
		}
		if l, err = loginFromOperation(o.LoginOperation, user, v["password"]); err != nil {
			return nil, err
		}
	default:
		// No login: the signup answer itself must carry the token.
		sl := Login{Method: s.Method, Path: s.Path}
		token, err := sl.extractToken(ex)
		if err != nil || token == "" {
			return nil, fmt.Errorf("signup %s %s: no login to follow it and no token in its answer",
				s.Method, s.Path)
		}
		c := target.Credentials{Headers: http.Header{"Authorization": {"Bearer " + token}}, Token: token}
		id := target.NewIdentity(name, c, nil)
		id.Secrets = append(id.Secrets, v["password"])
		return id, nil
	}
	return loginIdentity(ctx, name, l, o)
}

func send(ctx context.Context, o Options, method, path string, body map[string]any,
	form bool) (*httpx.Exchange, error) {
	raw, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	h := http.Header{"Content-Type": {"application/json"}, "Accept": {"application/json"}}
	if form {
		raw = []byte(formEncode(body))
		h.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	return o.Client.Do(ctx, httpx.Request{Method: method, URL: o.Target.URL(path), Header: h, Body: raw})
}

// newUser makes a random username, email and password. The password mixes character
// classes so password policies accept it.
func newUser() (map[string]string, error) {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("random user: %w", err)
	}
	name := "apigate_" + hex.EncodeToString(b[:4])
	return map[string]string{
		"username": name,
		"email":    name + "@example.com",
		"password": "Ag-" + hex.EncodeToString(b[4:]) + "!Z9",
	}, nil
}

// fill replaces placeholders in every string of v.
func fill(v any, vals map[string]string) any {
	switch x := v.(type) {
	case string:
		for k, val := range vals {
			x = strings.ReplaceAll(x, "{{"+k+"}}", val)
		}
		return x
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = fill(e, vals)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = fill(e, vals)
		}
		return out
	}
	return v
}

// defaultBody builds a signup body from the operation's schema: credential fields get
// placeholders, other required string fields a plausible value.
func defaultBody(op *target.Operation) map[string]any {
	body := map[string]any{}
	if op.RequestBody == nil {
		return nil
	}
	uf, pf := openapi.CredentialFields(op)
	for name, p := range op.RequestBody.Properties {
		lower := strings.ToLower(name)
		switch {
		case name == pf:
			body[name] = "{{password}}"
		case strings.Contains(lower, "email"):
			body[name] = "{{email}}"
		case name == uf:
			body[name] = "{{username}}"
		case contains(op.RequestBody.Required, name) && p != nil && (p.Type == "string" || p.Type == ""):
			body[name] = "{{username}}"
		}
	}
	return body
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func formEncode(body map[string]any) string {
	var parts []string
	for k, v := range body {
		parts = append(parts, urlEscape(k)+"="+urlEscape(fmt.Sprint(v)))
	}
	return strings.Join(parts, "&")
}
