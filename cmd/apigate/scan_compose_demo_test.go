package main

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apigate/apigate/internal/compose/composetest"
	"github.com/apigate/apigate/internal/demo"
	"github.com/apigate/apigate/internal/finding"
)

// scanDemo scans a demo fixture through compose, configured by the fixture's .apigate.yml
// (compose file, served OpenAPI document, two users), and checks the teardown.
// extra gives more flags, given the fixture's directory.
func scanDemo(t *testing.T, fixture string, extra func(dir string) []string) (int, *finding.Report) {
	t.Helper()
	composetest.ApigateImageFor(t)
	dir := filepath.Dir(composetest.Fixture(t, fixture))
	t.Setenv("APIGATE_DEMO_ALICE_PASSWORD", demo.Alice.Password)
	t.Setenv("APIGATE_DEMO_BOB_PASSWORD", demo.Bob.Password)
	var stdout, stderr bytes.Buffer
	args := []string{"scan", "--config", filepath.Join(dir, ".apigate.yml"), "--format", "json"}
	if extra != nil {
		args = append(args, extra(dir)...)
	}
	code := run(args, &stdout, &stderr)
	t.Logf("exit %d, stderr:\n%s", code, stderr.String())
	m := projectLine.FindStringSubmatch(stderr.String())
	if m == nil {
		t.Fatal("no compose project on stderr")
	}
	composetest.AssertGone(t, m[1])
	var rep finding.Report
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("report: %v\n%s", err, stdout.String())
	}
	for _, secret := range []string{demo.Alice.Password, demo.Bob.Password} {
		if strings.Contains(stdout.String(), secret) || strings.Contains(stderr.String(), secret) {
			t.Errorf("a demo password leaked into the output")
		}
	}
	return code, &rep
}

func TestScanComposeVulnerableDemo(t *testing.T) {
	code, rep := scanDemo(t, "demo-vulnerable", nil)
	if code != exitFindings {
		t.Errorf("exit %d, want 1 (findings)", code)
	}
	if !strings.HasPrefix(rep.Target, "http://127.0.0.1:") {
		t.Errorf("target %q", rep.Target)
	}
	failed := map[finding.Check]bool{}
	for _, c := range rep.Checks {
		if c.Status == finding.StatusFail {
			failed[c.Check] = true
		}
	}
	// The demo plants one flaw per checklist item; through compose, at least the ones that
	// need the two users and the container logs must be proven too.
	for _, c := range []finding.Check{finding.CheckObjectAuthorization, finding.CheckLogging,
		finding.CheckHTTPS} {
		if !failed[c] {
			t.Errorf("check %s did not fail on the vulnerable demo: %+v", c, rep.Result(c))
		}
	}
	if len(failed) < 8 {
		t.Errorf("only %d checks failed on the vulnerable demo", len(failed))
	}
}

func TestScanComposeHardenedDemo(t *testing.T) {
	code, rep := scanDemo(t, "demo-hardened", func(dir string) []string {
		return []string{"--ca-cert", filepath.Join(dir, "ca", "ca.pem")}
	})
	if code != exitOK {
		t.Errorf("exit %d, want 0; findings: %+v", code, rep.Findings)
	}
	if !strings.HasPrefix(rep.Target, "https://127.0.0.1:") {
		t.Errorf("target %q: the TLS port should be scanned over https", rep.Target)
	}
	if len(rep.Findings) != 0 {
		t.Errorf("%d findings on the hardened demo", len(rep.Findings))
	}
	// Its plain-HTTP port was found and tested too.
	if r := rep.Result(finding.CheckHTTPS); r.Status != finding.StatusPass ||
		strings.Contains(r.Reason, "no plain-HTTP address") {
		t.Errorf("https check: %s %q", r.Status, r.Reason)
	}
}
