package identity

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/apigate/apigate/internal/httpx"
	"github.com/apigate/apigate/internal/openapi"
	"github.com/apigate/apigate/internal/target"
)

// Login is a request that logs a user in, and where its answer carries the credential.
type Login struct {
	// Method defaults to POST.
	Method string
	Path   string
	// Body is sent as JSON, or as a form when Form is set.
	Body map[string]any
	Form bool
	// Token is a JSON path into the answer's body (e.g. $.access_token or $.data.token).
	Token string
	// TokenHeader names a response header that carries the token instead.
	TokenHeader string
	// Cookie names the session cookie the answer sets; the identity then sends it back.
	Cookie string
	// AuthHeader is the request header the token goes in (default Authorization), and
	// Scheme its prefix there (default Bearer for Authorization, none for other headers).
	AuthHeader string
	Scheme     string
	// UsernameField and PasswordField name the body fields; guessed when empty.
	UsernameField string
	PasswordField string
}

// tokenFields are where login answers commonly put the token, tried when no path is given.
var tokenFields = []string{
	"$.access_token", "$.accessToken", "$.token", "$.jwt", "$.id_token", "$.auth_token",
	"$.data.access_token", "$.data.accessToken", "$.data.token", "$.result.token",
}

func loginIdentity(ctx context.Context, name string, l Login, o Options) (*target.Identity, error) {
	if l.Path == "" {
		return nil, errors.New("login needs a path")
	}
	if o.Client == nil || o.Target == nil {
		return nil, errors.New("login needs the scan's HTTP client")
	}
	if l.Method == "" {
		l.Method = "POST"
	}
	l.Method = strings.ToUpper(l.Method)
	if l.UsernameField == "" || l.PasswordField == "" {
		u, p := guessFields(l.Body)
		l.UsernameField = cmpOr(l.UsernameField, u)
		l.PasswordField = cmpOr(l.PasswordField, p)
	}
	do := func(ctx context.Context) (target.Credentials, error) {
		return l.do(ctx, o.Client, o.Target)
	}
	creds, err := do(ctx)
	if err != nil {
		return nil, err
	}
	id := target.NewIdentity(name, creds, throttle(do, creds))
	id.Login = &target.LoginInfo{
		Method: l.Method, Path: l.Path, Body: l.Body,
		UsernameField: l.UsernameField, PasswordField: l.PasswordField,
	}
	if p, ok := l.Body[l.PasswordField].(string); ok && p != "" {
		id.Secrets = append(id.Secrets, p)
	}
	return id, nil
}

// Re-login limits: probes run concurrently, and a burst of 401s must not become a burst of
// logins (which would trip the API's own brute-force protection and lock the user out).
const (
	reloginGap = 2 * time.Second
	maxRelogin = 20
)

// throttle serialises re-logins: a caller arriving within reloginGap of the last login gets
// its credentials instead of a new login, and after maxRelogin logins it gets an error.
func throttle(login func(context.Context) (target.Credentials, error),
	first target.Credentials) func(context.Context) (target.Credentials, error) {
	var mu sync.Mutex
	last, lastCreds, count := time.Now(), first, 0
	return func(ctx context.Context) (target.Credentials, error) {
		mu.Lock()
		defer mu.Unlock()
		if time.Since(last) < reloginGap {
			return lastCreds, nil
		}
		if count >= maxRelogin {
			return target.Credentials{}, fmt.Errorf("gave up logging in again after %d re-logins", maxRelogin)
		}
		count++
		c, err := login(ctx)
		if err != nil {
			return c, err
		}
		last, lastCreds = time.Now(), c
		return c, nil
	}
}

// do sends the login and extracts the credential. Errors never quote the body, which may
// echo the password.
func (l Login) do(ctx context.Context, c *httpx.Client, t *target.Target) (target.Credentials, error) {
	var creds target.Credentials
	var raw []byte
	h := http.Header{"Accept": {"application/json"}}
	if l.Form {
		form := url.Values{}
		for k, v := range l.Body {
			form.Set(k, fmt.Sprint(v))
		}
		raw = []byte(form.Encode())
		h.Set("Content-Type", "application/x-www-form-urlencoded")
	} else if l.Body != nil {
		var err error
		if raw, err = json.Marshal(l.Body); err != nil {
			return creds, fmt.Errorf("encode login body: %w", err)
		}
		h.Set("Content-Type", "application/json")
	}
	ex, err := c.Do(ctx, httpx.Request{Method: l.Method, URL: t.URL(l.Path), Header: h, Body: raw})
	if err != nil {
		return creds, fmt.Errorf("login %s %s: %w", l.Method, l.Path, err)
	}
	if ex.Status == http.StatusTooManyRequests {
		// Not the credentials: the API refuses logins for now (a rate limit, or an account
		// lockout after an earlier scan's failed attempts).
		msg := fmt.Sprintf("login %s %s answered 429: the API throttled the login or locked "+
			"the account", l.Method, l.Path)
		if ra := ex.Header.Get("Retry-After"); ra != "" {
			msg += fmt.Sprintf(" (Retry-After: %.40s)", ra)
		}
		return creds, errors.New(msg + "; wait and scan again")
	}
	if ex.Status < 200 || ex.Status > 399 {
		return creds, fmt.Errorf("login %s %s answered %d (check the credentials and the path)",
			l.Method, l.Path, ex.Status)
	}

	token, err := l.extractToken(ex)
	if err != nil {
		return creds, err
	}
	if token != "" {
		header := cmpOr(l.AuthHeader, "Authorization")
		scheme := l.Scheme
		if scheme == "" && strings.EqualFold(header, "Authorization") {
			scheme = "Bearer"
		}
		v := token
		if scheme != "" {
			v = scheme + " " + token
		}
		creds.Headers = http.Header{}
		creds.Headers.Set(header, v)
		creds.Token = token
		return creds, nil
	}

	cookies := (&http.Response{Header: ex.Header}).Cookies()
	for _, ck := range cookies {
		if l.Cookie != "" && ck.Name != l.Cookie {
			continue
		}
		creds.Cookies = append(creds.Cookies, &http.Cookie{Name: ck.Name, Value: ck.Value})
		creds.Secrets = append(creds.Secrets, ck.Value)
	}
	if len(creds.Cookies) > 0 {
		return creds, nil
	}
	if l.Cookie != "" {
		return creds, fmt.Errorf("login %s %s set no %q cookie", l.Method, l.Path, l.Cookie)
	}
	return creds, fmt.Errorf("login %s %s answered %d with no token and no cookie "+
		"(name where the token is with token: $.path or token-header)", l.Method, l.Path, ex.Status)
}

func (l Login) extractToken(ex *httpx.Exchange) (string, error) {
	if l.TokenHeader != "" {
		v := strings.TrimSpace(ex.Header.Get(l.TokenHeader))
		if v == "" {
			return "", fmt.Errorf("login %s %s: no %s header in the answer", l.Method, l.Path, l.TokenHeader)
		}
		if f := strings.Fields(v); len(f) == 2 && strings.EqualFold(f[0], "bearer") {
			v = f[1]
		}
		return v, nil
	}
	if l.Cookie != "" {
		return "", nil
	}
	var body any
	if err := json.Unmarshal(ex.Body, &body); err != nil {
		if l.Token != "" {
			return "", fmt.Errorf("login %s %s: the answer is not JSON, so %s cannot be read",
				l.Method, l.Path, l.Token)
		}
		return "", nil // perhaps a cookie session
	}
	if l.Token != "" {
		v, err := JSONPath(body, l.Token)
		if err != nil {
			return "", fmt.Errorf("login %s %s: %w", l.Method, l.Path, err)
		}
		s, ok := v.(string)
		if !ok || s == "" {
			return "", fmt.Errorf("login %s %s: %s is not a non-empty string", l.Method, l.Path, l.Token)
		}
		return s, nil
	}
	for _, p := range tokenFields {
		if v, err := JSONPath(body, p); err == nil {
			if s, ok := v.(string); ok && s != "" {
				return s, nil
			}
		}
	}
	return "", nil
}

// loginFromOperation builds a login from the API document's login operation.
func loginFromOperation(op *target.Operation, username, password string) (Login, error) {
	if op == nil {
		return Login{}, errors.New("username and password need a login operation: the API " +
			"document declares none, so give a login block (method, path, body)")
	}
	uf, pf := openapi.CredentialFields(op)
	if uf == "" {
		uf = "username"
	}
	body := map[string]any{uf: username, pf: password}
	if op.RequestBody != nil {
		for _, name := range op.RequestBody.Required {
			if _, set := body[name]; !set {
				if v, ok := fixedValue(op.RequestBody.Properties[name]); ok {
					body[name] = v
				}
			}
		}
	}
	return Login{
		Method: op.Method, Path: op.Path,
		Body:          body,
		Form:          strings.Contains(op.RequestContentType, "form"),
		UsernameField: uf, PasswordField: pf,
	}, nil
}

// fixedValue picks a value for a required login field the user does not give, such as an
// OAuth grant_type: "password" when the enum offers it, else the first enum value, the
// default or the example.
func fixedValue(s *target.Schema) (any, bool) {
	if s == nil {
		return nil, false
	}
	for _, e := range s.Enum {
		if e == "password" {
			return e, true
		}
	}
	if len(s.Enum) > 0 {
		return s.Enum[0], true
	}
	if s.Example != nil {
		return s.Example, true
	}
	return nil, false
}

// guessFields names the username and password fields of a login body.
func guessFields(body map[string]any) (user, pass string) {
	keys := make([]string, 0, len(body))
	for k := range body {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	op := &target.Operation{RequestBody: &target.Schema{Properties: map[string]*target.Schema{}}}
	for _, k := range keys {
		op.RequestBody.Properties[k] = &target.Schema{}
	}
	return openapi.CredentialFields(op)
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func urlEscape(s string) string { return url.QueryEscape(s) }
