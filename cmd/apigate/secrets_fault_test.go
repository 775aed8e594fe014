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

	"github.com/apigate/apigate/internal/finding"
	"github.com/apigate/apigate/internal/hostile"
	"github.com/apigate/apigate/internal/report"
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
		JSONFile: filepath.Join(dir, "r.json")}
	// Formats still being written are checked once they render a report.
	empty := &finding.Report{Findings: []finding.Finding{}}
	if report.Write(&bytes.Buffer{}, "sarif", empty, report.Options{}) == nil {
		o.SARIFFile = filepath.Join(dir, "r.sarif")
	}
	if report.Write(&bytes.Buffer{}, "markdown", empty, report.Options{}) == nil {
		o.MDFile = filepath.Join(dir, "r.md")
	}
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
