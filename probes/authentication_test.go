package probes

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/apigate/apigate/internal/finding"
	"github.com/apigate/apigate/internal/target"
)

// authAPI is a small JWT-protected API whose flaws are switched on one at a time.
type authAPI struct {
	secret string
	// flaws
	openOrders   bool // GET /api/orders needs no token
	noVerify     bool // signature never checked
	acceptNone   bool // alg none (any case) accepted
	acceptNoSig  bool // empty signature accepted
	ignoreExp    bool // exp not checked
	deny403      bool // missing token gives 403 {"detail":"Not authenticated"}
	emptyForAnon bool // anonymous callers get 200 []
	loginAny     bool // login accepts any password
	login200Fail bool // wrong password gives 200 {"status":"fail"}
	anonCreate   bool // POST /api/orders works without a token
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func signHS256(secret string, claims map[string]any) string {
	h, _ := json.Marshal(map[string]any{"alg": "HS256", "typ": "JWT"})
	c, _ := json.Marshal(claims)
	in := b64(h) + "." + b64(c)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(in))
	return in + "." + b64(m.Sum(nil))
}

// user returns the subject of a request's token, "" when it is not acceptable.
func (a *authAPI) user(r *http.Request) string {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return ""
	}
	p := strings.Split(tok, ".")
	if len(p) < 2 {
		return ""
	}
	hb, err1 := base64.RawURLEncoding.DecodeString(p[0])
	cb, err2 := base64.RawURLEncoding.DecodeString(p[1])
	if err1 != nil || err2 != nil {
		return ""
	}
	var h map[string]string
	var c map[string]any
	if json.Unmarshal(hb, &h) != nil || json.Unmarshal(cb, &c) != nil {
		return ""
	}
	sig := ""
	if len(p) == 3 {
		sig = p[2]
	}
	switch {
	case a.noVerify:
	case strings.EqualFold(h["alg"], "none") && a.acceptNone:
	case sig == "" && a.acceptNoSig:
	case h["alg"] != "HS256" || len(p) != 3:
		return ""
	default:
		m := hmac.New(sha256.New, []byte(a.secret))
		m.Write([]byte(p[0] + "." + p[1]))
		if !hmac.Equal([]byte(b64(m.Sum(nil))), []byte(sig)) {
			return ""
		}
	}
	if exp, ok := c["exp"].(float64); ok && !a.ignoreExp && time.Unix(int64(exp), 0).Before(time.Now()) {
		return ""
	}
	sub, _ := c["sub"].(string)
	return sub
}

func (a *authAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if r.URL.Path == "/api/login" {
		var body map[string]string
		_ = json.NewDecoder(r.Body).Decode(&body)
		if body["password"] == "alice-pw" || a.loginAny {
			_ = json.NewEncoder(w).Encode(map[string]any{"access_token": "eyJx.y.z", "token_type": "Bearer"})
			return
		}
		if a.login200Fail {
			_, _ = w.Write([]byte(`{"status":"fail","message":"wrong user name or password"}`))
			return
		}
		w.WriteHeader(401)
		_, _ = w.Write([]byte(`{"error":"bad credentials"}`))
		return
	}
	if r.URL.Path == "/health" {
		_, _ = w.Write([]byte(`{"ok":true}`))
		return
	}
	sub := a.user(r)
	open := a.openOrders && strings.HasPrefix(r.URL.Path, "/api/orders") ||
		a.anonCreate && r.Method == http.MethodPost
	if sub == "" && !open {
		switch {
		case a.emptyForAnon:
			_, _ = w.Write([]byte(`[]`))
		case a.deny403:
			w.WriteHeader(403)
			_, _ = w.Write([]byte(`{"detail":"Not authenticated"}`))
		default:
			w.Header().Set("WWW-Authenticate", "Bearer")
			w.WriteHeader(401)
			_, _ = w.Write([]byte(`{"error":"unauthorized"}`))
		}
		return
	}
	switch {
	case r.URL.Path == "/api/me":
		_, _ = w.Write([]byte(`{"id":1,"username":"alice","email":"alice@example.com","plan":"pro"}`))
	case r.URL.Path == "/api/orders" && r.Method == http.MethodGet:
		_, _ = w.Write([]byte(`[{"id":7,"item":"book","qty":1},{"id":8,"item":"pen","qty":3}]`))
	case r.URL.Path == "/api/orders" && r.Method == http.MethodPost:
		var body map[string]any
		_ = json.NewDecoder(r.Body).Decode(&body)
		body["id"] = 99
		w.WriteHeader(201)
		_ = json.NewEncoder(w).Encode(body)
	case r.URL.Path == "/api/orders/7":
		_, _ = w.Write([]byte(`{"id":7,"item":"book","qty":1,"owner":"alice"}`))
	default:
		w.WriteHeader(404)
		_, _ = w.Write([]byte(`{"error":"not found"}`))
	}
}

func authOps() []*target.Operation {
	ops := testOps("!GET /api/me", "!GET /api/orders", "!GET /api/orders/{id}", "~POST /api/login",
		"GET /health")
	return ops
}

func authSession(t *testing.T, api *authAPI, withLogin bool) *Session {
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	tok := signHS256(api.secret, map[string]any{"sub": "alice", "exp": time.Now().Add(time.Hour).Unix()})
	id := bearer("alice", tok)
	if withLogin {
		id.Login = &target.LoginInfo{Method: "POST", Path: "/api/login", PasswordField: "password",
			UsernameField: "username", Body: map[string]any{"username": "alice", "password": "alice-pw"}}
	}
	return newTestSession(t, srv.URL, &target.Target{Operations: authOps(), Identities: []*target.Identity{id}})
}

func TestAuthenticationFires(t *testing.T) {
	cases := []struct {
		name string
		api  authAPI
		rule string
	}{
		{"orders readable without a token", authAPI{secret: "k7-Long-Random", openOrders: true}, "auth-missing"},
		{"signature never verified", authAPI{secret: "k7-Long-Random", noVerify: true}, "auth-jwt-signature-not-verified"},
		{"alg none accepted", authAPI{secret: "k7-Long-Random", acceptNone: true}, "auth-jwt-alg-none"},
		{"stripped signature accepted", authAPI{secret: "k7-Long-Random", acceptNoSig: true}, "auth-jwt-signature-stripped"},
		{"dictionary HMAC key", authAPI{secret: "changeme"}, "auth-jwt-weak-secret"},
		{"weak key and expiry ignored", authAPI{secret: "secret", ignoreExp: true}, "auth-jwt-expired-accepted"},
		{"login accepts any password", authAPI{secret: "k7-Long-Random", loginAny: true}, "auth-login-wrong-password"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := runTestProbe(t, NewAuthentication(), authSession(t, &c.api, true))
			wantStatus(t, v, finding.StatusFail)
			if !hasRule(v, c.rule) {
				t.Fatalf("rule %s did not fire; got %v (%s)", c.rule, rulesFired(v), v.Reason)
			}
			for _, f := range v.Findings {
				if f.Evidence.Request == "" || f.Curl == "" {
					t.Errorf("finding %s has no request evidence", f.Rule)
				}
			}
		})
	}
}

func TestAuthenticationMissingIsPerOperationAndSkipsPublic(t *testing.T) {
	v := runTestProbe(t, NewAuthentication(), authSession(t, &authAPI{secret: "k7-Long-Random", openOrders: true}, false))
	paths := map[string]bool{}
	for _, f := range v.Findings {
		paths[f.Path] = true
		if strings.HasPrefix(f.Rule, "auth-jwt") {
			t.Errorf("%s reported on an open route: forged tokens prove nothing there", f.Rule)
		}
		if f.Rule == "auth-missing" && f.Severity != finding.SeverityHigh {
			t.Errorf("read without auth: severity %s, want high", f.Severity)
		}
	}
	if !paths["/api/orders"] || !paths["/api/orders/{id}"] {
		t.Errorf("want findings on both order routes, got %v", paths)
	}
	if paths["/api/me"] || paths["/health"] || paths["/api/login"] {
		t.Errorf("protected or public route reported: %v", paths)
	}
}

func TestAuthenticationSignatureControlSkipsVariants(t *testing.T) {
	v := runTestProbe(t, NewAuthentication(), authSession(t, &authAPI{secret: "k7-Long-Random", noVerify: true}, false))
	n := 0
	for _, f := range v.Findings {
		switch f.Rule {
		case "auth-jwt-alg-none", "auth-jwt-signature-stripped":
			t.Errorf("variant %s reported although the control already showed no verification", f.Rule)
		case "auth-jwt-signature-not-verified":
			n++
		}
	}
	if n != 1 {
		t.Errorf("signature-not-verified reported %d times, want once", n)
	}
}

func TestAuthenticationMustNotFire(t *testing.T) {
	cases := []struct {
		name string
		api  authAPI
		want finding.Status
	}{
		{"401 everywhere", authAPI{secret: "k7-Long-Random"}, finding.StatusPass},
		{"403 Not authenticated is enforcement", authAPI{secret: "k7-Long-Random", deny403: true}, finding.StatusPass},
		{"login 200 status fail is a refusal", authAPI{secret: "k7-Long-Random", login200Fail: true}, finding.StatusPass},
		{"empty list to anonymous is inconclusive", authAPI{secret: "k7-Long-Random", emptyForAnon: true}, finding.StatusInconclusive},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := runTestProbe(t, NewAuthentication(), authSession(t, &c.api, true))
			wantStatus(t, v, c.want)
		})
	}
}

func TestAuthenticationAnonymousCreate(t *testing.T) {
	api := &authAPI{secret: "k7-Long-Random", anonCreate: true}
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	tok := signHS256(api.secret, map[string]any{"sub": "alice", "exp": time.Now().Add(time.Hour).Unix()})
	ops := append(authOps(), testOps("!POST /api/orders")...)
	s := newTestSession(t, srv.URL, &target.Target{Operations: ops,
		Identities: []*target.Identity{bearer("alice", tok)}})
	v := runTestProbe(t, NewAuthentication(), s)
	var got *finding.Finding
	for i, f := range v.Findings {
		if f.Rule == "auth-missing" && f.Method == "POST" {
			got = &v.Findings[i]
		}
	}
	if got == nil {
		t.Fatalf("anonymous create not reported: %v (%s)", rulesFired(v), v.Reason)
	}
	if got.Severity != finding.SeverityCritical {
		t.Errorf("write without auth: severity %s, want critical", got.Severity)
	}
}

func TestAuthenticationNoOperations(t *testing.T) {
	srv := httptest.NewServer(&authAPI{})
	t.Cleanup(srv.Close)
	s := newTestSession(t, srv.URL, &target.Target{Operations: testOps("~POST /api/login", "GET /health")})
	wantStatus(t, runTestProbe(t, NewAuthentication(), s), finding.StatusNotTested)
}

func TestAuthenticationEvidenceHidesToken(t *testing.T) {
	api := &authAPI{secret: "changeme"}
	s := authSession(t, api, false)
	v := runTestProbe(t, NewAuthentication(), s)
	tok := s.Target.Identities[0].Token()
	for _, f := range v.Findings {
		blob, _ := json.Marshal(f)
		if strings.Contains(string(blob), tok) || strings.Contains(string(blob), "changeme") {
			t.Errorf("finding %s leaks the token or the guessed key: %s", f.Rule, blob)
		}
	}
}

func TestJWTHelpers(t *testing.T) {
	tok := signHS256("secret", map[string]any{"sub": "bob"})
	j, ok := parseJWT(tok)
	if !ok || j.alg() != "HS256" {
		t.Fatalf("parse failed")
	}
	if got, ok := j.guessSecret(secretWords(nil)); !ok || got != "secret" {
		t.Errorf("guessSecret = %q %v", got, ok)
	}
	if _, ok := j.guessSecret([]string{"nope"}); ok {
		t.Error("guessed a wrong key")
	}
	if j.flipSignature() == tok || !strings.HasSuffix(j.unsigned("none"), ".") ||
		strings.Count(j.stripped(false), ".") != 1 {
		t.Error("variants malformed")
	}
	for _, notJWT := range []string{"a.b.c", "eyJhbGciOiJIUzI1NiJ9", "eyJ0eXAiOiJKV1QifQ.e30.x"} {
		if _, ok := parseJWT(notJWT); ok {
			t.Errorf("%q taken for a JWT (no alg, or not three segments)", notJWT)
		}
	}
}

// TestAuthenticationUndeclaredOperations checks the optional-auth trap: without a security
// declaration, an anonymous answer counts as a bypass only when it carries the identity's
// own data.
func TestAuthenticationUndeclaredOperations(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.URL.Path == "/catalogue":
			_, _ = w.Write([]byte(`[{"id":1,"name":"pen","price":2}]`))
		case r.URL.Path == "/comments" && r.Method == http.MethodPost:
			var b map[string]any
			_ = json.NewDecoder(r.Body).Decode(&b)
			w.WriteHeader(201)
			_ = json.NewEncoder(w).Encode(b)
		case r.URL.Path == "/profile":
			_, _ = w.Write([]byte(`{"username":"alice","email":"alice@example.com"}`))
		default:
			w.WriteHeader(404)
		}
	}))
	t.Cleanup(srv.Close)
	id := bearer("alice", "tok-alice")
	id.Login = &target.LoginInfo{Path: "/login", UsernameField: "username", PasswordField: "password",
		Body: map[string]any{"username": "alice", "password": "x"}}
	cases := []struct {
		name string
		ops  []string
		want finding.Status
	}{
		{"public catalogue without declaration is treated as public", []string{"GET /catalogue"}, finding.StatusNotTested},
		{"anonymous comment creation is not a finding", []string{"GET /catalogue", "POST /comments"}, finding.StatusNotTested},
		{"the caller's own profile served anonymously is", []string{"GET /profile"}, finding.StatusFail},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newTestSession(t, srv.URL, &target.Target{Operations: testOps(c.ops...),
				Identities: []*target.Identity{id}})
			v := runTestProbe(t, NewAuthentication(), s)
			wantStatus(t, v, c.want)
			if c.want != finding.StatusFail && !strings.Contains(v.Reason, "treated as public") {
				t.Errorf("reason does not name the public-looking routes: %s", v.Reason)
			}
		})
	}
}

// rsAPI issues RS256 tokens and publishes its key; confused verifies HS256 tokens with the
// key's PEM as the HMAC secret.
func rsAPI(t *testing.T, confused bool) (*httptest.Server, string) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	spki, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: spki})
	h, _ := json.Marshal(map[string]any{"alg": "RS256", "typ": "JWT"})
	c, _ := json.Marshal(map[string]any{"sub": "alice", "exp": time.Now().Add(time.Hour).Unix()})
	in := b64(h) + "." + b64(c)
	sum := sha256.Sum256([]byte(in))
	sig, _ := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	tok := in + "." + b64(sig)
	e := big.NewInt(int64(key.E)).Bytes()
	jwks, _ := json.Marshal(map[string]any{"keys": []any{map[string]any{"kty": "RSA",
		"n": b64(key.N.Bytes()), "e": b64(e)}}})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/.well-known/jwks.json" {
			_, _ = w.Write(jwks)
			return
		}
		p := strings.Split(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "), ".")
		ok := false
		if len(p) == 3 {
			hb, _ := base64.RawURLEncoding.DecodeString(p[0])
			var hd map[string]string
			_ = json.Unmarshal(hb, &hd)
			sb, _ := base64.RawURLEncoding.DecodeString(p[2])
			switch hd["alg"] {
			case "RS256":
				d := sha256.Sum256([]byte(p[0] + "." + p[1]))
				ok = rsa.VerifyPKCS1v15(&key.PublicKey, crypto.SHA256, d[:], sb) == nil
			case "HS256":
				m := hmac.New(sha256.New, pemKey)
				m.Write([]byte(p[0] + "." + p[1]))
				ok = confused && hmac.Equal(m.Sum(nil), sb)
			}
		}
		if !ok {
			w.WriteHeader(401)
			return
		}
		_, _ = w.Write([]byte(`{"username":"alice","plan":"pro"}`))
	}))
	t.Cleanup(srv.Close)
	return srv, tok
}

func TestAuthenticationAlgConfusion(t *testing.T) {
	for _, confused := range []bool{true, false} {
		srv, tok := rsAPI(t, confused)
		s := newTestSession(t, srv.URL, &target.Target{Operations: testOps("!GET /api/me"),
			Identities: []*target.Identity{bearer("alice", tok)}})
		v := runTestProbe(t, NewAuthentication(), s)
		if got := hasRule(v, "auth-jwt-alg-confusion"); got != confused {
			t.Errorf("confused=%v: alg-confusion fired=%v (%v; %s)", confused, got, rulesFired(v), v.Reason)
		}
		if !confused {
			wantStatus(t, v, finding.StatusPass)
		}
	}
}

func TestAuthenticationWithoutIdentity(t *testing.T) {
	api := &authAPI{secret: "k7-Long-Random", openOrders: true}
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	// Declared protected: still a finding, with medium confidence.
	s := newTestSession(t, srv.URL, &target.Target{Operations: testOps("!GET /api/orders", "!GET /api/me")})
	v := runTestProbe(t, NewAuthentication(), s)
	if !hasRule(v, "auth-missing") || v.Findings[0].Confidence != finding.ConfidenceMedium {
		t.Errorf("want a medium-confidence auth-missing, got %v (%s)", rulesFired(v), v.Reason)
	}
	// Undeclared: nothing says it should be protected, so no finding.
	s = newTestSession(t, srv.URL, &target.Target{Operations: testOps("GET /api/orders", "GET /api/me")})
	v = runTestProbe(t, NewAuthentication(), s)
	if len(v.Findings) > 0 || v.Status == finding.StatusPass && !strings.Contains(v.Reason, "public") {
		t.Errorf("undeclared route without identity: %s %v (%s)", v.Status, rulesFired(v), v.Reason)
	}
}

// esAPI issues ES256 tokens; psychic accepts an all-zero signature like the broken Java
// verifiers of CVE-2022-21449.
func TestAuthenticationPsychicSignature(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	h, _ := json.Marshal(map[string]any{"alg": "ES256", "typ": "JWT"})
	c, _ := json.Marshal(map[string]any{"sub": "alice", "exp": time.Now().Add(time.Hour).Unix()})
	in := b64(h) + "." + b64(c)
	sum := sha256.Sum256([]byte(in))
	r, sv, _ := ecdsa.Sign(rand.Reader, key, sum[:])
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	sv.FillBytes(sig[32:])
	tok := in + "." + b64(sig)
	for _, psychic := range []bool{true, false} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			p := strings.Split(strings.TrimPrefix(req.Header.Get("Authorization"), "Bearer "), ".")
			ok := false
			if len(p) == 3 {
				sb, _ := base64.RawURLEncoding.DecodeString(p[2])
				d := sha256.Sum256([]byte(p[0] + "." + p[1]))
				if len(sb) == 64 {
					rr, ss := new(big.Int).SetBytes(sb[:32]), new(big.Int).SetBytes(sb[32:])
					ok = psychic && rr.Sign() == 0 && ss.Sign() == 0 ||
						ecdsa.Verify(&key.PublicKey, d[:], rr, ss)
				}
			}
			if !ok {
				w.WriteHeader(401)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"username":"alice","plan":"pro"}`))
		}))
		s := newTestSession(t, srv.URL, &target.Target{Operations: testOps("!GET /api/me"),
			Identities: []*target.Identity{bearer("alice", tok)}})
		v := runTestProbe(t, NewAuthentication(), s)
		srv.Close()
		if got := hasRule(v, "auth-jwt-signature-not-verified"); got != psychic {
			t.Errorf("psychic=%v: fired=%v (%v; %s)", psychic, got, rulesFired(v), v.Reason)
		}
	}
}

// TestJudgeAuthMatrix pins the status matrix of detection-notes §2.
func TestJudgeAuthMatrix(t *testing.T) {
	base := fakeExchange(200, `{"id":1,"username":"alice","plan":"pro"}`)
	cases := []struct {
		name   string
		status int
		ct     string
		body   string
		loc    string
		want   authOutcome
	}{
		{"401", 401, "", `{"error":"unauthorized"}`, "", outRefused},
		{"403 Not authenticated", 403, "", `{"detail":"Not authenticated"}`, "", outRefused},
		{"404 hides the resource", 404, "", ``, "", outRefused},
		{"redirect to login", 302, "", ``, "/login?next=/api/me", outRefused},
		{"redirect elsewhere", 302, "", ``, "/api/other", outNotBypass},
		{"HTML login page", 200, "text/html", `<form><input type=password></form>`, "", outRefused},
		{"empty list", 200, "", `[]`, "", outInconclusive},
		{"empty object", 200, "", `{}`, "", outInconclusive},
		{"error-shaped 200", 200, "", `{"status":"fail","message":"token expired"}`, "", outInconclusive},
		{"guest object unlike the baseline", 200, "", `{"id":0,"username":"guest"}`, "", outInconclusive},
		{"the baseline itself", 200, "", `{"id":1,"username":"alice","plan":"pro"}`, "", outAccepted},
		{"validation before auth", 422, "", `{"detail":"bad"}`, "", outNotBypass},
		{"server error", 500, "", `oops`, "", outNotBypass},
	}
	for _, c := range cases {
		ex := fakeExchange(c.status, c.body)
		if c.ct != "" {
			ex.Header.Set("Content-Type", c.ct)
		}
		if c.loc != "" {
			ex.Header.Set("Location", c.loc)
		}
		if got, why := judgeAuth(ex, base); got != c.want {
			t.Errorf("%s: outcome %d (%s), want %d", c.name, got, why, c.want)
		}
	}
}

func TestAuthenticationTokenPresenceAndExpiry(t *testing.T) {
	// presenceOnly accepts any bearer token at all; the identity's token has no exp.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
			w.WriteHeader(401)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"username":"alice","plan":"pro"}`))
	}))
	t.Cleanup(srv.Close)
	tok := signHS256("k7-Long-Random", map[string]any{"sub": "alice"})
	s := newTestSession(t, srv.URL, &target.Target{Operations: testOps("!GET /api/me"),
		Identities: []*target.Identity{bearer("alice", tok)}})
	v := runTestProbe(t, NewAuthentication(), s)
	for _, want := range []string{"auth-invalid-token-accepted"} {
		if !hasRule(v, want) {
			t.Errorf("%s missing: %v (%s)", want, rulesFired(v), v.Reason)
		}
	}
	if hasRule(v, "auth-missing") {
		t.Errorf("no-credentials requests were refused; auth-missing must not fire")
	}

	// A verifying server and a token without exp: only the low expiry finding.
	api := &authAPI{secret: "k7-Long-Random"}
	srv2 := httptest.NewServer(api)
	t.Cleanup(srv2.Close)
	s = newTestSession(t, srv2.URL, &target.Target{Operations: authOps(),
		Identities: []*target.Identity{bearer("alice", tok)}})
	v = runTestProbe(t, NewAuthentication(), s)
	if got := rulesFired(v); len(got) != 1 || got[0] != "auth-jwt-no-expiry" {
		t.Errorf("want only auth-jwt-no-expiry, got %v (%s)", got, v.Reason)
	}
}

// TestAuthenticationForgedTokenReproduces checks that the reproduce lines of the weak-key
// findings carry the minted token itself, which the API still accepts when replayed, and
// show neither the identity's token nor the key.
func TestAuthenticationForgedTokenReproduces(t *testing.T) {
	api := &authAPI{secret: "secret", ignoreExp: true}
	s := authSession(t, api, true)
	idTok := s.Target.Identities[0].Token()
	v := runTestProbe(t, NewAuthentication(), s)
	seen := map[string]bool{}
	for _, f := range v.Findings {
		if f.Rule != RuleJWTWeakSecret.ID && f.Rule != RuleJWTExpired.ID {
			continue
		}
		seen[f.Rule] = true
		if strings.Contains(f.Curl, "${") {
			t.Errorf("%s: reproduce line needs a variable: %s", f.Rule, f.Curl)
		}
		all := f.Title + f.Curl + f.Evidence.Request + f.Evidence.Excerpt + f.Evidence.Detail
		if strings.Contains(all, idTok) || strings.Contains(f.Evidence.Excerpt, api.secret) {
			t.Errorf("%s shows the identity's token or the key: %s", f.Rule, all)
		}
		_, rest, ok := strings.Cut(f.Curl, "Authorization: Bearer ")
		tok, _, _ := strings.Cut(rest, "'")
		if !ok || strings.Count(tok, ".") != 2 {
			t.Fatalf("%s: no token in the reproduce line: %s", f.Rule, f.Curl)
		}
		req, _ := http.NewRequest(http.MethodGet, "/api/me", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		if api.user(req) != "alice" {
			t.Errorf("%s: the token of the reproduce line is refused on replay", f.Rule)
		}
		if f.Rule == RuleJWTWeakSecret.ID && !strings.Contains(f.Evidence.Detail, "valid until") {
			t.Errorf("weak key: detail does not say how long the token works: %s",
				f.Evidence.Detail)
		}
	}
	if !seen[RuleJWTWeakSecret.ID] || !seen[RuleJWTExpired.ID] {
		t.Fatalf("want both weak-key findings, got %v (%s)", rulesFired(v), v.Reason)
	}
}
