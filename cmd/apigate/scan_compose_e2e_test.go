package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apigate/apigate/internal/compose/composetest"
	"github.com/apigate/apigate/internal/finding"
)

// TestScanComposeInsideTheActionContainer runs apigate the way the GitHub Actions runner
// runs a Docker action: in its own container on the default bridge network, with the host's
// Docker socket and the checkout mounted, working directory /github/workspace and the
// runner's GITHUB_* variables. The fixture has a relative bind mount its service must read
// at boot and a relative build context, so a scan that completes proves the workspace was
// mapped to its host path; the report's target proves the project network was joined.
func TestScanComposeInsideTheActionContainer(t *testing.T) {
	image := composetest.ActionImageFor(t)
	ws := filepath.Dir(composetest.Fixture(t, "bindmount"))
	home := t.TempDir()
	name := "apigate-e2e-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	cmd := exec.Command("docker", "run", "--name", name, "--label", "dev.apigate.test=e2e",
		"--workdir", "/github/workspace",
		"-e", "GITHUB_ACTIONS=true", "-e", "CI=true", "-e", "HOME=/github/home",
		"-e", "GITHUB_WORKSPACE=/github/workspace", "-e", "GITHUB_REPOSITORY=apigate/e2e",
		"-v", "/var/run/docker.sock:/var/run/docker.sock",
		"-v", home+":/github/home",
		"-v", ws+":/github/workspace",
		image, "scan", "--compose", "compose.yml", "-v",
		"--format", "json", "--output", "report.json", "--fail-on", "critical")
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	err := cmd.Run()
	defer exec.Command("docker", "rm", "-f", name).Run()
	t.Logf("apigate in a container:\n%s", stderr.String())

	m := projectLine.FindStringSubmatch(stderr.String())
	if m == nil {
		t.Fatalf("no compose project on stderr (docker run: %v)", err)
	}
	composetest.AssertGone(t, m[1])
	if code := cmd.ProcessState.ExitCode(); code != exitOK {
		t.Fatalf("exit %d, want 0 (no critical finding)", code)
	}

	// Path mapping: compose ran at the workspace's host path.
	if !strings.Contains(stderr.String(), "mapped the workspace to its host path") ||
		!strings.Contains(stderr.String(), "host="+ws) {
		t.Errorf("the workspace was not mapped to its host path %s", ws)
	}
	if _, err := os.Stat("/github/workspace/config"); err == nil {
		t.Error("docker created the bind source at the container path on the host")
	}

	// Network: the service was reached by name on the project's network, which apigate
	// left before teardown.
	if !strings.Contains(stderr.String(), "joined the project network") {
		t.Error("apigate did not join the project network")
	}
	nets, err := exec.Command("docker", "inspect", "--format",
		"{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}", name).Output()
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(string(nets)) != "bridge" {
		t.Errorf("apigate's container ends on networks %q, want only bridge", nets)
	}

	// The report: the service by name, findings anchored to repository files.
	b, err := os.ReadFile(filepath.Join(ws, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rep finding.Report
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Target != "http://api:8080" {
		t.Errorf("target %q, want http://api:8080", rep.Target)
	}
	if len(rep.Findings) == 0 {
		t.Error("no findings: a plain-HTTP fixture must give at least the transport finding")
	}
	for _, f := range rep.Findings {
		l := f.Location
		if l == nil || filepath.IsAbs(l.File) || strings.Contains(l.File, "://") {
			t.Errorf("finding %s has location %+v, want a repository-relative file", f.Rule, l)
			continue
		}
		if l.Kind == "compose" && (l.File != "compose.yml" || l.Line != 5) {
			t.Errorf("finding %s anchored to %s:%d, want the service at compose.yml:5",
				f.Rule, l.File, l.Line)
		}
	}
	if r := rep.Result(finding.CheckLogging); r.Status == finding.StatusNotTested {
		t.Errorf("the logging check did not read the container logs: %s", r.Reason)
	}
}
