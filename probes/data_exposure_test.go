package probes

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/apigate/apigate/internal/finding"
	"github.com/apigate/apigate/internal/target"
)

func TestScanJSONFires(t *testing.T) {
	jwtWithPw := signHS256("k", map[string]any{"sub": "a", "password": "hunter2"})
	cases := []struct {
		name string
		body string
		kind exposureKind
	}{
		{"bcrypt hash under any key", `{"user":{"pw":"$2b$12$abcdefghijklmnopqrstuuMZKvWCuVVcXq0Fh1D5xhS6t8hhYVVGC"}}`, kindHash},
		{"argon2id hash", `{"h":"$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo"}`, kindHash},
		{"sha512-crypt hash", `{"x":"$6$rounds=5000$saltsalt$` + strings.Repeat("a", 86) + `"}`, kindHash},
		{"django pbkdf2 hash", `{"password":"pbkdf2_sha256$600000$salt$YWJjZGVmZ2hpams="}`, kindHash},
		{"hex digest under password_hash", `{"password_hash":"5f4dcc3b5aa765d61d8327deb882cf99"}`, kindHash},
		{"plaintext password", `[{"username":"a","password":"hunter2"}]`, kindPassword},
		{"PEM private key", `{"k":"-----BEGIN RSA PRIVATE KEY-----\nMIIE..."}`, kindSecret},
		{"AWS key id with key context", `{"aws_access_key_id":"AKIAIOSFODNN7EXAMPLE"}`, kindSecret},
		{"GitHub token anywhere", `{"note":"use ghp_abcdefghijklmnopqrstuvwxyz0123456789"}`, kindSecret},
		{"Stripe live key", `{"cfg":{"stripe":"sk_live_4eC39HqLyjWDarjtT1zdp7dc"}}`, kindSecret},
		{"api_key value", `{"api_key":"a1b2c3d4e5f6"}`, kindSecret},
		{"JWT outside a login", `{"items":[{"owner_token":"` + signHS256("k", map[string]any{"sub": "b"}) + `"}]}`, kindToken},
		{"reset token", `{"reset_token":"9f8e7d6c5b4a"}`, kindToken},
		{"secret inside a JWT payload", `{"access_token":"` + jwtWithPw + `"}`, kindJWTClaims},
		{"Visa with Luhn in a string", `{"card":"4111 1111 1111 1111"}`, kindCard},
		{"Mastercard 2-series number field", `{"card_number":2223000048400011}`, kindCard},
		{"SSN under ssn", `{"ssn":"123-45-6789"}`, kindPII},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			hits := scanJSON([]byte(c.body), scanOptions{})
			for _, h := range hits {
				if h.Kind == c.kind {
					if strings.Contains(c.body, h.Shown) && len(h.Shown) > 12 {
						t.Errorf("shown value %q is not masked", h.Shown)
					}
					return
				}
			}
			t.Fatalf("kind %d not found in %+v", c.kind, hits)
		})
	}
}

func TestScanJSONMustNotFire(t *testing.T) {
	cases := []struct {
		name string
		body string
		opt  scanOptions
	}{
		{"access_token in a login answer", `{"access_token":"` + signHS256("k", map[string]any{"sub": "a"}) +
			`","refresh_token":"r-123456789012345678","token_type":"Bearer","expires_in":3600}`, scanOptions{TokenIssuing: true}},
		{"digits inside a UUID", `{"id":"41111111-1111-1111-1111-111111111111","ref":"4111111111111111-abc"}`, scanOptions{}},
		{"decimal amount", `{"amount":"4111111111111111.50"}`, scanOptions{}},
		{"snowflake id number", `{"id":4111111111111111}`, scanOptions{}},
		{"booleans and masked values", `{"has_password":true,"password":"********","card":"xxxx-xxxx-xxxx-1111","secret":false,"api_key":"****abcd"}`, scanOptions{}},
		{"pagination and csrf tokens", `{"next_page_token":"abcdefghijklmnopqrstuvwx","csrf_token":"abcdefghijklmnopqrst","cursor":"Y3Vyc29yMTIzNDU2"}`, scanOptions{}},
		{"public key", `{"public_key":"-----BEGIN PUBLIC KEY-----\nMIIB..."}`, scanOptions{}},
		{"bare hex etag-like id", `{"checksum":"5f4dcc3b5aa765d61d8327deb882cf99","etag":"d41d8cd98f00b204e9800998ecf8427e"}`, scanOptions{}},
		{"commit hash under a bare hash key", `{"hash":"9fceb02d0ae598e95dc970b74767f19372d61af8"}`, scanOptions{}},
		{"own token echoed", `{"token":"my-own-token-value-123"}`, scanOptions{Own: []string{"my-own-token-value-123"}}},
		{"AKIA without key context", `{"note":"AKIAIOSFODNN7EXAMPLE"}`, scanOptions{}},
		{"i18n key field", `{"key":"menu.title","password_policy":"min 12"}`, scanOptions{}},
		{"non-Luhn 16 digits", `{"card":"4111111111111112"}`, scanOptions{}},
		{"a.b.c is no JWT", `{"version":"eyJ.b.c","session":"a.b.c"}`, scanOptions{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if hits := scanJSON([]byte(c.body), c.opt); len(hits) > 0 {
				t.Fatalf("unexpected hits: %+v", hits)
			}
		})
	}
}

// exposureAPI serves two users' views; its flaws are switched on by the test.
type exposureAPI struct {
	listEmails bool // GET /api/users shows every user's e-mail
	hashInMe   bool // GET /api/me returns password_hash
	tokens     bool // GET /api/sessions lists every user's bearer token
	echoLogin  bool // the login answer repeats the request body
}

func (a *exposureAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	user := strings.TrimSuffix(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer tok-"), "-0123456789abcdef")
	switch r.URL.Path {
	case "/api/login":
		var b map[string]string
		_ = json.NewDecoder(r.Body).Decode(&b)
		if b["password"] != "pw-"+b["username"] {
			_, _ = w.Write([]byte(`{"status":"fail","message":"wrong password"}`))
			return
		}
		http.SetCookie(w, &http.Cookie{Name: "JSESSIONID", Value: "0123456789abcdef0123456789abcdef"})
		if a.echoLogin {
			_ = json.NewEncoder(w).Encode(map[string]any{"access_token": "t-0123456789abcdef",
				"request": b})
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": signHS256("k", map[string]any{"sub": b["username"]}),
			"token_type": "Bearer", "refresh_token": "rt-abcdefghijklmnopqrstuvwxyz"})
		return
	case "/api/sessions":
		if a.tokens {
			_, _ = w.Write([]byte(`[{"user":"alice","bearer":"tok-alice-0123456789abcdef"},{"user":"bob","bearer":"tok-bob-0123456789abcdef"}]`))
			return
		}
		_, _ = w.Write([]byte(`[]`))
		return
	case "/api/catalogue":
		_, _ = w.Write([]byte(`[{"id":"9b2f1c3e-1111-4111-8111-411111111111","name":"pen","price":"4111111111111111.00"}]`))
		return
	}
	if user != "alice" && user != "bob" {
		w.WriteHeader(401)
		return
	}
	switch r.URL.Path {
	case "/api/me":
		me := map[string]any{"id": user, "email": user + "@example.com", "has_password": true}
		if a.hashInMe {
			me["password_hash"] = "$2b$12$abcdefghijklmnopqrstuuMZKvWCuVVcXq0Fh1D5xhS6t8hhYVVGC"
		}
		_ = json.NewEncoder(w).Encode(me)
	case "/api/users":
		if a.listEmails {
			_, _ = w.Write([]byte(`[{"id":"alice","email":"alice@example.com"},{"id":"bob","email":"bob@example.com"}]`))
			return
		}
		_, _ = w.Write([]byte(`[{"id":"alice"},{"id":"bob"}]`))
	default:
		w.WriteHeader(404)
	}
}

func exposureSession(t *testing.T, api *exposureAPI) *Session {
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	var ids []*target.Identity
	for _, n := range []string{"alice", "bob"} {
		id := bearer(n, "tok-"+n+"-0123456789abcdef")
		id.Login = &target.LoginInfo{Method: "POST", Path: "/api/login", PasswordField: "password",
			UsernameField: "username", Body: map[string]any{"username": n, "password": "pw-" + n}}
		ids = append(ids, id)
	}
	ops := testOps("!GET /api/me", "!GET /api/users", "~GET /api/catalogue", "~POST /api/login",
		"~GET /api/sessions")
	return newTestSession(t, srv.URL, &target.Target{Operations: ops, Identities: ids})
}

func TestDataExposureProbe(t *testing.T) {
	cases := []struct {
		name string
		api  exposureAPI
		want []string
	}{
		{"clean API: login tokens, JSESSIONID hex, UUID digits and decimals are fine", exposureAPI{}, nil},
		{"bob sees alice's e-mail in the user list", exposureAPI{listEmails: true}, []string{"exposure-pii-cross-user"}},
		{"password hash in /me", exposureAPI{hashInMe: true}, []string{"exposure-password-hash"}},
		{"every user's bearer token in a listing", exposureAPI{tokens: true}, []string{"exposure-token"}},
		{"login answer echoes the password", exposureAPI{echoLogin: true}, []string{"exposure-password"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := runTestProbe(t, NewDataExposure(), exposureSession(t, &c.api))
			got := rulesFired(v)
			if len(c.want) == 0 {
				wantStatus(t, v, finding.StatusPass)
				return
			}
			wantStatus(t, v, finding.StatusFail)
			for _, w := range c.want {
				if !hasRule(v, w) {
					t.Errorf("rule %s missing, got %v", w, got)
				}
			}
			for _, f := range v.Findings {
				if f.Rule == "exposure-password-hash" && len(got) != 1 {
					t.Errorf("one hash should give one finding per operation, got %v", got)
				}
				if strings.Contains(f.Evidence.Excerpt, "alice@example.com") {
					t.Errorf("contact data not masked in evidence: %q", f.Evidence.Excerpt)
				}
			}
		})
	}
}

func TestDataExposureNotTestedWithoutText(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		_, _ = w.Write([]byte("\x89PNG"))
	}))
	t.Cleanup(srv.Close)
	s := newTestSession(t, srv.URL, &target.Target{Operations: testOps("GET /")})
	wantStatus(t, runTestProbe(t, NewDataExposure(), s), finding.StatusNotTested)
}

func TestCardNumbers(t *testing.T) {
	for _, d := range []string{"4111111111111111", "5555555555554444", "378282246310005",
		"6011111111111117", "3530111333300000", "2223003122003222"} {
		if !isCardNumber(d) {
			t.Errorf("%s: want a card number", d)
		}
	}
	for _, d := range []string{"4111111111111112", "1234567890123456", "0000000000000000", "41111111"} {
		if isCardNumber(d) {
			t.Errorf("%s: not a card number", d)
		}
	}
}

func TestSafeExcerptMasksSecrets(t *testing.T) {
	body := `{"id":2,"name":"apg-marker","password_hash":"$2b$12$abcdefghijklmnopqrstuuMZKvWCuVVcXq0Fh1D5xhS6t8hhYVVGC","api_key":"sk_live_4eC39HqLyjWDarjtT1zdp7dc"}`
	got := safeExcerpt([]byte(body), 600)
	if strings.Contains(got, "uuMZKvWC") || strings.Contains(got, "4eC39HqL") {
		t.Errorf("secret left in excerpt: %s", got)
	}
	if !strings.Contains(got, "apg-marker") || !strings.Contains(got, `"id":2`) {
		t.Errorf("ordinary values lost: %s", got)
	}
	if safeExcerpt([]byte("plain text"), 5) != "plain…" {
		t.Errorf("non-JSON not kept")
	}
}

func TestScanText(t *testing.T) {
	csv := "id,user,hash\n1,alice,$2b$12$abcdefghijklmnopqrstuuMZKvWCuVVcXq0Fh1D5xhS6t8hhYVVGC\n"
	if hits := scanText([]byte(csv), scanOptions{}); len(hits) != 1 || hits[0].Kind != kindHash {
		t.Errorf("bcrypt in CSV: %+v", hits)
	}
	clean := "id,ref,amount\n41111111-1111-1111-1111-111111111111,4111111111111111.00,eyJ.x.y\n"
	if hits := scanText([]byte(clean), scanOptions{}); len(hits) != 0 {
		t.Errorf("clean CSV: %+v", hits)
	}
}

// FuzzScanners feeds arbitrary text to the value scanners: they must not panic, and a card
// number they report must pass the brand and Luhn checks.
func FuzzScanners(f *testing.F) {
	for _, seed := range []string{
		`{"card":"4111 1111 1111 1111"}`, "41111111-1111-1111-1111-111111111111",
		"-4111111111111111-", "a-4111111111111111", `{"password":"x","a":[{"ssn":"123-45-6789"}]}`,
		"eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.", "$2b$12$" + strings.Repeat("a", 53),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if c := findCard(s); c != "" && !isCardNumber(c) {
			t.Fatalf("findCard(%q) = %q, not a card number", s, c)
		}
		_ = scanJSON([]byte(s), scanOptions{})
		_ = scanText([]byte(s), scanOptions{})
		_ = safeExcerpt([]byte(s), 50)
		if j, ok := parseJWT(s); ok && j.alg() == "" {
			t.Fatalf("parseJWT accepted %q without alg", s)
		}
	})
}

func TestScanJSONOwnValues(t *testing.T) {
	own := scanOptions{Own: []string{"pw-of-a", "tok-of-a-0123456789"}}
	hits := scanJSON([]byte(`{"username":"a","password":"pw-of-a","token":"tok-of-a-0123456789"}`), own)
	if len(hits) != 1 || hits[0].Kind != kindPassword {
		t.Fatalf("want only the caller's own password (stored readable), got %+v", hits)
	}
}
