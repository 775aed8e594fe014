package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apigate/apigate/internal/finding"
	"github.com/apigate/apigate/internal/hostile"
)

// runCLI runs the CLI in-process and returns its exit code, stdout, stderr and duration.
func runCLI(t *testing.T, args ...string) (int, string, string, time.Duration) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	start := time.Now()
	code := run(args, &stdout, &stderr)
	return code, stdout.String(), stderr.String(), time.Since(start)
}

// parseReport reads a JSON report, failing the test if it is not one.
func parseReport(t *testing.T, raw string) *finding.Report {
	t.Helper()
	var rep finding.Report
	if err := json.Unmarshal([]byte(raw), &rep); err != nil {
		t.Fatalf("output is not a JSON report: %v\n%s", err, raw)
	}
	return &rep
}

// assertNoUnearnedPass fails when a check passes although the scan could not have proven
// it, or when a probe crashed on what the target sent.
func assertNoUnearnedPass(t *testing.T, rep *finding.Report, allowPass ...finding.Check) {
	t.Helper()
	for _, cr := range rep.Checks {
		if cr.Status == finding.StatusPass && !slices.Contains(allowPass, cr.Check) {
			t.Errorf("%s passes against a target that could not prove it: %s", cr.Check, cr.Reason)
		}
		if strings.Contains(cr.Reason, "crashed") {
			t.Errorf("%s: %s", cr.Check, cr.Reason)
		}
	}
}

// oneLine checks stderr is a single "apigate: ..." line containing want.
func oneLine(t *testing.T, stderr, want string) {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "apigate: ") {
		t.Errorf("stderr is not one 'apigate: ...' line:\n%s", stderr)
	}
	if !strings.Contains(stderr, want) {
		t.Errorf("stderr %q does not say %q", strings.TrimSpace(stderr), want)
	}
}

// TestUnanswerableTargets: targets that never give a usable HTTP answer fail the scan with
// exit 3, a one-line reason, promptly, and with no check reported as passing.
func TestUnanswerableTargets(t *testing.T) {
	self, expired := hostile.SelfSigned(t), hostile.Expired(t)
	dir := t.TempDir()
	selfPEM := filepath.Join(dir, "self.pem")
	expiredPEM := filepath.Join(dir, "expired.pem")
	if err := os.WriteFile(selfPEM, self.PEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(expiredPEM, expired.PEM, 0o600); err != nil {
		t.Fatal(err)
	}
	closed, _ := hostile.Listen(t) // accepts and closes at once
	cases := []struct {
		name  string
		url   func(t *testing.T) string
		extra []string
		want  string
	}{
		{"connection closed at once", func(*testing.T) string { return "http://" + closed }, nil,
			"no HTTP answer from"},
		{"never answers", func(t *testing.T) string {
			var srv *hostile.Server
			mux := http.NewServeMux()
			srv = hostile.Start(t, mux)
			mux.Handle("/", hostile.Hang(srv))
			return srv.URL
		}, nil, "no complete answer within the 500ms request timeout"},
		{"one byte per 200ms", func(t *testing.T) string {
			return hostile.Start(t, hostile.Trickle(200*time.Millisecond)).URL
		}, nil, "no complete answer within the 500ms request timeout"},
		{"connection reset", func(t *testing.T) string { return hostile.Start(t, hostile.Reset()).URL },
			nil, "reset"},
		{"400 KB of headers", func(t *testing.T) string {
			return hostile.Start(t, hostile.HugeHeaders(400<<10)).URL
		}, nil, "header"},
		{"self-signed certificate", func(t *testing.T) string {
			return hostile.StartTLS(t, hostile.Plain(), self.TLS).URL
		}, nil, "certificate"},
		{"expired certificate, CA trusted", func(t *testing.T) string {
			return hostile.StartTLS(t, hostile.Plain(), expired.TLS).URL
		}, []string{"--ca-cert", expiredPEM}, "expired"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"scan", "--url", tc.url(t), "--format", "json",
				"--request-timeout", "500ms"}, tc.extra...)
			code, stdout, stderr, took := runCLI(t, args...)
			if code != exitError {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, exitError, stderr)
			}
			if took > 10*time.Second {
				t.Errorf("took %s", took)
			}
			oneLine(t, stderr, tc.want)
			if stdout != "" {
				assertNoUnearnedPass(t, parseReport(t, stdout))
			}
		})
	}

	t.Run("self-signed certificate, CA trusted", func(t *testing.T) {
		srv := hostile.StartTLS(t, hostile.Plain(), self.TLS)
		code, _, stderr, _ := runCLI(t, "scan", "--url", srv.URL, "--ca-cert", selfPEM,
			"--format", "json", "--request-timeout", "2s")
		if code == exitError || code == exitUsage {
			t.Errorf("exit %d with the CA trusted; stderr:\n%s", code, stderr)
		}
	})
}

// TestGarbageAnswers: targets that answer, but with garbage, are scanned to the end in
// bounded time; nothing crashes, nothing follows a redirect, and the verdict is a real one.
func TestGarbageAnswers(t *testing.T) {
	other, connections := hostile.Listen(t)
	cases := map[string]http.Handler{
		"50 MB body":           hostile.Huge(50 << 20),
		"2 GiB gzip bomb":      hostile.GzipBomb(2 << 30),
		"endless chunked":      hostile.Endless(),
		"invalid JSON":         hostile.Body(200, "application/json", hostile.BadJSON),
		"invalid UTF-8":        hostile.Body(200, "application/json", hostile.BadUTF8),
		"500 with bad UTF-8":   hostile.Body(500, "text/html", hostile.BadUTF8),
		"every body cut short": hostile.CutBody(100000, 5000),
		"redirect loop":        hostile.RedirectLoop(),
		"redirect other host":  hostile.RedirectTo(http.StatusFound, "http://"+other+"/"),
		"redirect to metadata": hostile.RedirectTo(http.StatusTemporaryRedirect,
			"http://169.254.169.254/latest/meta-data/"),
	}
	for name, h := range cases {
		t.Run(name, func(t *testing.T) {
			srv := hostile.Start(t, h)
			code, stdout, stderr, took := runCLI(t, "scan", "--url", srv.URL, "--format", "json",
				"--request-timeout", "2s", "--fail-on", "none")
			if took > 60*time.Second {
				t.Errorf("took %s", took)
			}
			rep := parseReport(t, stdout)
			assertHonestExit(t, code, rep, stderr)
			t.Logf("exit %d: %s", code, summary(rep))
			for _, cr := range rep.Checks {
				if strings.Contains(cr.Reason, "crashed") {
					t.Errorf("%s: %s", cr.Check, cr.Reason)
				}
			}
		})
	}
	if n := connections(); n != 0 {
		t.Errorf("the host a redirect pointed to received %d connections, want 0", n)
	}
}

// TestTargetDiesMidScanCLI measures a clean scan's traffic, then kills the target halfway
// through the same scan: exit 3, the unfinished checks named, none reported as passing.
func TestTargetDiesMidScanCLI(t *testing.T) {
	clean := hostile.Start(t, hostile.Plain())
	if code, _, stderr, _ := runCLI(t, "scan", "--url", clean.URL, "--format", "json",
		"--fail-on", "none"); code != exitOK {
		t.Fatalf("clean scan: exit %d\n%s", code, stderr)
	}
	half := max(clean.Requests()/2, 1)

	mux := http.NewServeMux()
	srv := hostile.Start(t, mux)
	mux.Handle("/", srv.KillAfter(half, hostile.Plain()))
	code, stdout, stderr, took := runCLI(t, "scan", "--url", srv.URL, "--format", "json",
		"--request-timeout", "2s")
	if code != exitError {
		t.Errorf("exit %d, want 3 for a target that died; stderr:\n%s", code, stderr)
	}
	if took > 30*time.Second {
		t.Errorf("took %s", took)
	}
	oneLine(t, stderr, "target stopped answering during the scan")
	rep := parseReport(t, stdout)
	assertNoUnearnedPass(t, rep)
	if len(rep.Notes) == 0 || !strings.HasPrefix(rep.Notes[0], "SCAN FAILED") {
		t.Errorf("the report of a failed scan does not say so first: %q", rep.Notes)
	}
	for _, cr := range rep.Checks {
		if cr.Status == finding.StatusInconclusive && !strings.Contains(stderr, string(cr.Check)) {
			t.Errorf("inconclusive check %s is not named in the error", cr.Check)
		}
	}
	t.Logf("killed after %d of a clean scan's %d requests; %s", half, clean.Requests(), strings.TrimSpace(stderr))
}

// assertHonestExit: a green exit needs at least one check with a verdict; a scan that
// verified nothing exits 3 and says so.
func assertHonestExit(t *testing.T, code int, rep *finding.Report, stderr string) {
	t.Helper()
	verified := 0
	for _, cr := range rep.Checks {
		if cr.Status == finding.StatusPass || cr.Status == finding.StatusFail {
			verified++
		}
	}
	switch {
	case verified == 0 && code != exitError:
		t.Errorf("exit %d although no check reached a verdict", code)
	case verified == 0:
		oneLine(t, stderr, "nothing could be verified")
		if len(rep.Notes) == 0 || !strings.HasPrefix(rep.Notes[0], "SCAN FAILED") {
			t.Errorf("the report of a failed scan does not say so first: %q", rep.Notes)
		}
	case code != exitOK && code != exitFindings:
		t.Errorf("exit %d; stderr:\n%s", code, stderr)
	}
}

// TestRateLimitedTargetCLI: after ten requests everything is 429. No check but rate
// limiting may pass, and no finding may be about anything but rate limiting.
func TestRateLimitedTargetCLI(t *testing.T) {
	srv := hostile.Start(t, hostile.RateLimitAfter(10, hostile.Plain()))
	code, stdout, stderr, _ := runCLI(t, "scan", "--url", srv.URL, "--format", "json",
		"--request-timeout", "2s", "--fail-on", "none")
	rep := parseReport(t, stdout)
	assertHonestExit(t, code, rep, stderr)
	// Only ten requests get a real answer, one of them the liveness check's: checks that
	// pass must fit in the other nine, since any 429 makes a check inconclusive.
	passed := 0
	for _, cr := range rep.Checks {
		if cr.Status == finding.StatusPass && cr.Check != finding.CheckRateLimit {
			passed += cr.Requests
		}
		if strings.Contains(cr.Reason, "crashed") {
			t.Errorf("%s: %s", cr.Check, cr.Reason)
		}
	}
	if passed > 9 {
		t.Errorf("passing checks sent %d requests, but only 9 were answered without a 429:\n%s",
			passed, stdout)
	}
	for _, f := range rep.Findings {
		if f.Check != finding.CheckRateLimit {
			t.Errorf("finding %s (%s) against a well-behaved but throttled target", f.Rule, f.Title)
		}
	}
}

// slowSpec is an OpenAPI document with one operation the probes will call.
const slowSpec = `{"openapi": "3.0.3", "info": {"title": "slow", "version": "1"},
 "paths": {"/api/slow/{id}": {"get": {"parameters": [{"name": "id", "in": "path",
  "required": true, "schema": {"type": "integer"}}],
  "responses": {"200": {"description": "ok"}}}}}}`

// TestRunDeadline: --timeout bounds the run end to end, whatever phase hangs, and the
// message names the phase and, when probing, the checks still running.
func TestRunDeadline(t *testing.T) {
	t.Run("during probing", func(t *testing.T) {
		mux := http.NewServeMux()
		srv := hostile.Start(t, mux)
		mux.Handle("/", hostile.Plain())
		mux.Handle("/openapi.json", hostile.Body(200, "application/json", []byte(slowSpec)))
		mux.Handle("/api/", hostile.Hang(srv))
		code, stdout, stderr, took := runCLI(t, "scan", "--url", srv.URL, "--format", "json",
			"--openapi", "/openapi.json", "--timeout", "3s", "--request-timeout", "30s")
		if code != exitError {
			t.Errorf("exit %d, want 3", code)
		}
		if took > 8*time.Second {
			t.Errorf("a 3s --timeout run took %s", took)
		}
		oneLine(t, stderr, "timed out after 3s during probing (check")
		oneLine(t, stderr, "the report is incomplete; checks that did not complete: ")
		t.Log(strings.TrimSpace(stderr))
		assertNoUnearnedPass(t, parseReport(t, stdout))
	})
	t.Run("during discovery", func(t *testing.T) {
		var srv *hostile.Server
		mux := http.NewServeMux()
		srv = hostile.Start(t, mux)
		mux.Handle("/", hostile.Hang(srv))
		code, stdout, stderr, took := runCLI(t, "scan", "--url", srv.URL, "--format", "json",
			"--openapi", "/openapi.json", "--timeout", "1s", "--request-timeout", "30s")
		if code != exitError {
			t.Errorf("exit %d, want 3", code)
		}
		if took > 6*time.Second {
			t.Errorf("a 1s --timeout run took %s", took)
		}
		oneLine(t, stderr, "timed out after 1s during discovery")
		// A JSON reader of stdout gets a report that says the scan failed, never one that
		// could pass for a result.
		rep := parseReport(t, stdout)
		if rep.Complete() || !strings.Contains(rep.Error, "during discovery") {
			t.Errorf("report complete=%v error=%q, want a failed report naming the phase",
				rep.Complete(), rep.Error)
		}
		assertNoUnearnedPass(t, rep)
	})
}

// TestBadInvocations: bad input to the scanner itself is exit 2 with one clear line, fast,
// and sends nothing anywhere.
func TestBadInvocations(t *testing.T) {
	garbage := filepath.Join(t.TempDir(), "garbage.pem")
	if err := os.WriteFile(garbage, []byte("\x00\xff\xfe binary \x89PNG\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	const ok = "http://127.0.0.1:1"
	outDir := t.TempDir()
	same := filepath.Join(outDir, "same.out")
	docDir := t.TempDir()
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"scan"}, "scan needs --url"},
		{[]string{"bogus"}, `unknown command "bogus"`},
		{[]string{"scan", "--url", ok, "--bogus"}, "flag provided but not defined: -bogus"},
		{[]string{"scan", "--url"}, "flag needs an argument"},
		{[]string{"scan", "--url", ok, "extra"}, `unexpected argument "extra"`},
		{[]string{"scan", "--url", ok, "--fail-on", "severe"}, `unknown --fail-on "severe"`},
		{[]string{"scan", "--url", ok, "--fail-on", ""}, "unknown --fail-on"},
		{[]string{"scan", "--url", ok, "--format", "pdf"}, `unknown --format "pdf"`},
		{[]string{"scan", "--url", ok, "--timeout", "-1s"}, "--timeout must be positive"},
		{[]string{"scan", "--url", ok, "--timeout", "soon"}, "invalid value"},
		{[]string{"scan", "--url", ok, "--max-requests", "0"}, "--max-requests must be positive"},
		{[]string{"scan", "--url", "::not a url"}, "malformed --url"},
		{[]string{"scan", "--url", "ftp://127.0.0.1/"}, "scheme must be http or https"},
		{[]string{"scan", "--url", "http://"}, "no host"},
		{[]string{"scan", "--url", "http://user:hunter2@127.0.0.1/"}, "credentials"},
		{[]string{"scan", "--url", "http://169.254.169.254/latest/"}, "refusing to scan"},
		{[]string{"scan", "--url", "http://[fe80::1]:80/"}, "refusing to scan"},
		{[]string{"scan", "--url", "http://apigate-test.invalid/"}, "refusing to scan"},
		{[]string{"scan", "--url", "http://169.254.169.254/", "--allow-host", "169.254.169.254"},
			"metadata addresses are never scanned"},
		{[]string{"scan", "--url", ok, "--allow-host", "169.254.169.254"},
			"--allow-host/allow-hosts 169.254.169.254: link-local and cloud metadata"},
		{[]string{"scan", "--url", ok, "--allow-host", "fe80::1"}, "never scanned"},
		{[]string{"scan", "--url", "http://127.0.0.1:99999"}, "port 99999 is not between 1 and 65535"},
		{[]string{"scan", "--url", "http://127.1:18080"}, "short or numeric IPv4 forms are not supported"},
		{[]string{"scan", "--url", ok, "--port", "8080"}, "--port only apply with --compose"},
		{[]string{"scan", "--url", ok, "--service", "api"}, "--service only apply with --compose"},
		{[]string{"scan", "--compose", "/nonexistent/compose.yml"},
			"compose file /nonexistent/compose.yml does not exist"},
		{[]string{"scan", "--url", ok, "--openapi", filepath.Join(docDir, "missing.yaml")},
			"missing.yaml\": no such file"},
		{[]string{"scan", "--url", ok, "--openapi", "./missing.yaml"}, "no such file"},
		{[]string{"scan", "--url", ok, "--openapi", docDir}, "is not a regular file"},
		{[]string{"scan", "--url", ok, "--ca-cert", "/nonexistent/ca.pem"}, "read --ca-cert"},
		{[]string{"scan", "--url", ok, "--ca-cert", garbage}, "--ca-cert " + garbage + ": no PEM certificate"},
		{[]string{"scan", "--url", ok, "--sarif", "/nonexistent/qa/x.sarif"},
			"--sarif /nonexistent/qa/x.sarif: directory /nonexistent/qa does not exist"},
		{[]string{"scan", "--url", ok, "--markdown", outDir}, "--markdown " + outDir + " is a directory"},
		{[]string{"scan", "--url", ok, "--json", same, "--sarif", same}, "--sarif and --json both name"},
		{[]string{"demo", "--output", same, "--markdown", same}, "--output and --markdown both name"},
		{[]string{"baseline", "--url", ok, "--output", "/nonexistent/qa/b.json"},
			"baseline --output /nonexistent/qa/b.json: directory /nonexistent/qa does not exist"},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, stdout, stderr, took := runCLI(t, tc.args...)
			if code != exitUsage {
				t.Errorf("exit %d, want 2; stderr:\n%s", code, stderr)
			}
			if stdout != "" {
				t.Errorf("stdout is not empty:\n%s", stdout)
			}
			if took > 2*time.Second {
				t.Errorf("took %s", took)
			}
			oneLine(t, stderr, tc.want)
			if strings.Contains(stderr, "hunter2") {
				t.Error("the error repeats a password from the URL")
			}
			if strings.Contains(stderr, ".apigate-") {
				t.Error("the error names a temporary file instead of the user's path")
			}
			if strings.Contains(stderr, "--allow-host 169.254") && !strings.Contains(stderr, "never") {
				t.Error("the error advises an --allow-host that can never work")
			}
			if entries, _ := os.ReadDir(outDir); len(entries) > 0 {
				t.Errorf("a refused run left %s in the output directory", entries[0].Name())
			}
		})
	}
}

// summary counts a report's verdicts, for the test log.
func summary(rep *finding.Report) string {
	n := map[finding.Status]int{}
	for _, cr := range rep.Checks {
		n[cr.Status]++
	}
	return fmt.Sprintf("%d pass, %d fail, %d inconclusive, %d not tested, %d findings",
		n[finding.StatusPass], n[finding.StatusFail], n[finding.StatusInconclusive],
		n[finding.StatusNotTested], len(rep.Findings))
}
