package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apigate/apigate/internal/demo"
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
	// Every finding is anchored to the demo's document, within the part the vulnerable mode
	// serves; a finding on a documented operation to that operation's line.
	lines := strings.Split(string(demo.Spec(false)), "\n")
	for _, f := range rep.Findings {
		loc := f.Location
		if loc == nil || loc.File != demo.SpecFile || loc.Line < 1 || loc.Line > len(lines) {
			t.Errorf("finding %s on %s %s: location %+v", f.Rule, f.Method, f.Path, loc)
			continue
		}
		if want := operationLine(lines, f.Method, f.Path); want > 0 && loc.Line != want {
			t.Errorf("finding %s on %s %s anchored to line %d, want %d", f.Rule, f.Method,
				f.Path, loc.Line, want)
		}
	}
}

// operationLine is the 1-based line of "method:" under "path:" in a YAML document, 0 when
// the document has no such operation.
func operationLine(lines []string, method, path string) int {
	in := false
	for i, l := range lines {
		switch {
		case strings.HasPrefix(l, "  /"):
			in = l == "  "+path+":"
		case in && l == "    "+strings.ToLower(method)+":":
			return i + 1
		}
	}
	return 0
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
		case finding.StatusPass:
		default:
			// The hardened twin gives every probe what it needs (two users, logs, TLS), so
			// anything short of a pass means a probe could not judge a correct API.
			t.Errorf("check %s is %s on the hardened demo, want pass: %s", c.Check, c.Status, c.Reason)
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

// syncBuffer is a bytes.Buffer safe for the server's and the test's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestDemoServe runs `demo serve` in each mode until its context ends: it announces its
// URL on stderr, answers there, writes the API's log to stdout and stops cleanly.
func TestDemoServe(t *testing.T) {
	urlRe := regexp.MustCompile(`(?:https|http)=(\S+)`)
	for _, hardened := range []bool{false, true} {
		var stdout, stderr syncBuffer
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan int, 1)
		go func() {
			code, err := serveDemo(ctx, demo.Options{Hardened: hardened, LogOutput: &stdout}, "", &stderr)
			if err != nil {
				t.Errorf("serve: %v", err)
			}
			done <- code
		}()
		var base string
		for deadline := time.Now().Add(10 * time.Second); base == "" && time.Now().Before(deadline); {
			if m := urlRe.FindStringSubmatch(stderr.String()); m != nil {
				base = m[1]
			}
			time.Sleep(10 * time.Millisecond)
		}
		if base == "" {
			cancel()
			t.Fatalf("no URL announced on stderr: %q", stderr.String())
		}
		if hardened != strings.HasPrefix(base, "https://") {
			t.Errorf("hardened %v announced %s", hardened, base)
		}
		if hardened && !strings.Contains(stderr.String(), "-----BEGIN CERTIFICATE-----") {
			t.Error("the hardened mode did not print its CA certificate")
		}
		client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
			TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // test server
		}}
		resp, err := client.Get(base + "/api/v2/products")
		if err != nil {
			cancel()
			t.Fatalf("GET %s: %v", base, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET products: %d", resp.StatusCode)
		}
		if !strings.Contains(stdout.String(), "/api/v2/products") {
			t.Errorf("the request is not in the API's log on stdout: %q", stdout.String())
		}
		cancel()
		select {
		case code := <-done:
			if code != exitOK {
				t.Errorf("serve exited %d, want %d", code, exitOK)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("serve did not stop after its context ended")
		}
	}
}
