// Package config reads .apigate.yml: a short, strict description of what to scan, who to
// scan as, and which findings the project has accepted. Every key is typed; an unknown key, a
// value of the wrong type or a missing environment variable is an error naming
// file:line:column, so a typo never silently turns a check off. The zero value of every
// field means "use the default".
package config

import (
	"time"
)

// DefaultFile is the config file looked for in the repository root.
const DefaultFile = ".apigate.yml"

// Config is the whole file.
type Config struct {
	// File is where the config was read from ("" for none).
	File string `yaml:"-"`

	Target Target `yaml:"target"`
	// Public lists path patterns that need no authentication (/health, /docs/*).
	Public []string `yaml:"public"`
	// Identities are the users to scan as, in the order written; probes that need two
	// users take the first two.
	Identities []Identity `yaml:"identities"`
	// Endpoints are operations to probe when there is no OpenAPI document, written as
	// "METHOD /path/{param}".
	Endpoints []Endpoint `yaml:"endpoints"`
	// FailOn is the lowest severity that fails the run: critical, high, medium, low, info
	// or none. Empty means the --fail-on default.
	FailOn string `yaml:"fail-on"`
	// Suppress lists accepted findings.
	Suppress []Suppression `yaml:"suppress"`
	// Baseline is a file of findings recorded by 'apigate baseline'; only findings not in
	// it count towards the exit code.
	Baseline string `yaml:"baseline"`
	Probes   Probes `yaml:"probes"`
	// AllowHosts names non-loopback hosts the user owns and allows scanning.
	AllowHosts []string `yaml:"allow-hosts"`
}

// Target says what to scan.
type Target struct {
	// URL of an API already running; exclusive with Compose.
	URL string `yaml:"url"`
	// Compose is the compose file that boots the API.
	Compose string `yaml:"compose"`
	// Service is the compose service to scan; default the only one publishing a port.
	Service string `yaml:"service"`
	// Port is the service's container port; default its only published one.
	Port int `yaml:"port"`
	// OpenAPI is a file in the repository, or a path the API serves (/openapi.json).
	OpenAPI string `yaml:"openapi"`
	// BasePath overrides the document's server path prefix ("/" for none).
	BasePath string `yaml:"base-path"`
}

// Identity is one user. Exactly one of Token, Header, Cookie, Basic, Login, Signup or
// Username+Password is set.
type Identity struct {
	Name   string    `yaml:"-"`
	Pos    Position  `yaml:"-"`
	Token  string    `yaml:"token"`
	Header *NamedVal `yaml:"header"`
	Cookie *NamedVal `yaml:"cookie"`
	Basic  *UserPass `yaml:"basic"`
	Login  *Login    `yaml:"login"`
	Signup *Signup   `yaml:"signup"`
	// Username and Password log in through the login operation of the OpenAPI document.
	Username string `yaml:"username"`
	Password string `yaml:"password"`
}

// NamedVal is a header or cookie name and its value.
type NamedVal struct {
	Name  string `yaml:"name"`
	Value string `yaml:"value"`
}

// UserPass is a username and password.
type UserPass struct {
	Username string `yaml:"username"`
	Password string `yaml:"password"`
}

// Login is a login request and where its answer carries the credential.
type Login struct {
	Method string         `yaml:"method"`
	Path   string         `yaml:"path"`
	Body   map[string]any `yaml:"body"`
	// Form sends the body as application/x-www-form-urlencoded instead of JSON.
	Form bool `yaml:"form"`
	// Token is a JSON path to the token in the answer ($.access_token).
	Token string `yaml:"token"`
	// TokenHeader is a response header carrying the token.
	TokenHeader string `yaml:"token-header"`
	// Cookie names the session cookie the answer sets.
	Cookie string `yaml:"cookie"`
	// Header is the request header the token is sent in (default Authorization), with
	// Scheme before it (default Bearer for Authorization).
	Header        string `yaml:"header"`
	Scheme        string `yaml:"scheme"`
	UsernameField string `yaml:"username-field"`
	PasswordField string `yaml:"password-field"`
}

// Signup registers a fresh user with random credentials, then logs in as it.
type Signup struct {
	Method string         `yaml:"method"`
	Path   string         `yaml:"path"`
	Body   map[string]any `yaml:"body"`
	Form   bool           `yaml:"form"`
	Login  *Login         `yaml:"login"`
}

// Endpoint is one operation given by hand: "GET /api/orders/{id}".
type Endpoint struct {
	Method string
	Path   string
	Pos    Position
}

// Suppression accepts the findings of one rule on matching paths.
type Suppression struct {
	Pos Position `yaml:"-"`
	// Rule is a rule ID (see 'apigate rules').
	Rule string `yaml:"rule"`
	// Path is a path pattern; empty means every path.
	Path string `yaml:"path"`
	// Reason is required: a suppression nobody can explain is a finding nobody fixed.
	Reason string `yaml:"reason"`
	// Until is the last day the suppression applies; zero means no expiry.
	Until Date `yaml:"until"`
}

// Upper bounds of the probe counts. Each request is real traffic against the user's API and
// costs budget and time: a burst of a hundred million would spin the scanner for the whole
// run, and no rate limiter needs more than this to show itself.
const (
	MaxBurst         = 1000
	MaxLoginAttempts = 100
)

// maxInt caps integer settings by their place in the file (see docs/apigate.schema.json).
var maxInt = map[string]int{"probes.burst": MaxBurst, "probes.login-attempts": MaxLoginAttempts}

// Probes tunes probing.
type Probes struct {
	Burst                 int  `yaml:"burst"`
	LoginAttempts         int  `yaml:"login-attempts"`
	TLSTerminatedUpstream bool `yaml:"tls-terminated-upstream"`
}

// Date is a calendar day (YYYY-MM-DD).
type Date struct{ time.Time }

// Position is a place in the config file.
type Position struct {
	File   string
	Line   int
	Column int
}

func (p Position) String() string {
	if p.Line == 0 {
		return p.File
	}
	return p.File + ":" + itoa(p.Line) + ":" + itoa(p.Column)
}
