package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/apigate/apigate/internal/demo"
	"github.com/apigate/apigate/internal/finding"
)

func putFile(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// A config problem stops the run with exit 2 and one line naming the place, before a
// single request is sent.
func TestScanConfigErrorsExitBeforeScanning(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
	}))
	defer srv.Close()
	dir := t.TempDir()
	cases := []struct {
		config, want string
	}{
		{"target:\n  url: " + srv.URL + "\n  prot: 1\n", `c.yml:3:3: unknown key "prot" in target`},
		{"identities:\n  a:\n    token: ${APIGATE_TEST_UNSET_VAR}\n",
			"c.yml:3:12: identities.a.token: environment variable APIGATE_TEST_UNSET_VAR is not set"},
		{"suppress:\n  - rule: no-such-rule\n    reason: r\n", `c.yml:2:5: unknown rule "no-such-rule"`},
		{"baseline: missing.json\n", "baseline: open"},
		{"target:\n  openapi: nowhere.yaml\n", `openapi "nowhere.yaml": no such file`},
		{"allow-hosts: [169.254.169.254]\n", "c.yml:1:15: allow-hosts[0]: 169.254.169.254 is a " +
			"link-local (cloud metadata) address; those are never scanned"},
		{"identities:\n  a:\n    login:\n      path: /l\n      token: \"$.[[\"\n",
			"c.yml:5:14: identities.a.login.token: malformed JSON path: unclosed ["},
	}
	for _, c := range cases {
		cfg := putFile(t, dir, "c.yml", c.config)
		var stdout, stderr bytes.Buffer
		code := run([]string{"scan", "--url", srv.URL, "--config", cfg}, &stdout, &stderr)
		msg := stderr.String()
		if code != exitUsage || !strings.Contains(msg, c.want) || strings.Count(msg, "\n") != 1 {
			t.Errorf("config %q: exit %d, stderr %q; want 2 and %q", c.config, code, msg, c.want)
		}
	}
	if hits.Load() != 0 {
		t.Errorf("%d requests sent despite a config error", hits.Load())
	}
}

// startDemo starts a fresh demo API, so runs do not share its state.
func startDemo(t *testing.T) string {
	t.Helper()
	s, err := demo.Start(demo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s.BaseURL().String()
}

// Two users' credentials are the whole config when the document declares its login; the
// suppression and the baseline decide the exit code.
func TestScanWithConfigAgainstDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("three full scans")
	}
	dir := t.TempDir()
	t.Chdir("../..") // the repository root: the demo's routes and document are found there
	t.Setenv("APIGATE_TEST_BOB_PW", demo.Bob.Password)
	cfg := putFile(t, dir, ".apigate.yml", `
target:
  url: http://127.0.0.1:1
identities:
  alice: {username: alice, password: `+demo.Alice.Password+`}
  bob: {username: bob, password: "${APIGATE_TEST_BOB_PW}"}
fail-on: low
suppress:
  - rule: "*"
    path: /api/v1/*
    reason: the v1 API is retired next release
`)
	out := filepath.Join(dir, "report.json")
	scan := func(cmd string, extra ...string) (int, string) {
		var stdout, stderr bytes.Buffer
		args := append([]string{cmd, "--url", startDemo(t), "--config", cfg, "--max-requests", "3000"}, extra...)
		return run(args, &stdout, &stderr), stderr.String()
	}
	code, stderr := scan("scan", "--format", "json", "--output", out)
	if code != exitFindings {
		t.Fatalf("exit %d, want 1; stderr: %s", code, stderr)
	}
	var rep finding.Report
	data := mustRead(t, out)
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatal(err)
	}
	suppressed, active, inDoc := 0, 0, 0
	for _, f := range rep.Findings {
		if strings.HasPrefix(f.Path, "/api/v1/") {
			if f.Suppressed != "the v1 API is retired next release" {
				t.Errorf("%s %s not suppressed", f.Rule, f.Path)
			}
			suppressed++
		} else if f.Suppressed == "" {
			active++
		}
		switch {
		case f.Location == nil:
			t.Errorf("%s %s %s has no location", f.Rule, f.Method, f.Path)
		case f.Location.File == "internal/demo/openapi.yaml":
			inDoc++
		case f.Location.Kind == "route" && !strings.HasPrefix(f.Path, "/api/v1/"):
			// Only the retired v1 routes are missing from the served document.
			t.Errorf("%s %s %s anchored to source, not the document: %+v", f.Rule, f.Method, f.Path, f.Location)
		}
	}
	if inDoc == 0 {
		t.Error("no finding anchored to the committed OpenAPI document")
	}
	if suppressed == 0 || active == 0 {
		t.Errorf("suppressed %d active %d: the demo should give both", suppressed, active)
	}
	for _, secret := range []string{demo.Alice.Password, demo.Bob.Password} {
		if bytes.Contains(data, []byte(secret)) || strings.Contains(stderr, secret) {
			t.Errorf("a password appears in the output")
		}
	}

	// A baseline of this run makes the next one pass. The config may name the baseline
	// before it exists: 'apigate baseline' creates it.
	base := filepath.Join(dir, ".apigate-baseline.json")
	putFile(t, dir, ".apigate.yml", string(mustRead(t, cfg))+"baseline: .apigate-baseline.json\n")
	if code, stderr := scan("scan"); code != exitUsage || !strings.Contains(stderr, "record one with 'apigate baseline'") {
		t.Errorf("scan with a missing baseline: exit %d %s", code, stderr)
	}
	if code, stderr := scan("baseline", "--output", base); code != exitOK {
		t.Fatalf("baseline: exit %d: %s", code, stderr)
	}
	code, stderr = scan("scan", "--format", "json", "--output", out)
	var b struct {
		Findings []struct{ Fingerprint string } `json:"findings"`
	}
	if err := json.Unmarshal(mustRead(t, base), &b); err != nil || len(b.Findings) == 0 {
		t.Fatalf("baseline file: %v, %d findings", err, len(b.Findings))
	}
	inBase := map[string]bool{}
	for _, f := range b.Findings {
		inBase[f.Fingerprint] = true
	}
	var next finding.Report
	if err := json.Unmarshal(mustRead(t, out), &next); err != nil {
		t.Fatal(err)
	}
	// Probes may find a little more or less from run to run; what the baseline recorded
	// must no longer count, and only findings it lacks decide the exit code.
	newOnes := 0
	for _, f := range next.Findings {
		switch {
		case inBase[f.Fingerprint] && f.Suppressed == "":
			t.Errorf("%s %s %s is in the baseline but still counts", f.Rule, f.Method, f.Path)
		case !inBase[f.Fingerprint] && f.Suppressed == "":
			newOnes++
		}
	}
	if want := map[bool]int{true: exitFindings, false: exitOK}[newOnes > 0]; code != want {
		t.Errorf("with baseline: exit %d, want %d (%d new findings); stderr: %s", code, want, newOnes, stderr)
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A failed baseline run leaves no baseline behind, not even the empty one it seeded.
func TestBaselineFailedScanWritesNothing(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := srv.URL
	srv.Close() // nothing listens there now
	dir := t.TempDir()
	cfg := putFile(t, dir, ".apigate.yml", "baseline: b.json\n")
	var stdout, stderr bytes.Buffer
	code := run([]string{"baseline", "--url", addr, "--config", cfg, "--output",
		filepath.Join(dir, "b.json")}, &stdout, &stderr)
	if code != exitError {
		t.Fatalf("exit %d, want 3: %s", code, stderr.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "b.json")); err == nil {
		t.Error("a failed run left a baseline file")
	}
}

// A document served only to logged-in users is read as the first identity.
func TestDocumentBehindLogin(t *testing.T) {
	spec := `{"openapi":"3.0.3","info":{"title":"t","version":"1"},
	  "paths":{"/api/private-items":{"get":{"responses":{"200":{"description":"ok"}}}}}}`
	var docAsked atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok-docs-1" {
			w.WriteHeader(401)
			return
		}
		if r.URL.Path == "/openapi.json" {
			docAsked.Add(1)
			w.Write([]byte(spec))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`[]`))
	}))
	defer srv.Close()
	dir := t.TempDir()
	cfg := putFile(t, dir, "c.yml", "identities:\n  ci: {token: tok-docs-1}\nfail-on: none\n")
	out := filepath.Join(dir, "r.json")
	var stdout, stderr bytes.Buffer
	code := run([]string{"scan", "--url", srv.URL, "--config", cfg, "--format", "json", "--output", out},
		&stdout, &stderr)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	var rep finding.Report
	if err := json.Unmarshal(mustRead(t, out), &rep); err != nil {
		t.Fatal(err)
	}
	for _, n := range rep.Notes {
		if strings.Contains(n, "no OpenAPI document") {
			t.Errorf("the document behind the login was not read: %s", n)
		}
	}
	if docAsked.Load() == 0 {
		t.Error("the document was never fetched with the identity's token")
	}
	if bytes.Contains(mustRead(t, out), []byte("tok-docs-1")) {
		t.Error("the token appears in the report")
	}
}
