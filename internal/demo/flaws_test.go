package demo

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// flawChecks each observe one planted flaw from the outside, the way a probe would, and
// report whether it is there. TestFlaws runs each against both modes: every flaw must be
// present in the vulnerable mode and absent in the hardened one.
var flawChecks = []struct {
	item int // checklist item
	name string
	seen func(e *env) bool
}{
	{1, "API answers over plain HTTP", func(e *env) bool {
		resp, _ := e.doURL("GET", e.s.HTTPURL().String()+"/health", "", nil)
		if e.hardened {
			loc := resp.Header.Get("Location")
			want := e.s.HTTPSURL().String() + "/health"
			if resp.StatusCode != http.StatusPermanentRedirect || loc != want {
				e.t.Fatalf("plain HTTP: %d to %q, want 308 to %q", resp.StatusCode, loc, want)
			}
		}
		return resp.StatusCode == http.StatusOK
	}},
	{1, "no HSTS on HTTPS", func(e *env) bool {
		resp, _ := e.do("GET", "/health", "", nil)
		return resp.Header.Get("Strict-Transport-Security") != "max-age=31536000; includeSubDomains"
	}},
	{1, "TLS 1.1 accepted", func(e *env) bool {
		if !e.hardened {
			return true // no TLS at all
		}
		conn, err := tls.Dial("tcp", e.s.HTTPSURL().Host, &tls.Config{
			MinVersion: tls.VersionTLS11, MaxVersion: tls.VersionTLS11, InsecureSkipVerify: true,
		})
		if err == nil {
			conn.Close()
		}
		return err == nil
	}},
	{2, "alg=none token accepted", func(e *env) bool {
		e.login(Alice)
		for _, alg := range []string{"none", "None", "NONE", "nOnE"} {
			tok := forge(map[string]any{"alg": alg, "typ": "JWT"}, claimsOf(e, Alice, time.Hour), "")
			resp, _ := e.do("GET", "/api/me", tok, nil)
			if want := map[bool]int{false: 200, true: 401}[e.hardened]; resp.StatusCode != want {
				e.t.Fatalf("alg=%s: status %d", alg, resp.StatusCode)
			}
		}
		tok := forge(map[string]any{"alg": "none"}, claimsOf(e, Alice, time.Hour), "")
		resp, _ := e.do("GET", "/api/me", tok, nil)
		return resp.StatusCode == http.StatusOK
	}},
	{2, "stripped signature accepted", func(e *env) bool {
		parts := strings.Split(e.login(Alice), ".")
		resp2, _ := e.do("GET", "/api/me", parts[0]+"."+parts[1], nil)
		resp3, _ := e.do("GET", "/api/me", parts[0]+"."+parts[1]+".", nil)
		if (resp2.StatusCode == http.StatusOK) != (resp3.StatusCode == http.StatusOK) {
			e.t.Fatalf("two-part %d, empty third part %d", resp2.StatusCode, resp3.StatusCode)
		}
		return resp3.StatusCode == http.StatusOK
	}},
	{2, "expired token accepted", func(e *env) bool {
		tok := signToken(e.s.app.secret, claimsOf(e, Alice, -time.Hour))
		resp, _ := e.do("GET", "/api/me", tok, nil)
		return resp.StatusCode == http.StatusOK
	}},
	{2, "token forged with the secret \"secret\" accepted", func(e *env) bool {
		tok := signToken([]byte("secret"), claimsOf(e, Alice, time.Hour))
		resp, _ := e.do("GET", "/api/me", tok, nil)
		return resp.StatusCode == http.StatusOK
	}},
	{2, "v1 answers without a token", func(e *env) bool {
		resp, data := e.do("GET", "/api/v1/orders", "", nil)
		if e.hardened && resp.Header.Get("WWW-Authenticate") == "" {
			e.t.Fatalf("401 without WWW-Authenticate: %d %s", resp.StatusCode, data)
		}
		return resp.StatusCode == http.StatusOK && strings.Contains(string(data), "ring twice")
	}},
	{3, "another user's order readable", func(e *env) bool {
		id := e.createOrder(e.login(Alice))
		resp, _ := e.do("GET", "/api/v2/orders/"+id, e.login(Bob), nil)
		if e.hardened && resp.StatusCode != http.StatusNotFound {
			e.t.Fatalf("bob reads alice's order: %d, want 404", resp.StatusCode)
		}
		return resp.StatusCode == http.StatusOK
	}},
	{3, "another user's order deletable", func(e *env) bool {
		id := e.createOrder(e.login(Alice))
		e.do("DELETE", "/api/v2/orders/"+id, e.login(Bob), nil)
		resp, _ := e.do("GET", "/api/v2/orders/"+id, e.login(Alice), nil)
		return resp.StatusCode == http.StatusNotFound
	}},
	{3, "another user's order changeable", func(e *env) bool {
		id := e.createOrder(e.login(Alice))
		e.do("PATCH", "/api/v2/orders/"+id, e.login(Bob), map[string]any{"note": "bob was here"})
		_, data := e.do("GET", "/api/v2/orders/"+id, e.login(Alice), nil)
		return strings.Contains(string(data), "bob was here")
	}},
	{4, "quantity as a string gives 500", func(e *env) bool {
		return orderStatus(e, map[string]any{"item": "green tea", "quantity": "5"}) == 500
	}},
	{4, "huge quantity gives 500", func(e *env) bool {
		statuses := map[int]int{}
		for _, q := range []string{"2147483648", "9223372036854775808", "1e309"} {
			statuses[orderStatus(e, `{"item":"green tea","quantity":`+q+`}`)]++
		}
		if len(statuses) != 1 {
			e.t.Fatalf("statuses for huge quantities: %v", statuses)
		}
		return statuses[500] == 3
	}},
	{4, "negative quantity stored", func(e *env) bool {
		return orderStatus(e, map[string]any{"item": "green tea", "quantity": -3}) == 201
	}},
	{4, "overlong note stored", func(e *env) bool {
		note := strings.Repeat("n", 201)
		if st := orderStatus(e, map[string]any{"item": "tea", "quantity": 1, "note": note[:200]}); st != 201 {
			e.t.Fatalf("a 200-character note: %d, want 201", st)
		}
		return orderStatus(e, map[string]any{"item": "tea", "quantity": 1, "note": note}) == 201
	}},
	{5, "general burst not throttled", func(e *env) bool {
		tok := e.login(Alice)
		for i := 1; i <= 70; i++ {
			resp, _ := e.do("GET", "/api/v2/products", tok, nil)
			if resp.StatusCode == http.StatusTooManyRequests {
				if i != apiQuota+1 || resp.Header.Get("Retry-After") == "" ||
					!strings.Contains(resp.Header.Get("RateLimit-Policy"), `"default";q=60;w=10`) ||
					!strings.Contains(resp.Header.Get("RateLimit"), `"default";r=0;`) {
					e.t.Fatalf("429 at request %d with headers %v", i, resp.Header)
				}
				// Another route is not affected.
				if other, _ := e.do("GET", "/api/me", tok, nil); other.StatusCode != http.StatusOK {
					e.t.Fatalf("/api/me after the products burst: %d", other.StatusCode)
				}
				return false
			}
		}
		return true
	}},
	{5, "login brute force not limited per account", func(e *env) bool {
		for i := 1; i <= 8; i++ {
			resp, _ := e.do("POST", LoginPath, "", map[string]string{
				"username": "alice", "password": fmt.Sprintf("wrong-%d", i),
			}, "X-Forwarded-For", fmt.Sprintf("203.0.113.%d", i))
			if resp.StatusCode == http.StatusTooManyRequests {
				if i != loginQuota+1 || resp.Header.Get("Retry-After") == "" {
					e.t.Fatalf("login 429 at attempt %d, Retry-After %q", i, resp.Header.Get("Retry-After"))
				}
				return false
			}
		}
		return true
	}},
	{6, "password hash and API key in /api/me", func(e *env) bool {
		_, data := e.do("GET", "/api/me", e.login(Alice), nil)
		m := e.jsonOf(data)
		hash, _ := m["password_hash"].(string)
		if !e.hardened && !strings.HasPrefix(hash, "$2a$") {
			e.t.Fatalf("password_hash %q is not bcrypt", hash)
		}
		_, key := m["api_key"]
		return hash != "" && key
	}},
	{6, "users list shows other users' e-mail addresses and hashes", func(e *env) bool {
		_, data := e.do("GET", "/api/v2/users", e.login(Alice), nil)
		return strings.Contains(string(data), "bob@shop.example.invalid") &&
			strings.Contains(string(data), "$2a$")
	}},
	{7, "malformed JSON gives a Go stack trace", func(e *env) bool {
		resp, data := e.do("POST", "/api/v2/orders", e.login(Alice), `{"item": "tea",`)
		if e.hardened && (resp.StatusCode != 400 ||
			resp.Header.Get("Content-Type") != "application/problem+json") {
			e.t.Fatalf("malformed JSON: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		return resp.StatusCode == 500 && strings.Contains(string(data), "goroutine ") &&
			strings.Contains(string(data), "panic: ")
	}},
	{7, "a quote in search gives a PostgreSQL error", func(e *env) bool {
		resp, data := e.do("GET", "/api/v2/search?q=tea'", e.login(Alice), nil)
		return resp.StatusCode == 500 && strings.Contains(string(data), "pq: syntax error at or near")
	}},
	{7, "version banners", func(e *env) bool {
		resp, _ := e.do("GET", "/health", "", nil)
		return resp.Header.Get("Server") == "apigate-demo/0.3.1" &&
			resp.Header.Get("X-Powered-By") == "Go/1.22"
	}},
	{8, "any origin reflected with credentials", func(e *env) bool {
		resp, _ := e.do("GET", "/api/me", e.login(Alice), nil, "Origin", "https://evil.example.invalid")
		reflected := resp.Header.Get("Access-Control-Allow-Origin") == "https://evil.example.invalid" &&
			resp.Header.Get("Access-Control-Allow-Credentials") == "true"
		vary := strings.Contains(strings.Join(resp.Header.Values("Vary"), ","), "Origin")
		if reflected == vary {
			e.t.Fatalf("reflected %v with Vary: Origin %v", reflected, vary)
		}
		if e.hardened {
			ok, _ := e.do("GET", "/api/me", e.login(Alice), nil, "Origin", trustedOrigin)
			if ok.Header.Get("Access-Control-Allow-Origin") != trustedOrigin {
				e.t.Fatalf("trusted origin not allowed: %v", ok.Header)
			}
		}
		return reflected
	}},
	{8, "null origin allowed by preflight", func(e *env) bool {
		resp, _ := e.do("OPTIONS", "/api/v2/orders", "", nil, "Origin", "null",
			"Access-Control-Request-Method", "DELETE")
		return resp.Header.Get("Access-Control-Allow-Origin") == "null"
	}},
	{9, "v1 undocumented", func(e *env) bool {
		_, data := e.do("GET", "/openapi.json", "", nil)
		var doc struct {
			Paths map[string]map[string]any `json:"paths"`
		}
		if err := json.Unmarshal(data, &doc); err != nil {
			e.t.Fatal(err)
		}
		v1, ok := doc.Paths["/api/v1/orders"]
		if ok && v1["get"].(map[string]any)["deprecated"] != true {
			e.t.Fatal("v1 documented but not deprecated")
		}
		return !ok
	}},
	{9, "deprecated operations send no Deprecation and Sunset", func(e *env) bool {
		tok := e.login(Alice)
		missing := 0
		for _, p := range []string{"/api/v2/orders/export", "/api/v1/orders"} {
			resp, _ := e.do("GET", p, tok, nil)
			dep, sun := resp.Header.Get("Deprecation"), resp.Header.Get("Sunset")
			if dep == "" || sun == "" {
				missing++
				continue
			}
			var secs int64
			if _, err := fmt.Sscanf(dep, "@%d", &secs); err != nil {
				e.t.Fatalf("Deprecation %q is not @<unix>", dep)
			}
			st, err := http.ParseTime(sun)
			if err != nil || !strings.HasSuffix(sun, " GMT") {
				e.t.Fatalf("Sunset %q is not an IMF-fixdate: %v", sun, err)
			}
			if !st.After(time.Unix(secs, 0)) || !st.After(time.Now()) {
				e.t.Fatalf("Sunset %s is not after Deprecation %s and now", sun, dep)
			}
			if !strings.Contains(resp.Header.Get("Link"), `rel="deprecation"`) {
				e.t.Fatalf("no deprecation link on %s", p)
			}
		}
		if missing == 1 {
			e.t.Fatal("one deprecated operation has the headers and the other not")
		}
		return missing == 2
	}},
	{10, "failed logins not logged", func(e *env) bool {
		since := time.Now()
		e.do("POST", LoginPath, "", map[string]string{"username": "alice", "password": "nope"},
			"X-Request-ID", "req-login-fail-1")
		text := logText(e, since)
		logged := strings.Contains(text, "authn_login_fail")
		if logged && !strings.Contains(text, "req-login-fail-1") {
			e.t.Fatalf("the failure is logged without the request id:\n%s", text)
		}
		return !logged && !strings.Contains(strings.ToLower(text), "fail")
	}},
	{10, "invalid tokens and refused objects not logged", func(e *env) bool {
		id := e.createOrder(e.login(Alice))
		bob := e.login(Bob)
		since := time.Now()
		e.do("GET", "/api/me", "not.a.token", nil)
		e.do("GET", "/api/v2/orders/"+id, bob, nil)
		text := logText(e, since)
		both := strings.Contains(text, "authn_token_invalid") && strings.Contains(text, "authz_fail")
		return !both
	}},
	{10, "secrets in the log", func(e *env) bool {
		tok := e.login(Alice)
		e.do("GET", "/api/me", tok, nil)
		e.do("POST", LoginPath, "", map[string]string{"username": "bob", "password": "Cnry-secret-Pw!"})
		text := e.s.Logs().Text()
		leaks := []bool{
			strings.Contains(text, Alice.Password), strings.Contains(text, tok),
			strings.Contains(text, "Cnry-secret-Pw!"),
		}
		if leaks[0] != leaks[1] || leaks[1] != leaks[2] {
			e.t.Fatalf("only some secrets leak: %v", leaks)
		}
		return leaks[0]
	}},
	{10, "CR/LF in a username forges a log line", func(e *env) bool {
		forged := "2026-01-01T00:00:00Z INFO user admin logged in"
		e.do("POST", LoginPath, "", map[string]string{"username": "mallory\r\n" + forged, "password": "x"})
		lines, _ := e.s.Logs().Logs(context.Background(), time.Time{})
		for _, l := range lines {
			if l.Text == forged {
				return true
			}
		}
		return false
	}},
	{11, "role stored by PATCH /api/me", func(e *env) bool {
		tok := e.login(Alice)
		resp, data := e.do("PATCH", "/api/me", tok, map[string]any{"role": "admin", "display_name": "Al"})
		if resp.StatusCode != http.StatusOK {
			e.t.Fatalf("PATCH /api/me with role: %d %s", resp.StatusCode, data)
		}
		_, data = e.do("GET", "/api/me", tok, nil)
		m := e.jsonOf(data)
		if m["display_name"] != "Al" {
			e.t.Fatalf("display_name not stored: %s", data)
		}
		return m["role"] == "admin"
	}},
	{11, "is_admin stored by PATCH /api/me", func(e *env) bool {
		tok := e.login(Alice)
		resp, data := e.do("PATCH", "/api/me", tok, map[string]any{"is_admin": true})
		if e.hardened && resp.StatusCode != http.StatusUnprocessableEntity {
			e.t.Fatalf("hardened PATCH with is_admin: %d %s, want 422", resp.StatusCode, data)
		}
		_, data = e.do("GET", "/api/me", tok, nil)
		return e.jsonOf(data)["is_admin"] == true
	}},
	{11, "owner_id, price and status stored by POST and PATCH orders", func(e *env) bool {
		tok := e.login(Alice)
		resp, data := e.do("POST", "/api/v2/orders", tok, map[string]any{
			"item": "green tea", "quantity": 1, "owner_id": 2, "price": 0.01, "status": "paid",
		})
		if resp.StatusCode != http.StatusCreated {
			e.t.Fatalf("POST with server-owned properties: %d %s", resp.StatusCode, data)
		}
		id := jsonNumber(e.jsonOf(data)["id"])
		e.do("PATCH", "/api/v2/orders/"+id, tok, map[string]any{"status": "shipped", "price": 0})
		_, data = e.do("GET", "/api/v2/orders/"+id, tok, nil)
		m := e.jsonOf(data)
		return m["status"] == "shipped" && m["price"] == 0.0
	}},
	{12, "no nosniff and no no-store on authenticated JSON", func(e *env) bool {
		resp, _ := e.do("GET", "/api/me", e.login(Alice), nil)
		return resp.Header.Get("X-Content-Type-Options") != "nosniff" &&
			resp.Header.Get("Cache-Control") != "no-store"
	}},
}

func TestFlaws(t *testing.T) {
	for _, fc := range flawChecks {
		for _, hardened := range []bool{false, true} {
			t.Run(fmt.Sprintf("%d %s/%s", fc.item, fc.name, modeName(hardened)), func(t *testing.T) {
				t.Parallel()
				e := newEnv(t, hardened)
				if got := fc.seen(e); got == hardened {
					t.Errorf("flaw seen = %v in %s mode", got, modeName(hardened))
				}
			})
		}
	}
}

// TestEveryItemHasAFlaw keeps the table honest: each of the 12 checklist items is planted.
func TestEveryItemHasAFlaw(t *testing.T) {
	seen := map[int]bool{}
	for _, fc := range flawChecks {
		seen[fc.item] = true
	}
	for i := 1; i <= 12; i++ {
		if !seen[i] {
			t.Errorf("checklist item %d has no flaw check", i)
		}
	}
}

// TestPublicCatalogueCORS: the catalogue allows any origin without credentials in both
// modes; a CORS probe must not report it.
func TestPublicCatalogueCORS(t *testing.T) {
	for _, hardened := range []bool{false, true} {
		e := newEnv(t, hardened)
		resp, _ := e.do("GET", "/api/v2/products", "", nil, "Origin", "https://evil.example.invalid")
		if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != "*" ||
			resp.Header.Get("Access-Control-Allow-Credentials") != "" {
			t.Errorf("%s: products %d ACAO %q ACAC %q", modeName(hardened), resp.StatusCode,
				resp.Header.Get("Access-Control-Allow-Origin"),
				resp.Header.Get("Access-Control-Allow-Credentials"))
		}
	}
}

// TestTamperedSignatureRefused is the JWT control: a token whose signature was changed is
// refused in both modes (the vulnerable mode checks signatures that are present).
func TestTamperedSignatureRefused(t *testing.T) {
	for _, hardened := range []bool{false, true} {
		e := newEnv(t, hardened)
		tok := e.login(Alice)
		if resp, _ := e.do("GET", "/api/me", tok, nil); resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: the real token gives %d", modeName(hardened), resp.StatusCode)
		}
		sig := []byte(tok[strings.LastIndex(tok, ".")+1:])
		sig[0] ^= 1
		flipped := tok[:strings.LastIndex(tok, ".")+1] + string(sig)
		if resp, _ := e.do("GET", "/api/me", flipped, nil); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s: tampered signature gives %d, want 401", modeName(hardened), resp.StatusCode)
		}
	}
}

// TestVulnerableLoginLimiterKeyedByXFF: the vulnerable login limiter exists (so a probe sees
// a 429) but counts per X-Forwarded-For value, so rotating it gets around the limit.
func TestVulnerableLoginLimiterKeyedByXFF(t *testing.T) {
	e := newEnv(t, false)
	attempt := func(xff string) int {
		resp, _ := e.do("POST", LoginPath, "", map[string]string{"username": "bob", "password": "x"},
			"X-Forwarded-For", xff)
		return resp.StatusCode
	}
	for i := 1; i <= loginQuota; i++ {
		if st := attempt("198.51.100.7"); st != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d, want 401", i, st)
		}
	}
	if st := attempt("198.51.100.7"); st != http.StatusTooManyRequests {
		t.Fatalf("attempt %d from the same X-Forwarded-For: %d, want 429", loginQuota+1, st)
	}
	if st := attempt("198.51.100.8"); st != http.StatusUnauthorized {
		t.Fatalf("attempt with a new X-Forwarded-For: %d, want 401 (the bypass)", st)
	}
}

func orderStatus(e *env, body any) int {
	resp, _ := e.do("POST", "/api/v2/orders", e.login(Alice), body)
	return resp.StatusCode
}

// claimsOf builds claims for c's seeded user, expiring after ttl (negative: already).
func claimsOf(e *env, c Credential, ttl time.Duration) claims {
	u, ok := e.s.app.store.userByName(c.Username)
	if !ok {
		e.t.Fatalf("no user %s", c.Username)
	}
	now := time.Now()
	return claims{Sub: fmt.Sprint(u.ID), Name: u.Username, Role: u.Role,
		Iat: now.Add(-2 * time.Hour).Unix(), Exp: now.Add(ttl).Unix()}
}

// forge encodes a token with any header and signature.
func forge(header map[string]any, c claims, sig string) string {
	h, _ := json.Marshal(header)
	p, _ := json.Marshal(c)
	return b64.EncodeToString(h) + "." + b64.EncodeToString(p) + "." + sig
}

func logText(e *env, since time.Time) string {
	lines, err := e.s.Logs().Logs(context.Background(), since)
	if err != nil {
		e.t.Fatal(err)
	}
	var sb strings.Builder
	for _, l := range lines {
		sb.WriteString(l.Text + "\n")
	}
	return sb.String()
}
