package target

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"sync"
	"testing"
)

func TestMatchPath(t *testing.T) {
	tests := []struct {
		pattern, path string
		want          bool
	}{
		{"/health", "/health", true},
		{"/health", "/health/", true},
		{"/health", "/healthz", false},
		{"/api/orders/{id}", "/api/orders/42", true},
		{"/api/orders/{id}", "/api/orders/42/items", false},
		{"/api/orders/:id", "/api/orders/42", true},
		{"/api/orders/<id>", "/api/orders/42", true},
		{"/api/orders/{id}", "/api/orders/{orderId}", true},
		{"/api/orders/{id}", "/api/users/42", false},
		{"/public/*", "/public/catalogue/7", true},
		{"/public/*", "/public", true},
		{"/public/*", "/private/x", false},
		{"/api/*", "/api/v1/users?page=2", true},
		{"/search", "/search?q=x", true},
		{"/", "/", true},
		{"/", "/x", false},
	}
	for _, tt := range tests {
		if got := MatchPath(tt.pattern, tt.path); got != tt.want {
			t.Errorf("MatchPath(%q, %q) = %v, want %v", tt.pattern, tt.path, got, tt.want)
		}
	}
}

func TestIsPublic(t *testing.T) {
	tg := &Target{Public: []string{"/health", "/catalogue/*"}}
	tests := []struct {
		op   Operation
		want bool
	}{
		{Operation{Path: "/health"}, true},
		{Operation{Path: "/catalogue/{id}"}, true},
		{Operation{Path: "/orders", Security: SecurityNone}, true},
		{Operation{Path: "/orders", Security: SecurityRequired}, false},
		{Operation{Path: "/orders"}, false},
	}
	for _, tt := range tests {
		if got := tg.IsPublic(&tt.op); got != tt.want {
			t.Errorf("IsPublic(%s, security %d) = %v, want %v", tt.op.Path, tt.op.Security, got, tt.want)
		}
	}
}

func TestJoinURL(t *testing.T) {
	tests := []struct{ base, path, want string }{
		{"http://127.0.0.1:8080", "/api/me", "http://127.0.0.1:8080/api/me"},
		{"http://127.0.0.1:8080/", "/api/me", "http://127.0.0.1:8080/api/me"},
		{"http://api:8080/prefix", "api/me?x=1", "http://api:8080/prefix/api/me?x=1"},
		{"http://127.0.0.1:8080", "", "http://127.0.0.1:8080/"},
	}
	for _, tt := range tests {
		u, err := url.Parse(tt.base)
		if err != nil {
			t.Fatal(err)
		}
		if got := JoinURL(u, tt.path); got != tt.want {
			t.Errorf("JoinURL(%q, %q) = %q, want %q", tt.base, tt.path, got, tt.want)
		}
	}
}

func TestIdentityApplyReplacesHeaders(t *testing.T) {
	id := NewIdentity("alice", Credentials{
		Headers: http.Header{"Authorization": {"Bearer one"}},
		Cookies: []*http.Cookie{{Name: "session", Value: "s1"}},
		Token:   "one",
	}, nil)
	req, _ := http.NewRequest("GET", "http://127.0.0.1/", nil)
	req.Header.Set("Authorization", "Bearer stale")
	id.Apply(req)

	if got := req.Header.Values("Authorization"); len(got) != 1 || got[0] != "Bearer one" {
		t.Errorf("Authorization = %q, want exactly [Bearer one]", got)
	}
	if c, err := req.Cookie("session"); err != nil || c.Value != "s1" {
		t.Errorf("session cookie = %v, %v; want s1", c, err)
	}
	if id.Token() != "one" {
		t.Errorf("Token() = %q, want one", id.Token())
	}
}

func TestIdentityRefresh(t *testing.T) {
	static := NewIdentity("static", Credentials{Token: "tok-static"}, nil)
	if ok, err := static.Refresh(context.Background()); ok || err != nil {
		t.Errorf("static identity Refresh = %v, %v; want false, nil", ok, err)
	}

	n := 0
	id := NewIdentity("bob", Credentials{Token: "tok-1"}, func(context.Context) (Credentials, error) {
		n++
		if n == 2 {
			return Credentials{}, errors.New("login refused")
		}
		return Credentials{
			Headers: http.Header{"Authorization": {"Bearer tok-2"}},
			Token:   "tok-2",
			Secrets: []string{"bob-password"},
		}, nil
	})
	ok, err := id.Refresh(context.Background())
	if !ok || err != nil {
		t.Fatalf("Refresh = %v, %v; want true, nil", ok, err)
	}
	if id.Token() != "tok-2" {
		t.Errorf("Token after refresh = %q, want tok-2", id.Token())
	}
	tg := &Target{Identities: []*Identity{id}}
	secrets := map[string]bool{}
	for _, s := range tg.AllSecrets() {
		secrets[s] = true
	}
	for _, want := range []string{"tok-1", "tok-2", "bob-password"} {
		if !secrets[want] {
			t.Errorf("AllSecrets lacks %q: an old token must stay redacted after a refresh", want)
		}
	}
	if ok, err := id.Refresh(context.Background()); ok || err == nil {
		t.Errorf("failed login Refresh = %v, %v; want false and the error", ok, err)
	}
	if id.Token() != "tok-2" {
		t.Errorf("a failed refresh changed the token to %q", id.Token())
	}
}

// Probes apply identities from many goroutines while a refresh may replace them.
func TestIdentityConcurrentUse(t *testing.T) {
	id := NewIdentity("alice", Credentials{Token: "a"}, func(context.Context) (Credentials, error) {
		return Credentials{Headers: http.Header{"Authorization": {"Bearer b"}}, Token: "b"}, nil
	})
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest("GET", "http://127.0.0.1/", nil)
			id.Apply(req)
			_ = id.HeaderNames()
		}()
		go func() {
			defer wg.Done()
			_, _ = id.Refresh(context.Background())
		}()
	}
	wg.Wait()
	if id.Token() != "b" {
		t.Errorf("Token = %q, want b", id.Token())
	}
}
