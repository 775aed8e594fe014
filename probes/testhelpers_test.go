package probes

import (
	"net/url"
	"testing"
	"time"

	"github.com/apigate/apigate/internal/httpx"
	"github.com/apigate/apigate/internal/target"
)

// testCanary is the Session.Canary of every test session.
const testCanary = "apgtest0c0ffee"

// newTestSession returns a Session aimed at base (an httptest server URL on loopback). tg may
// carry operations, identities, logs and options; its Base is set from base. The client
// allows only base's host and redacts the identities' secrets, as the real scanner does.
func newTestSession(t testing.TB, base string, tg *target.Target) *Session {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse test base %q: %v", base, err)
	}
	if tg == nil {
		tg = &target.Target{}
	}
	tg.Base = u
	red := httpx.NewRedactor()
	for _, sec := range tg.AllSecrets() {
		red.Add(sec, "SECRET")
	}
	c, err := httpx.New(httpx.Config{
		AllowedHosts: []string{u.Host},
		Timeout:      5 * time.Second,
		Redactor:     red,
	})
	if err != nil {
		t.Fatalf("new client: %v", err)
	}
	return &Session{Target: tg, Client: c.Scope("test"), Started: time.Now(), Canary: testCanary}
}
