package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apigate/apigate/internal/compose/composetest"
	"github.com/apigate/apigate/internal/report"
	"github.com/apigate/apigate/internal/report/sarifcheck"
)

// TestActionInsideTheActionContainer runs `apigate action` in the FROM-scratch image laid out
// like the action's real one, with the mounts and the translated paths the runner gives a
// Docker action (/github/workspace as working directory, /github/workflow/event.json,
// /github/file_commands/set_output_<id> and step_summary_<id>, /github/home), against the
// fake GitHub API and the demo API. Unlike the runner, the container uses the host's
// network: the fake and the demo listen on this machine's loopback only.
func TestActionInsideTheActionContainer(t *testing.T) {
	image := composetest.ActionImageFor(t)
	fake := newFakeGitHub(t)
	demoURL := actionDemo(t)

	ws, home, workflow, cmds := t.TempDir(), t.TempDir(), t.TempDir(), t.TempDir()
	spec, _ := demoSpec(t)
	os.MkdirAll(filepath.Join(ws, "api"), 0o755)
	os.WriteFile(filepath.Join(ws, "api", "openapi.yaml"), spec, 0o644)
	event, err := os.ReadFile(eventPath(t, "pull_request.json"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(workflow, "event.json"), event, 0o644)
	for _, f := range []string{"set_output_7f3a", "step_summary_7f3a"} {
		os.WriteFile(filepath.Join(cmds, f), nil, 0o666)
	}

	name := "apigate-action-e2e-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	args := []string{"run", "--name", name, "--label", "dev.apigate.test=e2e-action",
		"--network", "host", "--workdir", "/github/workspace",
		"-v", ws + ":/github/workspace", "-v", home + ":/github/home",
		"-v", workflow + ":/github/workflow", "-v", cmds + ":/github/file_commands"}
	env := map[string]string{
		"GITHUB_ACTIONS": "true", "CI": "true", "HOME": "/github/home",
		"GITHUB_WORKSPACE": "/github/workspace", "GITHUB_REPOSITORY": "acme/shop",
		"GITHUB_SHA": testSHA, "GITHUB_REF": "refs/pull/42/merge",
		"GITHUB_EVENT_NAME": "pull_request", "GITHUB_EVENT_PATH": "/github/workflow/event.json",
		"GITHUB_OUTPUT":       "/github/file_commands/set_output_7f3a",
		"GITHUB_STEP_SUMMARY": "/github/file_commands/step_summary_7f3a",
		"GITHUB_API_URL":      fake.URL, "GITHUB_SERVER_URL": "https://github.com",
		"INPUT_TARGET-URL": demoURL, "INPUT_OPENAPI": "api/openapi.yaml",
		"INPUT_TOKEN": writeToken, "INPUT_CATEGORY": "api", "INPUT_FAIL-ON": "high",
		"INPUT_UPLOAD-SARIF": "true", "INPUT_COMMENT": "true", "INPUT_ANNOTATIONS": "true",
		"INPUT_SARIF-FILE": "apigate.sarif", "INPUT_COMPOSE-FILE": "", "INPUT_CONFIG": "",
	}
	for k, v := range env {
		args = append(args, "-e", k+"="+v)
	}
	args = append(args, image, "action")
	cmd := exec.Command("docker", args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	defer exec.Command("docker", "rm", "-f", name).Run()
	if cmd.ProcessState == nil {
		t.Fatalf("docker run: %v\n%s", runErr, stderr.String())
	}
	if code := cmd.ProcessState.ExitCode(); code != exitFindings {
		t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, exitFindings,
			stdout.String(), stderr.String())
	}

	outs := parseOutputs(t, filepath.Join(cmds, "set_output_7f3a"))
	if outs["result"] != "fail" || outs["sarif-file"] != "/github/workspace/apigate.sarif" ||
		outs["sarif-id"] == "" || outs["comment-id"] == "" {
		t.Errorf("outputs = %v", outs)
	}
	data, err := os.ReadFile(filepath.Join(ws, "apigate.sarif"))
	if err != nil {
		t.Fatal(err)
	}
	if err := sarifcheck.All(data); err != nil {
		t.Errorf("SARIF: %v", err)
	}
	ups := fake.Uploads()
	if len(ups) != 1 || ups[0].CheckoutURI != "file:///github/workspace/" {
		t.Errorf("uploads = %+v", ups)
	}
	if cs := fake.Comments(42); len(cs) != 1 || !strings.HasPrefix(cs[0].Body, report.CommentMarker("api")) {
		t.Errorf("comments = %+v", cs)
	}
	summary, _ := os.ReadFile(filepath.Join(cmds, "step_summary_7f3a"))
	if !strings.Contains(string(summary), "### Checklist") {
		t.Error("no job summary")
	}
	if !regexp.MustCompile(`(?m)^::(error|warning) file=api/openapi.yaml,line=\d+`).
		MatchString(stdout.String()) {
		t.Errorf("no annotation on the OpenAPI file:\n%s", stdout.String())
	}
}
