package main

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/apigate/apigate/internal/finding"
)

// runDemo runs `apigate demo` with args and a JSON report, and decodes the report.
func runDemo(t testing.TB, args ...string) (int, *finding.Report, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(append([]string{"demo", "--format", "json"}, args...), &stdout, &stderr)
	var rep finding.Report
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("demo %v: exit %d, report is not JSON: %v\nstderr: %s", args, code, err, stderr.String())
	}
	return code, &rep, stderr.String()
}

// TestDemoVulnerable: the vulnerable demo fails the scan, and every check whose probe ran
// fails: a probe that passes here missed a planted flaw (or the demo lost one).
func TestDemoVulnerable(t *testing.T) {
	code, rep, stderr := runDemo(t)
	if code != exitFindings {
		t.Fatalf("exit %d, want %d\nstderr: %s", code, exitFindings, stderr)
	}
	if !strings.Contains(stderr, "deliberately vulnerable") {
		t.Errorf("no introduction on stderr: %q", stderr)
	}
	for _, c := range rep.Checks {
		if c.Status == finding.StatusPass || c.Status == finding.StatusInconclusive {
			t.Errorf("check %s is %s on the vulnerable demo: %s", c.Check, c.Status, c.Reason)
		}
	}
	if len(rep.Findings) == 0 {
		t.Fatal("no findings on the vulnerable demo")
	}
}

// TestDemoHardened: the hardened demo is the false-positive control. The scan must report
// nothing, and no check may fail.
func TestDemoHardened(t *testing.T) {
	code, rep, stderr := runDemo(t, "--hardened")
	for _, f := range rep.Findings {
		t.Errorf("false positive on the hardened demo: %s %s %s: %s", f.Rule, f.Method, f.Path, f.Title)
	}
	for _, c := range rep.Checks {
		switch c.Status {
		case finding.StatusFail:
			t.Errorf("check %s fails on the hardened demo: %s", c.Check, c.Reason)
		case finding.StatusInconclusive:
			t.Logf("check %s is inconclusive on the hardened demo: %s", c.Check, c.Reason)
		}
	}
	if code != exitOK {
		t.Fatalf("exit %d, want %d\nstderr: %s", code, exitOK, stderr)
	}
	if !strings.HasPrefix(rep.Target, "https://127.0.0.1:") {
		t.Errorf("hardened target %q is not the HTTPS loopback URL", rep.Target)
	}
}

func TestDemoUsage(t *testing.T) {
	if code := run([]string{"demo", "--nope"}, io.Discard, io.Discard); code != exitUsage {
		t.Errorf("unknown flag: exit %d, want %d", code, exitUsage)
	}
	if code := run([]string{"demo", "serve", "--addr", "nope"}, io.Discard, io.Discard); code != exitUsage {
		t.Errorf("malformed --addr: exit %d, want %d", code, exitUsage)
	}
}

// BenchmarkDemoScan measures one full demo run, start to stop, in each mode.
func BenchmarkDemoScan(b *testing.B) {
	for _, mode := range []struct {
		name string
		args []string
		want int
	}{
		{"vulnerable", nil, exitFindings},
		{"hardened", []string{"--hardened"}, exitOK},
	} {
		b.Run(mode.name, func(b *testing.B) {
			for b.Loop() {
				if code, _, _ := runDemo(b, mode.args...); code != mode.want {
					b.Fatalf("exit %d, want %d", code, mode.want)
				}
			}
		})
	}
}
