package main

import (
	"bufio"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/apigate/apigate/internal/finding"
	"github.com/apigate/apigate/internal/hostile"
)

// buildFaultBinary builds apigate with the fault hooks (tag apigate_faults).
func buildFaultBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "apigate")
	cmd := exec.Command("go", "build", "-tags", "apigate_faults", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build the fault-test binary: %v\n%s", err, out)
	}
	return bin
}

// TestSignalsInEachPhase runs the built binary, pauses it in a phase, delivers SIGINT or
// SIGTERM there, and checks: exit 130, a message naming the phase, and every report file
// either complete or absent, with no temporary file left behind.
func TestSignalsInEachPhase(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildFaultBinary(t)
	srv := hostile.Start(t, hostile.Plain())
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		for _, phase := range []string{"probing", "report writing"} {
			t.Run(sig.String()+" during "+phase, func(t *testing.T) {
				dir := t.TempDir()
				out, jsonOut := filepath.Join(dir, "report.txt"), filepath.Join(dir, "report.json")
				cmd := exec.Command(bin, "scan", "--url", srv.URL, "--output", out,
					"--json", jsonOut, "--request-timeout", "2s")
				cmd.Env = append(os.Environ(), "APIGATE_FAULT_PAUSE="+phase,
					"APIGATE_FAULT_PAUSE_FOR=2s")
				code, msg := interruptAtPause(t, cmd, phase, sig, 20*time.Second)
				if code != exitInterrupted {
					t.Errorf("exit %d, want %d; stderr:\n%s", code, exitInterrupted, msg)
				}
				if !strings.Contains(msg, "apigate: interrupted during "+phase) {
					t.Errorf("stderr does not say where the run was interrupted:\n%s", msg)
				}
				assertWholeOrAbsent(t, dir, jsonOut)
			})
		}
	}
}

// interruptAtPause starts cmd (a fault-test binary told to pause in phase), waits until it
// says it has paused there, delivers sig, and returns its exit code and whole stderr. It
// fails the test if the phase is never reached or the process outlives wait.
func interruptAtPause(t *testing.T, cmd *exec.Cmd, phase string, sig syscall.Signal,
	wait time.Duration) (int, string) {
	t.Helper()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(stderr)
	var rest []string
	paused := false
	for lines.Scan() {
		if lines.Text() == "apigate-fault: paused in "+phase {
			paused = true
			break
		}
		rest = append(rest, lines.Text())
	}
	if !paused {
		_ = cmd.Process.Kill()
		t.Fatalf("never reached %s; stderr:\n%s", phase, strings.Join(rest, "\n"))
	}
	if err := cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	for lines.Scan() {
		rest = append(rest, lines.Text())
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(wait):
		_ = cmd.Process.Kill()
		t.Fatalf("no exit %s after the signal", wait)
	}
	return cmd.ProcessState.ExitCode(), strings.Join(rest, "\n")
}

// assertWholeOrAbsent checks the JSON report is absent or a complete report, and that no
// temporary report file survived in dir.
func assertWholeOrAbsent(t *testing.T, dir, jsonOut string) {
	t.Helper()
	if raw, err := os.ReadFile(jsonOut); err == nil {
		var v map[string]any
		if err := json.Unmarshal(raw, &v); err != nil || v["checks"] == nil {
			t.Errorf("the JSON report is half-written (%v):\n%s", err, raw)
		}
	} else if !os.IsNotExist(err) {
		t.Error(err)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".apigate-") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
}

// TestSignalDuringPublishing runs `apigate action` as the runner would, against the demo
// API and a fake GitHub, pauses it as publishing begins and delivers SIGINT or SIGTERM:
// exit 130, a message naming the phase, and the SARIF file and step outputs whole or absent.
func TestSignalDuringPublishing(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildFaultBinary(t)
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			fake := newFakeGitHub(t)
			r := newRunner(t, fake, actionDemo(t))
			env := []string{
				"GITHUB_ACTIONS=true", "CI=true", "GITHUB_REPOSITORY=acme/shop",
				"GITHUB_SHA=" + testSHA, "GITHUB_REF=" + r.ref,
				"GITHUB_EVENT_NAME=" + r.workflowEventName,
				"GITHUB_EVENT_PATH=" + eventPath(t, r.event),
				"GITHUB_OUTPUT=" + r.outputs, "GITHUB_STEP_SUMMARY=" + r.summary,
				"GITHUB_API_URL=" + fake.URL, "GITHUB_SERVER_URL=https://github.com",
				"GITHUB_WORKSPACE=" + r.workspace, "GITHUB_RUN_ID=99",
				"GITHUB_WORKFLOW_REF=acme/shop/.github/workflows/api.yml@" + r.ref,
				"INPUT_TOKEN=" + r.token, "PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"),
				"APIGATE_FAULT_PAUSE=publishing", "APIGATE_FAULT_PAUSE_FOR=2s",
			}
			for k, v := range r.inputs {
				env = append(env, "INPUT_"+k+"="+v)
			}
			cmd := exec.Command(bin, "action")
			cmd.Dir, cmd.Env = r.workspace, env
			code, msg := interruptAtPause(t, cmd, "publishing", sig, 60*time.Second)
			if code != exitInterrupted {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, exitInterrupted, msg)
			}
			if !strings.Contains(msg, "interrupted during publishing") {
				t.Errorf("stderr does not name the phase:\n%s", msg)
			}
			sarif := filepath.Join(r.workspace, r.inputs["SARIF-FILE"])
			if raw, err := os.ReadFile(sarif); err == nil {
				var v map[string]any
				if err := json.Unmarshal(raw, &v); err != nil || v["runs"] == nil {
					t.Errorf("the SARIF file is half-written: %v", err)
				}
			}
			_ = parseOutputs(t, r.outputs) // fails the test on a half-written output file
		})
	}
}

// TestSignalWhileProbesHang interrupts the built binary while its probes wait on a target
// that never answers them, with no test hook: exit 130 promptly, the running checks named,
// and no check reported as passing.
func TestSignalWhileProbesHang(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildFaultBinary(t)
	mux := http.NewServeMux()
	srv := hostile.Start(t, mux)
	mux.Handle("/", hostile.Plain())
	mux.Handle("/openapi.json", hostile.Body(200, "application/json", []byte(slowSpec)))
	mux.Handle("/api/", hostile.Hang(srv))
	dir := t.TempDir()
	jsonOut := filepath.Join(dir, "report.json")
	cmd := exec.Command(bin, "scan", "--url", srv.URL, "--openapi", "/openapi.json", "-v",
		"--json", jsonOut, "--request-timeout", "60s")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(stderr)
	var all []string
	for lines.Scan() {
		all = append(all, lines.Text())
		if strings.Contains(lines.Text(), "probe starting") {
			break
		}
	}
	time.Sleep(500 * time.Millisecond) // let the probes reach the hanging routes
	sent := time.Now()
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	for lines.Scan() {
		all = append(all, lines.Text())
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("no exit 30s after SIGINT")
	}
	took := time.Since(sent)
	msg := strings.Join(all, "\n")
	if code := cmd.ProcessState.ExitCode(); code != exitInterrupted {
		t.Errorf("exit %d, want 130; stderr:\n%s", code, msg)
	}
	if !strings.Contains(msg, "apigate: interrupted during probing (check") ||
		!strings.Contains(msg, "still running)") {
		t.Errorf("stderr does not name the running checks:\n%s", msg)
	}
	if took > 10*time.Second {
		t.Errorf("exit came %s after the signal", took)
	}
	raw, err := os.ReadFile(jsonOut)
	if err != nil {
		t.Fatalf("no report after an interrupted probing phase: %v", err)
	}
	var rep finding.Report
	if err := json.Unmarshal(raw, &rep); err != nil {
		t.Fatalf("report: %v", err)
	}
	assertNoUnearnedPass(t, &rep)
	t.Logf("exit %d, %s after SIGINT", cmd.ProcessState.ExitCode(), took.Round(time.Millisecond))
}

// TestCrashIsExit3 makes the built binary panic in a phase: the exit code must be 3 (the
// scan failed), not the Go runtime's 2, which apigate uses for usage errors.
func TestCrashIsExit3(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildFaultBinary(t)
	srv := hostile.Start(t, hostile.Plain())
	for _, phase := range []string{"discovery", "probing", "report writing"} {
		t.Run(phase, func(t *testing.T) {
			cmd := exec.Command(bin, "scan", "--url", srv.URL, "--format", "json")
			cmd.Env = append(os.Environ(), "APIGATE_FAULT_PANIC="+phase)
			var stderr strings.Builder
			cmd.Stderr = &stderr
			_ = cmd.Run()
			if code := cmd.ProcessState.ExitCode(); code != exitError {
				t.Errorf("exit %d, want 3; stderr:\n%s", code, stderr.String())
			}
			if !strings.Contains(stderr.String(), "apigate: internal error") ||
				!strings.Contains(stderr.String(), "injected fault in "+phase) {
				t.Errorf("stderr does not report the crash:\n%s", stderr.String())
			}
		})
	}
}
