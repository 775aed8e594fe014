package probes

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/apigate/apigate/internal/demo"
	"github.com/apigate/apigate/internal/finding"
	"github.com/apigate/apigate/internal/httpx"
	"github.com/apigate/apigate/internal/openapi"
	"github.com/apigate/apigate/internal/target"
)

// demoSession starts the built-in demo API and returns a Session on it as the scanner would
// build one: operations from its OpenAPI document, alice logged in, and for the hardened
// mode both the https and the redirecting http addresses.
func demoSession(t *testing.T, hardened bool) *Session {
	t.Helper()
	srv, err := demo.Start(demo.Options{Hardened: hardened})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	yamlDoc, _ := srv.OpenAPI()
	doc, err := openapi.Load(yamlDoc, "openapi.yaml", openapi.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tg := &target.Target{Base: srv.BaseURL(), Operations: doc.Operations}
	if hardened {
		tg.TLS = &target.TLSInfo{HTTPSBase: srv.HTTPSURL(), HTTPBase: srv.HTTPURL(),
			RootCAs: srv.RootCAs()}
	}
	c, err := httpx.New(httpx.Config{AllowedHosts: []string{"127.0.0.1"}, RootCAs: srv.RootCAs(),
		Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	body := `{"username":"` + demo.Alice.Username + `","password":"` + demo.Alice.Password + `"}`
	ex, err := c.Do(context.Background(), httpx.Request{Method: "POST",
		URL:    target.JoinURL(tg.Base, demo.LoginPath),
		Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(body)})
	if err != nil || ex.Status != 200 {
		t.Fatalf("login as alice: %v %d", err, ex.Status)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(ex.Body, &tok); err != nil || tok.AccessToken == "" {
		t.Fatalf("login answer %s: %v", ex.Body, err)
	}
	tg.Identities = []*target.Identity{bearer("alice", tok.AccessToken)}
	return &Session{Target: tg, Client: c, Started: time.Now(), Canary: testCanary}
}

// TestSurfaceProbesOnDemo runs the five request/response-surface probes against both demo
// modes: each must fail the vulnerable one with the planted flaw's rule, and pass the
// hardened one, whose traps (a public catalogue with `*`, problem+json errors, a same-host
// redirect) must not fire.
func TestSurfaceProbesOnDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the demo API twice")
	}
	want := map[finding.Check][]string{
		finding.CheckHTTPS:           {RuleHTTPSPlain.ID},
		finding.CheckInputValidation: {RuleInputServerError.ID, RuleInputAccepted.ID},
		finding.CheckSafeErrors: {RuleErrorsStackTrace.ID, RuleErrorsSQL.ID,
			RuleErrorsVersionHeader.ID},
		finding.CheckCORS:            {RuleCORSReflected.ID, RuleCORSNull.ID, RuleCORSVary.ID},
		finding.CheckSecurityHeaders: {RuleHeadersNosniff.ID, RuleHeadersCache.ID},
	}
	probes := []Probe{NewTransport(), NewInputValidation(), NewSafeErrors(), NewCORS(),
		NewSecurityHeaders()}

	vuln := demoSession(t, false)
	for _, p := range probes {
		v := p.Run(context.Background(), vuln)
		got := map[string]bool{}
		for _, f := range v.Findings {
			got[f.Rule] = true
		}
		for _, rule := range want[p.Check()] {
			if !got[rule] {
				t.Errorf("vulnerable demo, %s: no %s finding (%s: %s)", p.Check(), rule, v.Status, v.Reason)
			}
		}
	}

	hard := demoSession(t, true)
	for _, p := range probes {
		v := p.Run(context.Background(), hard)
		if v.Status != finding.StatusPass {
			var rules []string
			for _, f := range v.Findings {
				rules = append(rules, f.Rule+" "+f.Method+" "+f.Path)
			}
			t.Errorf("hardened demo, %s: %s (%s) %s", p.Check(), v.Status, v.Reason, strings.Join(rules, "; "))
		}
		if p.Check() == finding.CheckHTTPS && !strings.Contains(v.Reason, "redirects") {
			t.Errorf("hardened demo: the http->https redirect was not judged: %s", v.Reason)
		}
	}
}
