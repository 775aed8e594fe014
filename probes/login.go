package probes

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/apigate/apigate/internal/httpx"
	"github.com/apigate/apigate/internal/target"
)

// loginTarget is a way to send a failed login: the endpoint and a body builder that puts a
// chosen (wrong) password in place. The rate-limit and logging probes use it.
type loginTarget struct {
	Method, Path string
	// User is the username the failed logins are sent for.
	User string
	// Identity is the identity whose account the failures count against; nil when the
	// login comes from the OpenAPI with a canary username.
	Identity *target.Identity
	// Op is the operation, when one is documented.
	Op *target.Operation

	body      map[string]any
	pwField   string
	userField string
}

// Body returns the login body with password in place of the real one.
func (l *loginTarget) Body(password string) map[string]any {
	out := make(map[string]any, len(l.body))
	for k, v := range l.body {
		out[k] = v
	}
	out[l.pwField] = password
	return out
}

// WithUser returns a copy of l that logs in as user instead; l itself when the username
// field is unknown.
func (l *loginTarget) WithUser(user string) *loginTarget {
	if l.userField == "" {
		return l
	}
	c := *l
	c.body = l.Body("")
	c.body[l.userField] = user
	c.User = user
	return &c
}

// Send posts one login attempt, as JSON, with password and extra headers.
func (l *loginTarget) Send(ctx context.Context, s *Session, password string,
	h http.Header) (*httpx.Exchange, error) {
	return s.Send(ctx, nil, l.Method, l.Path, l.Body(password), h)
}

// findLogin returns how to send a failed login: the first identity with LoginInfo (the last
// one when last is set), else a login operation from the API description with a username
// made from the canary. nil when neither exists.
func findLogin(s *Session, last bool) *loginTarget {
	ids := append([]*target.Identity(nil), s.Target.Identities...)
	if last {
		slices.Reverse(ids)
	}
	for _, id := range ids {
		li := id.Login
		if li == nil || li.PasswordField == "" || li.Path == "" {
			continue
		}
		m := li.Method
		if m == "" {
			m = http.MethodPost
		}
		user, _ := li.Body[li.UsernameField].(string)
		body := make(map[string]any, len(li.Body))
		for k, v := range li.Body {
			body[k] = v
		}
		body[li.PasswordField] = ""
		return &loginTarget{Method: m, Path: li.Path, User: user, Identity: id,
			body: body, pwField: li.PasswordField, userField: li.UsernameField}
	}
	for _, op := range s.Ops(http.MethodPost) {
		if !looksLikeLogin(op.Path) || op.RequestBody == nil || strings.Contains(op.Path, "{") {
			continue
		}
		pw := fieldLike(op.RequestBody, "password", "passwd", "pass", "secret")
		if pw == "" {
			continue
		}
		ex, _ := Example(op.RequestBody, "").(map[string]any)
		if ex == nil {
			ex = map[string]any{}
		}
		user := fmt.Sprintf("%s-user@example.invalid", s.Canary)
		uf := fieldLike(op.RequestBody, "username", "user", "email", "login", "name")
		if uf != "" {
			ex[uf] = user
		}
		ex[pw] = ""
		return &loginTarget{Method: http.MethodPost, Path: op.Path, User: user, Op: op,
			body: ex, pwField: pw, userField: uf}
	}
	return nil
}

// looksLikeLogin reports a path that reads as a login or token endpoint.
func looksLikeLogin(path string) bool {
	p := strings.ToLower(path)
	for _, w := range []string{"login", "signin", "sign-in", "sign_in", "authenticate",
		"/token", "/session"} {
		if strings.Contains(p, w) {
			return true
		}
	}
	return false
}

// fieldLike returns the first property of an object schema whose lowercased name equals
// one of names, trying names in order.
func fieldLike(sc *target.Schema, names ...string) string {
	if sc == nil {
		return ""
	}
	for _, n := range names {
		for k := range sc.Properties {
			if strings.EqualFold(k, n) {
				return k
			}
		}
	}
	return ""
}
