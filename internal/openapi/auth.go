package openapi

import (
	"strings"

	"github.com/apigate/apigate/internal/target"
)

// Login and signup operations are recognised by the last segments of their path, so that a
// project whose document declares them needs to configure only its users' credentials.
var (
	loginSuffixes = []string{
		"/login", "/signin", "/sign-in", "/auth/token", "/token", "/oauth/token", "/session",
		"/sessions", "/auth", "/authenticate", "/auth/login", "/users/login", "/jwt/create",
	}
	signupSuffixes = []string{
		"/signup", "/sign-up", "/register", "/registration", "/users", "/accounts",
		"/auth/register", "/auth/signup", "/users/register",
	}
)

// LoginOperation returns the document's login operation: a POST to a login-like path whose
// body has a password field. It returns nil when there is none.
func (d *Document) LoginOperation() *target.Operation {
	return d.find(loginSuffixes)
}

// SignupOperation returns the document's registration operation, like LoginOperation.
func (d *Document) SignupOperation() *target.Operation {
	return d.find(signupSuffixes)
}

func (d *Document) find(suffixes []string) *target.Operation {
	for _, suffix := range suffixes { // earlier suffixes are the more telling ones
		for _, op := range d.Operations {
			if op.Method != "POST" || !strings.HasSuffix(strings.ToLower(op.Path), suffix) {
				continue
			}
			if _, pass := CredentialFields(op); pass != "" {
				return op
			}
		}
	}
	return nil
}

// CredentialFields names the username and password fields of an operation's request body;
// either is "" when the body has none.
func CredentialFields(op *target.Operation) (username, password string) {
	if op == nil || op.RequestBody == nil {
		return "", ""
	}
	props := op.RequestBody.Properties
	for _, name := range []string{"password", "pass", "passwd", "pwd", "secret"} {
		for k := range props {
			if strings.EqualFold(k, name) {
				password = k
			}
		}
		if password != "" {
			break
		}
	}
	for _, name := range []string{"username", "user", "login", "email", "name", "user_name",
		"userName", "identifier"} {
		for k := range props {
			if strings.EqualFold(k, name) {
				username = k
			}
		}
		if username != "" {
			break
		}
	}
	return username, password
}
