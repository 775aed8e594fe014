package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/apigate/apigate/internal/compose/composetest"
	"github.com/apigate/apigate/internal/finding"
	"github.com/apigate/apigate/internal/scan"
)

var projectLine = regexp.MustCompile(`booting compose project (apigate-[0-9a-f]+)`)

// scanFixture runs apigate scan --compose on a copy of a fixture, in process, and checks
// that the run left nothing of its compose project behind.
func scanFixture(t *testing.T, fixture string, args ...string) (int, string, string) {
	t.Helper()
	composetest.ServerImageFor(t)
	file := composetest.Fixture(t, fixture)
	var stdout, stderr bytes.Buffer
	code := run(append([]string{"scan", "--compose", file}, args...), &stdout, &stderr)
	t.Logf("exit %d, stderr:\n%s", code, stderr.String())
	if m := projectLine.FindStringSubmatch(stderr.String()); m != nil {
		composetest.AssertGone(t, m[1])
	} else if code != exitUsage && !strings.Contains(stderr.String(), "compose file") {
		t.Errorf("no project name on stderr")
	}
	return code, stdout.String(), stderr.String()
}

func TestScanComposeBootsScansAndTearsDown(t *testing.T) {
	code, out, _ := scanFixture(t, "healthy", "--format", "json", "--fail-on", "none")
	if code != exitOK {
		t.Fatalf("exit %d, want 0", code)
	}
	var rep finding.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("report: %v\n%s", err, out)
	}
	if !strings.HasPrefix(rep.Target, "http://127.0.0.1:") {
		t.Errorf("target %q: want the loopback published port", rep.Target)
	}
	if len(rep.Checks) == 0 || rep.Requests == 0 {
		t.Errorf("the scan did not run: %d checks, %d requests", len(rep.Checks), rep.Requests)
	}
}

func TestScanComposeFailuresExit3WithTheReason(t *testing.T) {
	holder, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	t.Setenv("APIGATE_FIXTURE_PORT", strconv.Itoa(holder.Addr().(*net.TCPAddr).Port))

	tests := []struct {
		fixture string
		args    []string
		code    int
		want    []string
	}{
		{"crash", nil, exitError, []string{"boot failed", `"api" exited with code 1`,
			"cannot open database"}},
		{"never", []string{"--boot-timeout", "3s"}, exitError, []string{"never became ready within 3s",
			"waiting forever without listening"}},
		{"never", []string{"--timeout", "3s"}, exitError, []string{"timed out after 3s during boot",
			"torn down"}},
		{"buildfail", nil, exitError, []string{"building an image", "does-not-exist"}},
		{"portclash", nil, exitError, []string{"already in use"}},
		{"invalid", nil, exitError, []string{"invalid compose file", "compose.yml:5", "ports"}},
		{"multi", nil, exitUsage, []string{"--service", "admin, web"}},
	}
	for _, tt := range tests {
		t.Run(tt.fixture+strings.Join(tt.args, ""), func(t *testing.T) {
			code, out, errOut := scanFixture(t, tt.fixture, tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d", code, tt.code)
			}
			for _, w := range tt.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr does not mention %q", w)
				}
			}
			if out != "" {
				t.Errorf("a failed boot wrote a report to stdout: %q", out)
			}
		})
	}
}

// TestScanComposeTearsDownOnPanic panics inside the pipeline after boot: the project must
// be gone while the panic goes on up.
func TestScanComposeTearsDownOnPanic(t *testing.T) {
	composetest.ServerImageFor(t)
	file := composetest.Fixture(t, "healthy")
	old := phaseHook
	phaseHook = func(phase string) {
		if phase == scan.PhaseDiscover {
			panic("injected panic after boot")
		}
	}
	t.Cleanup(func() { phaseHook = old })
	var stdout, stderr bytes.Buffer
	func() {
		defer func() {
			if r := recover(); r != "injected panic after boot" {
				t.Errorf("recovered %v, want the injected panic", r)
			}
		}()
		run([]string{"scan", "--compose", file}, &stdout, &stderr)
	}()
	m := projectLine.FindStringSubmatch(stderr.String())
	if m == nil {
		t.Fatalf("no project on stderr: %q", stderr.String())
	}
	composetest.AssertGone(t, m[1])
}

func TestScanComposeMissingFileAndCLI(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run([]string{"scan", "--compose", "testdata-nope.yml"}, &stdout, &stderr); code != exitUsage ||
		!strings.Contains(stderr.String(), "testdata-nope.yml does not exist") {
		t.Errorf("missing file: exit %d, stderr %q", code, stderr.String())
	}

	file := composetest.Fixture(t, "healthy")
	t.Setenv("PATH", t.TempDir())
	stderr.Reset()
	code := run([]string{"scan", "--compose", file}, &stdout, &stderr)
	if code != exitError || !strings.Contains(stderr.String(), "docker CLI is not on PATH") {
		t.Errorf("no CLI: exit %d, stderr %q", code, stderr.String())
	}
}

func TestScanComposeUsage(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run([]string{"scan", "--compose", "x.yml", "--url", "http://127.0.0.1:1"}, &stdout, &stderr)
	if code != exitUsage || !strings.Contains(stderr.String(), "exclusive") {
		t.Errorf("exit %d, stderr %q", code, stderr.String())
	}
}

// TestScanComposeSignals interrupts the real binary while it waits for a service that
// never answers, and (with the fault-test build's pause) while it probes: it must exit 130
// and leave nothing of its project behind. A signal during teardown must not stop the
// teardown, which runs on its own context.
func TestScanComposeSignals(t *testing.T) {
	composetest.ServerImageFor(t)
	bin := composetest.Binary(t, "cmd/apigate", "apigate_faults")
	tests := []struct {
		name, fixture, pause string
		sig                  syscall.Signal
		codes                []int
		say                  string
	}{
		{"boot-SIGINT", "never", "", syscall.SIGINT, []int{exitInterrupted}, "interrupted during boot"},
		{"boot-SIGTERM", "never", "", syscall.SIGTERM, []int{exitInterrupted}, "interrupted during boot"},
		{"probing-SIGINT", "healthy", "probing", syscall.SIGINT, []int{exitInterrupted},
			"interrupted during probing"},
		// The verdict was reached before the signal; only the teardown is left to do.
		{"teardown-SIGTERM", "healthy", "teardown", syscall.SIGTERM, []int{exitOK, exitFindings}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := composetest.Fixture(t, tt.fixture)
			cmd := exec.Command(bin, "scan", "--compose", file, "--boot-timeout", "2m")
			cmd.Env = append(os.Environ(), "APIGATE_FAULT_PAUSE="+tt.pause, "APIGATE_FAULT_PAUSE_FOR=3s")
			stderr, err := cmd.StderrPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			lines := make(chan string, 1000)
			go func() {
				sc := bufio.NewScanner(stderr)
				for sc.Scan() {
					lines <- sc.Text()
				}
				close(lines)
			}()
			var project string
			var all []string
			paused := tt.pause == ""
			timeout := time.After(90 * time.Second)
			for project == "" || !paused {
				select {
				case l, ok := <-lines:
					if !ok {
						t.Fatalf("apigate ended before the signal: %q", all)
					}
					all = append(all, l)
					if m := projectLine.FindStringSubmatch(l); m != nil {
						project = m[1]
					}
					if strings.Contains(l, "apigate-fault: paused in "+tt.pause) {
						paused = true
					}
				case <-timeout:
					cmd.Process.Kill()
					t.Fatalf("never reached the point to signal: %q", all)
				}
			}
			if tt.pause == "" {
				if !composetest.WaitFor(60*time.Second, func() bool {
					return len(composetest.Leftovers(t, project)) > 0
				}) {
					t.Fatal("the project never started")
				}
				time.Sleep(500 * time.Millisecond) // well inside the readiness wait
			}
			if err := cmd.Process.Signal(tt.sig); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() {
				for l := range lines {
					all = append(all, l)
				}
				done <- cmd.Wait()
			}()
			select {
			case <-done:
			case <-time.After(90 * time.Second):
				cmd.Process.Kill()
				t.Fatal("apigate did not stop within 90s of the signal")
			}
			code := cmd.ProcessState.ExitCode()
			if !slices.Contains(tt.codes, code) {
				t.Errorf("exit %d, want one of %v; stderr: %q", code, tt.codes, all)
			}
			if !strings.Contains(strings.Join(all, "\n"), tt.say) {
				t.Errorf("stderr does not say %q: %q", tt.say, all)
			}
			composetest.AssertGone(t, project)
		})
	}
}
