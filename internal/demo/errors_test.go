package demo

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestHardenedErrorsAreProblems: every refusal of the hardened mode is an RFC 9457 problem
// with the right status, and says nothing about the implementation.
func TestHardenedErrorsAreProblems(t *testing.T) {
	e := newEnv(t, true)
	tok := e.login(Alice)
	cases := []struct {
		name, method, path, token string
		body                      any
		hdr                       []string
		status                    int
	}{
		{"unknown path", "GET", "/nope", "", nil, nil, 404},
		{"wrong method", "POST", "/api/me", tok, map[string]any{}, nil, 405},
		{"no token", "GET", "/api/v2/orders", "", nil, nil, 401},
		{"wrong content type", "POST", "/api/v2/orders", tok, "item=tea",
			[]string{"Content-Type", "application/x-www-form-urlencoded"}, 415},
		{"too large", "POST", "/api/v2/orders", tok,
			`{"item":"tea","quantity":1,"note":"` + strings.Repeat("x", maxBody) + `"}`, nil, 413},
		{"not JSON", "POST", "/api/v2/orders", tok, `{"item":`, nil, 400},
		{"unknown property", "POST", "/api/v2/orders", tok,
			map[string]any{"item": "tea", "quantity": 1, "coupon": "FREE"}, nil, 422},
		{"missing quantity", "POST", "/api/v2/orders", tok, map[string]any{"item": "tea"}, nil, 422},
		{"quoted integer", "PATCH", "/api/v2/orders/1002", tok, `{"quantity":"5"}`, nil, 422},
		{"search without q", "GET", "/api/v2/search", tok, nil, nil, 422},
		{"other user's order", "GET", "/api/v2/orders/1003", tok, nil, nil, 404},
		{"bad signup e-mail", "POST", "/api/signup", "",
			map[string]any{"username": "carol", "password": "carol-pass-3", "email": "no"}, nil, 422},
	}
	for _, c := range cases {
		resp, data := e.do(c.method, c.path, c.token, c.body, c.hdr...)
		if resp.StatusCode != c.status {
			t.Errorf("%s: %d, want %d: %s", c.name, resp.StatusCode, c.status, data)
			continue
		}
		if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
			t.Errorf("%s: Content-Type %q", c.name, ct)
		}
		var p map[string]any
		if err := json.Unmarshal(data, &p); err != nil || p["status"] != float64(c.status) ||
			p["title"] == "" {
			t.Errorf("%s: not a problem document: %s", c.name, data)
		}
		if strings.Contains(string(data), "goroutine") || strings.Contains(string(data), ".go:") {
			t.Errorf("%s: implementation detail in %s", c.name, data)
		}
	}
	resp, _ := e.do("POST", "/api/me", tok, map[string]any{})
	if allow := resp.Header.Get("Allow"); allow != "GET, PATCH, HEAD" {
		t.Errorf("405 Allow %q", allow)
	}
}

func TestSignupGivesAWorkingAccount(t *testing.T) {
	for _, hardened := range []bool{false, true} {
		e := newEnv(t, hardened)
		c := Credential{Username: "carol", Password: "carol-pass-3"}
		resp, data := e.do("POST", "/api/signup", "", map[string]string{
			"username": c.Username, "password": c.Password, "email": "carol@example.invalid",
		})
		if resp.StatusCode != http.StatusCreated || e.jsonOf(data)["role"] != "user" {
			t.Fatalf("%s: signup %d %s", modeName(hardened), resp.StatusCode, data)
		}
		if again, _ := e.do("POST", "/api/signup", "", map[string]string{
			"username": c.Username, "password": c.Password, "email": "carol@example.invalid",
		}); again.StatusCode != http.StatusConflict {
			t.Errorf("%s: second signup %d, want 409", modeName(hardened), again.StatusCode)
		}
		e.login(c)
	}
}

func TestSunsetIsAheadAndAfterDeprecation(t *testing.T) {
	for _, now := range []time.Time{
		time.Date(2026, 12, 4, 16, 0, 0, 0, time.UTC),
		time.Date(2031, 7, 31, 23, 59, 0, 0, time.UTC),
	} {
		s := sunsetDate(now)
		if !s.After(now.Add(150*24*time.Hour)) || !s.After(deprecatedSince) || s.Day() != 1 {
			t.Errorf("sunset %s for now %s", s, now)
		}
	}
}
