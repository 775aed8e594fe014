package config

import (
	"github.com/apigate/apigate/internal/identity"
)

// IdentitySpecs turns the configured identities into what the identity package builds.
func (c *Config) IdentitySpecs() []identity.Spec {
	var out []identity.Spec
	for _, id := range c.Identities {
		s := identity.Spec{Name: id.Name, Token: id.Token}
		if id.Header != nil {
			s.Header = &identity.Header{Name: id.Header.Name, Value: id.Header.Value}
		}
		if id.Cookie != nil {
			s.Cookie = &identity.Cookie{Name: id.Cookie.Name, Value: id.Cookie.Value}
		}
		if id.Basic != nil {
			s.Basic = &identity.Basic{Username: id.Basic.Username, Password: id.Basic.Password}
		}
		if id.Username != "" {
			s.Credentials = &identity.Basic{Username: id.Username, Password: id.Password}
		}
		if id.Login != nil {
			l := loginSpec(*id.Login)
			s.Login = &l
		}
		if id.Signup != nil {
			s.Signup = &identity.Signup{Method: id.Signup.Method, Path: id.Signup.Path,
				Body: id.Signup.Body, Form: id.Signup.Form}
			if id.Signup.Login != nil {
				l := loginSpec(*id.Signup.Login)
				s.Signup.Login = &l
			}
		}
		out = append(out, s)
	}
	return out
}

func loginSpec(l Login) identity.Login {
	return identity.Login{
		Method: l.Method, Path: l.Path, Body: l.Body, Form: l.Form, Token: l.Token,
		TokenHeader: l.TokenHeader, Cookie: l.Cookie, AuthHeader: l.Header, Scheme: l.Scheme,
		UsernameField: l.UsernameField, PasswordField: l.PasswordField,
	}
}

// Secrets lists every secret value the config holds (tokens, passwords, header and cookie
// values), so they can be redacted before any identity logs in.
func (c *Config) Secrets() []string {
	var out []string
	add := func(s string) {
		if s != "" {
			out = append(out, s)
		}
	}
	for _, id := range c.Identities {
		add(id.Token)
		add(id.Password)
		if id.Header != nil {
			add(id.Header.Value)
		}
		if id.Cookie != nil {
			add(id.Cookie.Value)
		}
		if id.Basic != nil {
			add(id.Basic.Password)
		}
		for _, l := range []*Login{id.Login, signupLogin(id.Signup)} {
			if l == nil {
				continue
			}
			for k, v := range l.Body {
				if s, ok := v.(string); ok && isSecretField(k) {
					add(s)
				}
			}
		}
	}
	return out
}

func signupLogin(s *Signup) *Login {
	if s == nil {
		return nil
	}
	return s.Login
}

func isSecretField(name string) bool {
	switch name {
	case "password", "pass", "passwd", "pwd", "secret", "client_secret", "api_key", "apiKey", "token":
		return true
	}
	return false
}
