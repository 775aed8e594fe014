package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apigate/apigate/internal/hostile"
	"github.com/apigate/apigate/internal/target"
)

// TestNoSecretInCLIOutputs scans a target that echoes every credential, as an identity with
// a static token and a login password, writing every report format and a verbose log, and
// looks for the canaries in raw, URL-encoded and base64 form in all of it.
func TestNoSecretInCLIOutputs(t *testing.T) {
	const token, password = "eyJcanary.TOKEN+value/42==", "canary pass&word=1"
	srv := hostile.Start(t, hostile.Echo())
	base, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	alice := target.NewIdentity("alice", target.Credentials{
		Headers: http.Header{"Authorization": {"Bearer " + token}},
		Token:   token,
		Secrets: []string{password},
	}, nil)
	alice.Login = &target.LoginInfo{Method: "POST", Path: "/api/login",
		Body:          map[string]any{"username": "alice", "password": password},
		PasswordField: "password", UsernameField: "username"}
	bob := target.NewIdentity("bob", target.Credentials{
		Headers: http.Header{"X-Api-Key": {token + "-bob"}}, Secrets: []string{token + "-bob"},
	}, nil)
	tg := &target.Target{Base: base, Identities: []*target.Identity{alice, bob},
		Operations: []*target.Operation{
			{Method: "GET", Path: "/api/me", Security: target.SecurityRequired},
			{Method: "POST", Path: "/api/login", Security: target.SecurityNone},
			{Method: "GET", Path: "/error", Security: target.SecurityRequired},
			{Method: "DELETE", Path: "/api/items/{id}", Security: target.SecurityRequired},
		}}

	dir := t.TempDir()
	o := scanOptions{FailOn: "none", Format: "text", Timeout: time.Minute,
		ReqTimeout: 2 * time.Second, Budget: 2000, Verbose: true,
		JSONFile: filepath.Join(dir, "r.json"), SARIFFile: filepath.Join(dir, "r.sarif"),
		MDFile: filepath.Join(dir, "r.md")}
	var stdout, stderr bytes.Buffer
	code, err := executeScan(context.Background(), tg, o, newLogger(&stderr, true), &stdout)
	if code != exitOK {
		t.Fatalf("exit %d: %v\n%s", code, err, stderr.String())
	}
	outputs := map[string]string{"stdout": stdout.String(), "stderr (-v)": stderr.String()}
	for _, f := range []string{o.JSONFile, o.SARIFFile, o.MDFile} {
		if f == "" {
			continue
		}
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		outputs[filepath.Base(f)] = string(raw)
	}
	if srv.Requests() < 2 {
		t.Fatalf("the target saw %d requests; the scan did not run", srv.Requests())
	}
	for name, out := range outputs {
		for _, s := range []string{token, password, token + "-bob"} {
			for _, form := range []string{s, url.QueryEscape(s), url.PathEscape(s),
				base64.StdEncoding.EncodeToString([]byte(s)),
				base64.RawURLEncoding.EncodeToString([]byte(s))} {
				if strings.Contains(out, form) {
					t.Errorf("%s leaks a secret as %q", name, form)
				}
			}
		}
	}
	t.Logf("%d requests, outputs checked: %d", srv.Requests(), len(outputs))
}

// secretForms are the shapes a secret can take in output: raw, URL-encoded, base64.
func secretForms(s string) []string {
	return []string{s, url.QueryEscape(s), url.PathEscape(s),
		base64.StdEncoding.EncodeToString([]byte(s)),
		base64.RawURLEncoding.EncodeToString([]byte(s))}
}

// canarySpec is the echo target's API: a login, protected reads and deletes, an error page.
const canarySpec = `openapi: 3.0.3
info: {title: echo, version: "1"}
components:
  securitySchemes:
    bearer: {type: http, scheme: bearer}
security: [{bearer: []}]
paths:
  /api/login:
    post:
      security: []
      requestBody:
        content:
          application/json:
            schema:
              type: object
              properties: {username: {type: string}, password: {type: string}}
      responses: {"200": {description: ok}}
  /api/me:
    get: {responses: {"200": {description: ok}}}
  /api/items/{id}:
    parameters: [{name: id, in: path, required: true, schema: {type: integer}}]
    get: {responses: {"200": {description: ok}}}
    delete: {responses: {"204": {description: gone}}}
  /error:
    get: {responses: {"200": {description: ok}}}
`

// TestNoSecretInAnyOutputFromConfig runs the real CLI with a config whose identities take
// their secrets from the environment: a login password (and the token the login earns), a
// static token, HTTP basic credentials and an API key header. The target echoes all of it.
// Every output - stdout, stderr with -v, JSON, SARIF, Markdown - is searched for every
// secret in raw, URL-encoded and base64 form, and for basic credentials as sent.
func TestNoSecretInAnyOutputFromConfig(t *testing.T) {
	const (
		password = "canary-Passw0rd&x=1"
		token    = "canary.static+TOKEN/value"
		basicPW  = "canary basic pw!"
		apiKey   = "canary-api-key-7f3e"
	)
	t.Setenv("APIGATE_CANARY_PW", password)
	t.Setenv("APIGATE_CANARY_TOKEN", token)
	t.Setenv("APIGATE_CANARY_BASIC", basicPW)
	t.Setenv("APIGATE_CANARY_KEY", apiKey)
	srv := hostile.Start(t, hostile.Echo())
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "openapi.yaml"), []byte(canarySpec), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, ".apigate.yml")
	err := os.WriteFile(cfg, []byte(`target:
  url: `+srv.URL+`
  openapi: openapi.yaml
identities:
  alice:
    login: {method: POST, path: /api/login, token: $.token,
            body: {username: alice, password: "${APIGATE_CANARY_PW}"}}
  bob:
    token: "${APIGATE_CANARY_TOKEN}"
  carol:
    basic: {username: carol, password: "${APIGATE_CANARY_BASIC}"}
  dave:
    header: {name: X-Api-Key, value: "${APIGATE_CANARY_KEY}"}
`), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{"json": filepath.Join(dir, "r.json"),
		"sarif": filepath.Join(dir, "r.sarif"), "markdown": filepath.Join(dir, "r.md")}
	code, stdout, stderr, _ := runCLI(t, "scan", "--config", cfg, "-v", "--fail-on", "none",
		"--json", files["json"], "--sarif", files["sarif"], "--markdown", files["markdown"],
		"--request-timeout", "3s")
	if code != exitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	outputs := map[string]string{"stdout": stdout, "stderr (-v)": stderr}
	for name, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		outputs[name] = string(raw)
	}
	if srv.Requests() < 20 {
		t.Fatalf("the target saw %d requests; the scan did not exercise the identities", srv.Requests())
	}
	secrets := []string{password, token, basicPW, apiKey, hostile.EchoToken(password)}
	var forms []string
	for _, s := range secrets {
		forms = append(forms, secretForms(s)...)
	}
	// Basic credentials travel as base64("user:password").
	forms = append(forms, base64.StdEncoding.EncodeToString([]byte("carol:"+basicPW)))
	for name, out := range outputs {
		for _, form := range forms {
			if strings.Contains(out, form) {
				t.Errorf("%s leaks a secret as %q", name, form)
			}
		}
	}
	// The echoes must have reached the reports, redacted, or this test proves nothing.
	if !strings.Contains(outputs["json"], "[redacted:") || !strings.Contains(outputs["json"], `"${`) {
		t.Errorf("the JSON report shows no redaction mark and no ${LABEL} in a curl line")
	}
	t.Logf("%d requests; %d outputs searched for %d forms", srv.Requests(), len(outputs), len(forms))
}
