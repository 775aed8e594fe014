package probes

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/apigate/apigate/internal/finding"
	"github.com/apigate/apigate/internal/httpx"
	"github.com/apigate/apigate/internal/target"
)

func TestBypassVariants(t *testing.T) {
	vs := bypassVariants("/api/items?page=1", "cn")
	var got []string
	for _, v := range vs {
		got = append(got, v.name+" "+v.path)
	}
	want := []string{
		"X-Forwarded-For /api/items?page=1", "X-Real-IP /api/items?page=1",
		"X-Client-IP /api/items?page=1", "trailing slash /api/items/?page=1",
		"path case /api/Items?page=1", "dummy query parameter /api/items?page=1&apigate=cn",
	}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("variants:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if flipCase("/api/{id}") != "/Api/{id}" || flipCase("/1/2") != "/1/2" {
		t.Errorf("flipCase: %q %q", flipCase("/api/{id}"), flipCase("/1/2"))
	}
}

func TestShadowPath(t *testing.T) {
	for in, want := range map[string]string{
		"/api/v2/items": "/api/legacy/items", "/api/items": "/api/legacy/items",
		"/items": "/legacy/items", "/rest/x/y": "/rest/legacy/x/y",
	} {
		if got := shadowPath(in, "legacy"); got != want {
			t.Errorf("shadowPath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestObjectID(t *testing.T) {
	cases := []struct {
		body, location, want string
	}{
		{`{"id":1001,"item":"x"}`, "", "1001"},
		{`{"data":{"id":"a-b"}}`, "", "a-b"},
		{`{"uuid":"3f2c"}`, "", "3f2c"},
		{`{"ok":true}`, "/api/orders/77", "77"},
		{`[1,2]`, "", ""},
	}
	for _, c := range cases {
		ex := &httpx.Exchange{Body: []byte(c.body), Header: http.Header{}}
		if c.location != "" {
			ex.Header.Set("Location", c.location)
		}
		if got := objectID(ex); got != c.want {
			t.Errorf("objectID(%s) = %q, want %q", c.body, got, c.want)
		}
	}
}

func TestFindCreateReadAndLogin(t *testing.T) {
	body := &target.Schema{Type: "object", Properties: map[string]*target.Schema{
		"username": {Type: "string"}, "password": {Type: "string"}}}
	s := &Session{Canary: "cn", Target: &target.Target{Operations: []*target.Operation{
		{Method: "POST", Path: "/api/signup", RequestBody: body},
		{Method: "POST", Path: "/api/auth/login", RequestBody: body},
		{Method: "POST", Path: "/api/orders", RequestBody: &target.Schema{Type: "object"}},
		{Method: "GET", Path: "/api/orders/{id}"},
		{Method: "GET", Path: "/api/orders/{id}/items/{n}"},
	}}}
	c, r := findCreateRead(s)
	if c == nil || c.Path != "/api/orders" || r.Path != "/api/orders/{id}" {
		t.Fatalf("create/read: %v %v", c, r)
	}
	l := findLogin(s, false)
	if l == nil || l.Path != "/api/auth/login" || l.User != "cn-user@example.invalid" {
		t.Fatalf("login from the description: %+v", l)
	}
	b := l.Body("wrong")
	if b["password"] != "wrong" || b["username"] != "cn-user@example.invalid" {
		t.Errorf("login body %v", b)
	}
	if w := l.WithUser("x\r\ny").Body("p"); w["username"] != "x\r\ny" || l.Body("p")["username"] == "x\r\ny" {
		t.Errorf("WithUser changed the original or not the copy: %v", w)
	}
	// Identities win over the description, the last one when asked.
	a, bob := opsIdentity("alice", true), opsIdentity("bob", true)
	s.Target.Identities = []*target.Identity{a, bob}
	if l := findLogin(s, false); l.Identity != a || l.User != "alice" {
		t.Errorf("first identity: %+v", l)
	}
	if l := findLogin(s, true); l.Identity != bob {
		t.Errorf("last identity: %+v", l)
	}
	if got := findLogin(s, false).Body("w"); got["password"] != "w" || got["username"] != "alice" {
		t.Errorf("identity login body %v", got)
	}
}

// A target that hangs must cost a few timeouts, not one per planned request.
func TestOpsProbesStopOnHangingTarget(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	for _, p := range []Probe{NewRateLimit(), NewVersioning(), NewLogging()} {
		tg := &target.Target{Identities: []*target.Identity{opsIdentity("alice", true)},
			Operations: []*target.Operation{{Method: "GET", Path: "/api/v2/items"},
				{Method: "GET", Path: "/api/old", Deprecated: true}},
			Logs: &memLogs{}}
		s := newTestSession(t, srv.URL, tg)
		s.Client = shortTimeoutClient(t, srv.URL)
		start := time.Now()
		v := p.Run(context.Background(), s)
		if v.Status == finding.StatusPass || v.Status == finding.StatusFail {
			t.Errorf("%s: %s on a hanging target: %s", p.Check(), v.Status, v.Reason)
		}
		if n := s.Client.Stats().Requests.Load(); n > 12 {
			t.Errorf("%s sent %d requests to a hanging target", p.Check(), n)
		}
		t.Logf("%s: %s in %s: %s", p.Check(), v.Status, time.Since(start).Round(time.Millisecond), v.Reason)
	}
}

func shortTimeoutClient(t *testing.T, base string) *httpx.Client {
	u, _ := url.Parse(base)
	c, err := httpx.New(httpx.Config{AllowedHosts: []string{u.Host}, Timeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return c.Scope("hang")
}

func TestSensitiveNameAndSameResource(t *testing.T) {
	for name, want := range map[string]bool{
		"password_hash": true, "passwordHash": true, "accessToken": true, "api-key": true,
		"commit_hash": false, "next_page_token": false, "name": false, "tokens_used": false,
	} {
		if sensitiveName(name) != want {
			t.Errorf("sensitiveName(%q) != %v", name, want)
		}
	}
	if !sameResource([]byte(`{"a":1,"b":[2]}`), []byte(`{"b":[],"a":9}`)) ||
		sameResource([]byte(`{"a":1}`), []byte(`<html>shell</html>`)) ||
		!sameResource([]byte(`[1]`), []byte(`[]`)) {
		t.Error("sameResource")
	}
}
