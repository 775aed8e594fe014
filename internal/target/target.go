// Package target describes what a scan is aimed at: the base URL, the operations the API
// offers (from OpenAPI, config or discovery), the identities the scanner may act as, and where
// the service's logs can be read. Probes read it; the loaders in config, openapi and compose
// fill it in.
package target

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/apigate/apigate/internal/finding"
)

// Target is everything a probe may know about the API under test.
type Target struct {
	// Base is the URL the API answers on, without a trailing slash in its path
	// (e.g. http://127.0.0.1:8080 or http://api:8080/prefix).
	Base *url.URL
	// Operations the API offers. May be empty when nothing could be discovered.
	Operations []*Operation
	// Identities the scanner can act as; probes needing two users look at the first two.
	Identities []*Identity
	// Public lists path patterns the user declared as public (no authentication expected),
	// in the same template syntax as Operation.Path; a trailing /* matches any suffix.
	Public []string
	// Logs reads the service's logs; nil when they cannot be read (a plain --url scan).
	Logs LogSource
	// TLS is the HTTPS view of the target, when it has one.
	TLS *TLSInfo
	// Limits lists what discovery could not provide, for the report's notes
	// (e.g. "no OpenAPI document: endpoints discovered from responses").
	Limits []string
	// Options carries the tunable parts of probing.
	Options Options
}

// TLSInfo describes the HTTPS side of a target whose Base is plain HTTP, or the other way
// round, so the transport probe can compare both.
type TLSInfo struct {
	// HTTPSBase is the https:// base URL, if the target serves TLS.
	HTTPSBase *url.URL
	// HTTPBase is the plain http:// base URL, if known, to test redirects.
	HTTPBase *url.URL
	// RootCAs, when non-empty, are PEM certificates the user trusts for this target
	// (a private CA in a test environment).
	RootCAs []byte
}

// Options are the knobs probes honour. The zero value means "use the defaults".
type Options struct {
	// Burst is how many requests the rate-limit probe sends; 0 means its default.
	Burst int
	// LoginAttempts is how many failed logins the brute-force check sends; 0 means default.
	LoginAttempts int
	// TLSTerminatedUpstream says plain HTTP is expected here because TLS ends at a proxy in
	// front of the service; the transport check then reports not-tested instead of a finding.
	TLSTerminatedUpstream bool
}

// URL joins the base URL and an API path (which may carry a query string).
func (t *Target) URL(path string) string {
	return JoinURL(t.Base, path)
}

// JoinURL appends path (with optional query) to base.
func JoinURL(base *url.URL, path string) string {
	b := strings.TrimSuffix(base.String(), "/")
	if path == "" {
		return b + "/"
	}
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	return b + path
}

// IsPublic reports whether the user declared path public, or the operation's spec
// declares it needs no security.
func (t *Target) IsPublic(op *Operation) bool {
	if op.Security == SecurityNone {
		return true
	}
	return MatchAny(t.Public, op.Path)
}

// MatchAny reports whether path matches one of patterns. A pattern matches a path with the
// same segments, where a {param} segment matches any one segment and a trailing "/*" or "*"
// matches any suffix.
func MatchAny(patterns []string, path string) bool {
	for _, p := range patterns {
		if MatchPath(p, path) {
			return true
		}
	}
	return false
}

// MatchPath matches one pattern; see MatchAny.
func MatchPath(pattern, path string) bool {
	path, _, _ = strings.Cut(path, "?")
	if strings.HasSuffix(pattern, "*") {
		prefix := strings.TrimSuffix(strings.TrimSuffix(pattern, "*"), "/")
		pp := splitPath(prefix)
		ps := splitPath(path)
		if len(ps) < len(pp) {
			return false
		}
		return segmentsMatch(pp, ps[:len(pp)])
	}
	pp, ps := splitPath(pattern), splitPath(path)
	return len(pp) == len(ps) && segmentsMatch(pp, ps)
}

func splitPath(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

func segmentsMatch(pattern, path []string) bool {
	for i := range pattern {
		if IsParam(pattern[i]) || IsParam(path[i]) {
			continue
		}
		if pattern[i] != path[i] {
			return false
		}
	}
	return true
}

// IsParam reports whether a path segment is a template parameter in any of the common
// syntaxes: {id}, :id or <id>.
func IsParam(seg string) bool {
	return (strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}")) ||
		(strings.HasPrefix(seg, "<") && strings.HasSuffix(seg, ">")) ||
		(strings.HasPrefix(seg, ":") && len(seg) > 1)
}

// Security says whether an operation requires authentication.
type Security int

// SecurityUnknown is the zero value: nothing declares it either way.
const (
	SecurityUnknown Security = iota
	// SecurityRequired: the spec or config says the operation needs credentials.
	SecurityRequired
	// SecurityNone: the spec declares it public (security: []).
	SecurityNone
)

// Kinds of declared credentials, by what a browser does with them on a cross-origin request.
const (
	// AuthBearer: a token or key in a header or the query, which a browser never attaches
	// by itself.
	AuthBearer = "bearer"
	// AuthCookie: a cookie, which the browser attaches to credentialed requests.
	AuthCookie = "cookie"
	// AuthBasic: HTTP Basic or Digest, whose cached credentials the browser attaches too.
	AuthBasic = "basic"
)

// Operation is one method on one path template.
type Operation struct {
	Method string
	// Path is the template relative to Target.Base, with {name} parameters,
	// e.g. /api/v2/orders/{id}.
	Path        string
	OperationID string
	Summary     string
	Security    Security
	// AuthSchemes lists how the credentials the document declares for the operation travel
	// (AuthBearer, AuthCookie, AuthBasic), sorted; empty when nothing declares it.
	AuthSchemes []string
	Deprecated  bool
	Params      []Param
	// RequestBody is the JSON schema of the request body, nil when there is none.
	RequestBody *Schema
	// RequestContentType is the media type the body is sent as (default application/json).
	RequestContentType string
	// Response is the schema of the first 2xx JSON response, nil when undocumented.
	Response *Schema
	// Source is where the operation is defined, for code scanning locations.
	Source *finding.Location
}

// Param is a path, query or header parameter.
type Param struct {
	Name     string
	In       string // path, query, header, cookie
	Required bool
	Schema   *Schema
}

// Schema is the subset of JSON Schema the probes use to build valid and invalid values.
type Schema struct {
	Type       string // object, array, string, integer, number, boolean; "" when unknown
	Format     string
	Properties map[string]*Schema
	Required   []string
	Items      *Schema
	Enum       []any
	Minimum    *float64
	Maximum    *float64
	MinLength  *int
	MaxLength  *int
	Pattern    string
	ReadOnly   bool
	WriteOnly  bool
	Nullable   bool
	// AdditionalProperties is false when the schema forbids unknown fields.
	AdditionalProperties *bool
	Example              any
}

// Identity is a user the scanner can act as. It is safe for concurrent use.
type Identity struct {
	// Name is how the user refers to it in config and reports ("alice").
	Name string

	mu sync.RWMutex
	// headers and cookies are applied to every request made as this identity.
	headers http.Header
	cookies []*http.Cookie
	// token is the raw bearer token, when the identity has one (JWT probes use it).
	token string
	// refresh logs in again; nil when the identity is static.
	refresh func(ctx context.Context) (Credentials, error)

	// Login describes how this identity logs in, when it does; probes use it to send
	// failed logins (rate limiting, logging) without knowing the config format.
	Login *LoginInfo
	// Secrets are values that must never appear in any output (passwords, tokens).
	Secrets []string
}

// Credentials is what a login produced.
type Credentials struct {
	Headers http.Header
	Cookies []*http.Cookie
	Token   string
	Secrets []string
}

// LoginInfo says how to log in as an identity, so probes can send wrong passwords.
type LoginInfo struct {
	Method string
	Path   string
	// Body is the JSON login body with the real password in place.
	Body map[string]any
	// PasswordField and UsernameField name the fields of Body that hold them.
	PasswordField string
	UsernameField string
}

// NewIdentity returns an identity with the given credentials and an optional refresh
// function called when a probe sees the credentials rejected mid-scan.
func NewIdentity(name string, c Credentials, refresh func(context.Context) (Credentials, error)) *Identity {
	id := &Identity{Name: name, refresh: refresh}
	id.set(c)
	return id
}

func (id *Identity) set(c Credentials) {
	id.mu.Lock()
	defer id.mu.Unlock()
	id.headers = c.Headers.Clone()
	id.cookies = c.Cookies
	id.token = c.Token
	id.Secrets = append(id.Secrets, c.Secrets...)
	if c.Token != "" {
		id.Secrets = append(id.Secrets, c.Token)
	}
}

// Apply adds the identity's credentials to req.
func (id *Identity) Apply(req *http.Request) {
	id.mu.RLock()
	defer id.mu.RUnlock()
	for k, vs := range id.headers {
		req.Header.Del(k)
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	for _, c := range id.cookies {
		req.AddCookie(c)
	}
}

// Token returns the raw bearer token, "" when the identity has none.
func (id *Identity) Token() string {
	id.mu.RLock()
	defer id.mu.RUnlock()
	return id.token
}

// HeaderNames lists the headers the identity sets, so probes can strip them.
func (id *Identity) HeaderNames() []string {
	id.mu.RLock()
	defer id.mu.RUnlock()
	var out []string
	for k := range id.headers {
		out = append(out, k)
	}
	return out
}

// Refresh logs in again, when the identity knows how. It reports whether new credentials
// were obtained.
func (id *Identity) Refresh(ctx context.Context) (bool, error) {
	if id.refresh == nil {
		return false, nil
	}
	c, err := id.refresh(ctx)
	if err != nil {
		return false, err
	}
	id.set(c)
	return true, nil
}

// AllSecrets returns every secret value of every identity, for redaction.
func (t *Target) AllSecrets() []string {
	var out []string
	for _, id := range t.Identities {
		id.mu.RLock()
		out = append(out, id.Secrets...)
		id.mu.RUnlock()
	}
	return out
}

// LogSource reads the logs the service wrote since a moment.
type LogSource interface {
	Logs(ctx context.Context, since time.Time) ([]LogLine, error)
}

// LogLine is one line the service wrote to stdout or stderr.
type LogLine struct {
	Time    time.Time
	Service string
	Text    string
}
