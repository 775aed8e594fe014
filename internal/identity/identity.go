// Package identity turns the identities a user configures (static tokens, headers, cookies,
// basic auth, a login flow or a signup flow) into target identities the probes act as. Every
// request goes through the scan's httpx client, and every secret an identity holds is listed
// in its Secrets so the reports can redact it.
package identity

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"

	"github.com/apigate/apigate/internal/httpx"
	"github.com/apigate/apigate/internal/target"
)

// Spec describes one identity. Exactly one way of authenticating is set.
type Spec struct {
	Name string
	// Token is a bearer token sent as "Authorization: Bearer <token>".
	Token string
	// Header is any header that carries the credential (an API key).
	Header *Header
	// Cookie is a session cookie.
	Cookie *Cookie
	// Basic is HTTP basic authentication.
	Basic *Basic
	// Login logs in with a request and takes the token or session cookie from the answer.
	Login *Login
	// Signup registers a fresh user with random credentials, then logs in as it.
	Signup *Signup
	// Credentials are a username and password for the login operation the API document
	// declares; the login request is built from that operation.
	Credentials *Basic
}

// Header is a named header and its value.
type Header struct{ Name, Value string }

// Cookie is a named cookie and its value.
type Cookie struct{ Name, Value string }

// Basic is a username and password.
type Basic struct{ Username, Password string }

// Options are what the builder needs beyond the specs.
type Options struct {
	// Client sends logins and signups; required when a spec logs in.
	Client *httpx.Client
	// Target supplies the base URL.
	Target *target.Target
	// LoginOperation and SignupOperation are the API document's, used by specs that give
	// only credentials or an empty signup block; nil when the document declares none.
	LoginOperation  *target.Operation
	SignupOperation *target.Operation
}

// Build makes an identity of each spec, logging in where needed. The first failure stops it:
// probes that need two users cannot work with one that silently failed to log in.
func Build(ctx context.Context, specs []Spec, o Options) ([]*target.Identity, error) {
	var out []*target.Identity
	for _, s := range specs {
		id, err := build(ctx, s, o)
		if err != nil {
			return nil, fmt.Errorf("identity %q: %w", s.Name, err)
		}
		out = append(out, id)
	}
	return out, nil
}

func build(ctx context.Context, s Spec, o Options) (*target.Identity, error) {
	switch {
	case s.Token != "":
		h := http.Header{"Authorization": {"Bearer " + s.Token}}
		return target.NewIdentity(s.Name, target.Credentials{Headers: h, Token: s.Token}, nil), nil
	case s.Header != nil:
		if s.Header.Name == "" {
			return nil, errors.New("header needs a name")
		}
		h := http.Header{}
		h.Set(s.Header.Name, s.Header.Value)
		c := target.Credentials{Headers: h, Secrets: []string{s.Header.Value}}
		return target.NewIdentity(s.Name, c, nil), nil
	case s.Cookie != nil:
		if s.Cookie.Name == "" {
			return nil, errors.New("cookie needs a name")
		}
		c := target.Credentials{
			Cookies: []*http.Cookie{{Name: s.Cookie.Name, Value: s.Cookie.Value}},
			Secrets: []string{s.Cookie.Value},
		}
		return target.NewIdentity(s.Name, c, nil), nil
	case s.Basic != nil:
		raw := s.Basic.Username + ":" + s.Basic.Password
		enc := base64.StdEncoding.EncodeToString([]byte(raw))
		c := target.Credentials{
			Headers: http.Header{"Authorization": {"Basic " + enc}},
			Secrets: []string{s.Basic.Password, enc},
		}
		return target.NewIdentity(s.Name, c, nil), nil
	case s.Login != nil:
		return loginIdentity(ctx, s.Name, *s.Login, o)
	case s.Credentials != nil:
		l, err := loginFromOperation(o.LoginOperation, s.Credentials.Username, s.Credentials.Password)
		if err != nil {
			return nil, err
		}
		return loginIdentity(ctx, s.Name, l, o)
	case s.Signup != nil:
		return signupIdentity(ctx, s.Name, *s.Signup, o)
	}
	return nil, errors.New("no credentials: give token, header, cookie, basic, login or signup")
}
