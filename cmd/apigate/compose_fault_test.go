package main

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apigate/apigate/internal/compose/composetest"
	"github.com/apigate/apigate/internal/finding"
)

// killWriter collects stderr and, the first time a probe reports it finished, kills the
// compose project's containers with docker kill before letting that probe go on.
type killWriter struct {
	t      *testing.T
	mu     sync.Mutex
	buf    bytes.Buffer
	killed bool
}

func (w *killWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if w.killed || !bytes.Contains(p, []byte("probe finished")) {
		return len(p), nil
	}
	m := projectLine.FindStringSubmatch(w.buf.String())
	if m == nil {
		return len(p), nil
	}
	w.killed = true
	ids, err := exec.Command("docker", "ps", "-q", "--filter",
		"label=com.docker.compose.project="+m[1]).Output()
	if err != nil || len(bytes.Fields(ids)) == 0 {
		w.t.Errorf("no running container to kill in %s: %v", m[1], err)
		return len(p), nil
	}
	args := append([]string{"kill"}, strings.Fields(string(ids))...)
	if out, err := exec.Command("docker", args...).CombinedOutput(); err != nil {
		w.t.Errorf("docker kill: %v\n%s", err, out)
	}
	return len(p), nil
}

// TestComposeContainerKilledMidScan boots a compose fixture, kills its container with
// docker kill as soon as the first probe finishes, and checks the run: exit 3, the checks
// that did not complete named, none of them passing, and nothing of the project left.
func TestComposeContainerKilledMidScan(t *testing.T) {
	composetest.ServerImageFor(t)
	file := composetest.Fixture(t, "healthy")
	w := &killWriter{t: t}
	var stdout bytes.Buffer
	start := time.Now()
	code := run([]string{"scan", "--compose", file, "--format", "json", "-v",
		"--request-timeout", "3s"}, &stdout, w)
	took := time.Since(start)
	stderr := w.buf.String()
	m := projectLine.FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("no project line; exit %d\n%s", code, stderr)
	}
	composetest.AssertGone(t, m[1])
	if !w.killed {
		t.Fatalf("no probe finished, so nothing was killed; exit %d\n%s", code, stderr)
	}
	if code != exitError {
		t.Errorf("exit %d, want 3 after the container was killed", code)
	}
	if took > 2*time.Minute {
		t.Errorf("took %s", took)
	}
	last := stderr[strings.LastIndex(strings.TrimSpace(stderr), "\n")+1:]
	if !strings.Contains(stderr, "apigate: scan failed: target stopped answering during the scan") ||
		!strings.Contains(stderr, "checks that did not complete:") {
		t.Errorf("stderr does not name the failure and the unfinished checks; last line:\n%s", last)
	}
	var rep finding.Report
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("report: %v", err)
	}
	for _, cr := range rep.Checks {
		if cr.Status == finding.StatusPass {
			t.Errorf("%s passes on a target killed mid-scan: %s", cr.Check, cr.Reason)
		}
	}
	for _, l := range strings.Split(stderr, "\n") {
		if strings.HasPrefix(l, "apigate: scan failed") {
			t.Logf("exit %d in %s: %s", code, took.Round(time.Millisecond), l)
		}
	}
}
