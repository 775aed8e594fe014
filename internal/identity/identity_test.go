package identity

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apigate/apigate/internal/httpx"
	"github.com/apigate/apigate/internal/target"
	"github.com/apigate/apigate/probes"
)

// fakeAPI is a small auth server: users sign up and log in; tokens can be revoked to
// simulate expiry mid-scan.
type fakeAPI struct {
	mu       sync.Mutex
	users    map[string]string // username -> password
	tokens   map[string]string // token -> username
	logins   int
	sessions bool // answer logins with a cookie instead of a token
}

func newFakeAPI() *fakeAPI {
	return &fakeAPI{users: map[string]string{"alice": "s3cret-alice"}, tokens: map[string]string{}}
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var body map[string]string
	_ = json.NewDecoder(r.Body).Decode(&body)
	switch r.URL.Path {
	case "/api/locked":
		w.Header().Set("Retry-After", "900")
		w.WriteHeader(http.StatusTooManyRequests)
		return
	case "/api/register":
		if body["username"] == "" || body["password"] == "" || !strings.Contains(body["email"], "@") {
			http.Error(w, "bad", 400)
			return
		}
		if _, taken := f.users[body["username"]]; taken {
			http.Error(w, "taken", 409)
			return
		}
		f.users[body["username"]] = body["password"]
		w.WriteHeader(201)
	case "/api/login":
		if pw, ok := f.users[body["username"]]; !ok || pw != body["password"] {
			http.Error(w, `{"error":"bad credentials"}`, 401)
			return
		}
		f.logins++
		tok := fmt.Sprintf("tok-%s-%d", body["username"], f.logins)
		f.tokens[tok] = body["username"]
		if f.sessions {
			http.SetCookie(w, &http.Cookie{Name: "sid", Value: tok, HttpOnly: true})
			http.SetCookie(w, &http.Cookie{Name: "theme", Value: "dark"})
			w.WriteHeader(204)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"data":{"access_token":%q,"expires_in":60}}`, tok)
	case "/api/me":
		tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		if c, err := r.Cookie("sid"); err == nil {
			tok = c.Value
		}
		u, ok := f.tokens[tok]
		if !ok {
			w.WriteHeader(401)
			return
		}
		fmt.Fprintf(w, `{"username":%q}`, u)
	default:
		http.NotFound(w, r)
	}
}

// expireAll revokes every token, as a server does when they time out.
func (f *fakeAPI) expireAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tokens = map[string]string{}
}

func setup(t *testing.T, api *fakeAPI) Options {
	t.Helper()
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	base, _ := url.Parse(srv.URL)
	c, err := httpx.New(httpx.Config{AllowedHosts: []string{base.Host}})
	if err != nil {
		t.Fatal(err)
	}
	return Options{Client: c, Target: &target.Target{Base: base}}
}

func me(t *testing.T, o Options, id *target.Identity) (int, string) {
	t.Helper()
	s := &probes.Session{Target: o.Target, Client: o.Client}
	ex, err := s.Send(context.Background(), id, "GET", "/api/me", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return ex.Status, string(ex.Body)
}

func TestLoginFlowAndRefreshAfter401(t *testing.T) {
	api := newFakeAPI()
	o := setup(t, api)
	spec := Spec{Name: "alice", Login: &Login{
		Path:  "/api/login",
		Body:  map[string]any{"username": "alice", "password": "s3cret-alice"},
		Token: "$.data.access_token",
	}}
	ids, err := Build(context.Background(), []Spec{spec}, o)
	if err != nil {
		t.Fatal(err)
	}
	id := ids[0]
	if id.Token() != "tok-alice-1" {
		t.Fatalf("token %q", id.Token())
	}
	if id.Login == nil || id.Login.PasswordField != "password" || id.Login.UsernameField != "username" ||
		id.Login.Method != "POST" || id.Login.Path != "/api/login" {
		t.Errorf("login info %+v", id.Login)
	}
	if !slices.Contains(id.Secrets, "s3cret-alice") || !slices.Contains(id.Secrets, "tok-alice-1") {
		t.Errorf("secrets miss the password or token")
	}
	if st, body := me(t, o, id); st != 200 || !strings.Contains(body, "alice") {
		t.Fatalf("me: %d %s", st, body)
	}

	time.Sleep(reloginGap) // a re-login right after the first login is served from memory
	api.expireAll()
	st, _ := me(t, o, id)
	if st != 200 || id.Token() != "tok-alice-2" {
		t.Fatalf("after expiry: status %d token %q; want a re-login", st, id.Token())
	}
	if !slices.Contains(id.Secrets, "tok-alice-2") {
		t.Errorf("the refreshed token is not a secret")
	}

	// Concurrent 401s right after a re-login cause no login storm.
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id.Refresh(context.Background())
		}()
	}
	wg.Wait()
	if api.logins != 2 {
		t.Errorf("%d logins after 20 concurrent refreshes, want none beyond the 2 so far", api.logins)
	}
}

func TestLoginAutoTokenAndCookieSession(t *testing.T) {
	api := newFakeAPI()
	o := setup(t, api)
	body := map[string]any{"username": "alice", "password": "s3cret-alice"}
	ids, err := Build(context.Background(), []Spec{{Name: "a", Login: &Login{Path: "/api/login", Body: body}}}, o)
	if err != nil || ids[0].Token() != "tok-alice-1" {
		t.Fatalf("auto token: %v", err)
	}

	api.sessions = true
	ids, err = Build(context.Background(), []Spec{{Name: "a", Login: &Login{Path: "/api/login", Body: body, Cookie: "sid"}}}, o)
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := me(t, o, ids[0]); st != 200 {
		t.Fatalf("cookie session rejected: %d", st)
	}
	if !slices.Contains(ids[0].Secrets, "tok-alice-2") || slices.Contains(ids[0].Secrets, "dark") {
		t.Errorf("secrets %d; want the sid cookie only", len(ids[0].Secrets))
	}
}

func TestLoginErrorsKeepSecretsOut(t *testing.T) {
	api := newFakeAPI()
	o := setup(t, api)
	cases := []struct {
		login Login
		want  string
	}{
		{Login{Path: "/api/login", Body: map[string]any{"username": "alice", "password": "wrong-pw"}},
			`identity "x": login POST /api/login answered 401 (check the credentials and the path)`},
		{Login{Path: "/api/login", Body: map[string]any{"username": "alice", "password": "s3cret-alice"},
			Token: "$.token"}, `identity "x": login POST /api/login: $.token: no field "token" in the answer`},
		{Login{Path: "/api/login", Body: map[string]any{"username": "alice", "password": "s3cret-alice"},
			TokenHeader: "X-Token"}, `identity "x": login POST /api/login: no X-Token header in the answer`},
		{Login{Path: "/nope"}, `identity "x": login POST /nope answered 404`},
		{Login{Path: "/api/locked", Body: map[string]any{"username": "alice", "password": "s3cret-alice"}},
			`identity "x": login POST /api/locked answered 429: the API throttled the login or ` +
				`locked the account (Retry-After: 900)`},
	}
	for _, c := range cases {
		l := c.login
		_, err := Build(context.Background(), []Spec{{Name: "x", Login: &l}}, o)
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("got %v, want %q", err, c.want)
			continue
		}
		if strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), "wrong-pw") {
			t.Errorf("error leaks a password: %v", err)
		}
	}
}

func TestSignupTwoFreshUsers(t *testing.T) {
	api := newFakeAPI()
	o := setup(t, api)
	signup := &Signup{Path: "/api/register", Login: &Login{Path: "/api/login"}}
	ids, err := Build(context.Background(), []Spec{{Name: "a", Signup: signup}, {Name: "b", Signup: signup}}, o)
	if err != nil {
		t.Fatal(err)
	}
	if len(api.users) != 3 {
		t.Fatalf("users %d, want alice plus two new", len(api.users))
	}
	_, bodyA := me(t, o, ids[0])
	_, bodyB := me(t, o, ids[1])
	if !strings.Contains(bodyA, "apigate_") || bodyA == bodyB {
		t.Errorf("identities are not two fresh users: %s / %s", bodyA, bodyB)
	}
	pw, _ := ids[0].Login.Body["password"].(string)
	if pw == "" || !slices.Contains(ids[0].Secrets, pw) || strings.Contains(pw, "{{") {
		t.Errorf("generated password not filled in or not secret")
	}
}

func TestCredentialsUseDocumentLogin(t *testing.T) {
	api := newFakeAPI()
	o := setup(t, api)
	o.LoginOperation = &target.Operation{Method: "POST", Path: "/api/login",
		RequestBody: &target.Schema{Type: "object", Properties: map[string]*target.Schema{
			"username": {Type: "string"}, "password": {Type: "string"}}}}
	o.SignupOperation = &target.Operation{Method: "POST", Path: "/api/register",
		RequestBody: &target.Schema{Type: "object", Required: []string{"username", "email", "password"},
			Properties: map[string]*target.Schema{
				"username": {Type: "string"}, "email": {Type: "string"}, "password": {Type: "string"}}}}
	specs := []Spec{
		{Name: "alice", Credentials: &Basic{Username: "alice", Password: "s3cret-alice"}},
		{Name: "fresh", Signup: &Signup{}},
	}
	ids, err := Build(context.Background(), specs, o)
	if err != nil {
		t.Fatal(err)
	}
	if ids[0].Token() != "tok-alice-1" || !strings.HasPrefix(ids[1].Token(), "tok-apigate_") {
		t.Errorf("tokens %q %q", ids[0].Token(), ids[1].Token())
	}

	l, err := loginFromOperation(&target.Operation{Method: "POST", Path: "/oauth/token",
		RequestContentType: "application/x-www-form-urlencoded",
		RequestBody: &target.Schema{Required: []string{"grant_type", "username", "password", "scope"},
			Properties: map[string]*target.Schema{
				"grant_type": {Enum: []any{"client_credentials", "password"}},
				"scope":      {Example: "read"}, "username": {}, "password": {}}}}, "u", "p")
	if err != nil || !l.Form || l.Body["grant_type"] != "password" || l.Body["scope"] != "read" ||
		l.Body["username"] != "u" || len(l.Body) != 4 {
		t.Errorf("oauth login from the document: %+v %v", l, err)
	}

	o.LoginOperation = nil
	_, err = Build(context.Background(), specs[:1], o)
	if err == nil || !strings.Contains(err.Error(), "the API document declares none") {
		t.Errorf("no login op: %v", err)
	}
}

func TestStaticIdentities(t *testing.T) {
	specs := []Spec{
		{Name: "t", Token: "tok-static-1"},
		{Name: "h", Header: &Header{Name: "X-Api-Key", Value: "key-123"}},
		{Name: "c", Cookie: &Cookie{Name: "sid", Value: "cookie-9"}},
		{Name: "b", Basic: &Basic{Username: "bob", Password: "pw-bob"}},
	}
	ids, err := Build(context.Background(), specs, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := []struct{ header, value, secret string }{
		{"Authorization", "Bearer tok-static-1", "tok-static-1"},
		{"X-Api-Key", "key-123", "key-123"},
		{"Cookie", "sid=cookie-9", "cookie-9"},
		{"Authorization", "Basic Ym9iOnB3LWJvYg==", "pw-bob"},
	}
	for i, id := range ids {
		r, _ := http.NewRequest("GET", "http://127.0.0.1/", nil)
		id.Apply(r)
		if got := r.Header.Get(want[i].header); got != want[i].value {
			t.Errorf("%s: %s = %q, want %q", id.Name, want[i].header, got, want[i].value)
		}
		if !slices.Contains(id.Secrets, want[i].secret) {
			t.Errorf("%s: secret not listed", id.Name)
		}
	}
	if _, err := Build(context.Background(), []Spec{{Name: "empty"}}, Options{}); err == nil {
		t.Error("an identity with no credentials was accepted")
	}
}

func TestValidPath(t *testing.T) {
	for _, p := range []string{"$.t", "t", "$.a.b[1].c", "$.a[0][1]", "$", ""} {
		if err := ValidPath(p); err != nil {
			t.Errorf("%q: %v", p, err)
		}
	}
	for _, p := range []string{"$.[[", "$.a[", "$.a[x]", "$.a[-1]", "$.a..b", "$.a]", "$.a[0]b"} {
		if err := ValidPath(p); err == nil {
			t.Errorf("%q: accepted", p)
		}
	}
}

func TestJSONPath(t *testing.T) {
	var doc any
	_ = json.Unmarshal([]byte(`{"a":{"b":[{"c":"x"},{"c":"y"}]},"t":"z"}`), &doc)
	cases := map[string]any{"$.t": "z", "t": "z", "$.a.b[1].c": "y", "$.a.b[0].c": "x"}
	for p, want := range cases {
		if got, err := JSONPath(doc, p); err != nil || got != want {
			t.Errorf("%s = %v, %v", p, got, err)
		}
	}
	for _, p := range []string{"$.a.b[2].c", "$.t.u", "$.a.b[x]", "$.missing"} {
		if _, err := JSONPath(doc, p); err == nil {
			t.Errorf("%s: no error", p)
		}
	}
}
