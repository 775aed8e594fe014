package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apigate/apigate/internal/demo"
	"github.com/apigate/apigate/internal/github/fakegh"
	"github.com/apigate/apigate/internal/report"
	"github.com/apigate/apigate/internal/report/sarifcheck"
)

const (
	testSHA      = "0123456789abcdef0123456789abcdef01234567"
	writeToken   = "ghs_actiontestwritable000000000000000000"
	forkToken    = "ghs_actiontestreadonly000000000000000000"
	eventFixture = "../../internal/github/testdata/"
)

// runner is one simulated workflow step: the runner's environment, the workspace and the
// files the action writes to.
type runner struct {
	t                  *testing.T
	workspace          string
	outputs, summary   string
	stdout, stderr     bytes.Buffer
	code               int
	outputsMap         map[string]string
	summaryText        string
	fake               *fakegh.Server
	demoURL            string
	event, ref, token  string
	inputs             map[string]string
	workflowEventName  string
	skipCodeScanningOn bool
}

func newRunner(t *testing.T, fake *fakegh.Server, demoURL string) *runner {
	t.Helper()
	ws := t.TempDir()
	os.MkdirAll(filepath.Join(ws, "api"), 0o755)
	os.MkdirAll(filepath.Join(ws, ".github", "workflows"), 0o755)
	yamlDoc, _ := demoSpec(t)
	os.WriteFile(filepath.Join(ws, "api", "openapi.yaml"), yamlDoc, 0o644)
	os.WriteFile(filepath.Join(ws, ".github", "workflows", "api.yml"), []byte("on: push\n"), 0o644)
	files := t.TempDir()
	return &runner{t: t, workspace: ws, fake: fake, demoURL: demoURL,
		outputs: filepath.Join(files, "set_output_1"), summary: filepath.Join(files, "step_summary_1"),
		event: "pull_request.json", ref: "refs/pull/42/merge", token: writeToken,
		workflowEventName: "pull_request",
		inputs: map[string]string{
			"TARGET-URL": demoURL, "OPENAPI": "api/openapi.yaml", "FAIL-ON": "high",
			"CATEGORY": "api", "SARIF-FILE": "apigate.sarif",
		}}
}

var demoSpecCache []byte

func demoSpec(t *testing.T) ([]byte, []byte) {
	if demoSpecCache == nil {
		s, err := demo.Start(demo.Options{})
		if err != nil {
			t.Fatal(err)
		}
		demoSpecCache, _ = s.OpenAPI()
		s.Close()
	}
	return demoSpecCache, nil
}

// step runs `apigate action` once with the runner's environment.
func (r *runner) step() {
	t := r.t
	t.Helper()
	os.Remove(r.outputs)
	os.Remove(r.summary)
	r.stdout.Reset()
	r.stderr.Reset()
	env := map[string]string{
		"GITHUB_ACTIONS": "true", "CI": "true",
		"GITHUB_REPOSITORY": "acme/shop", "GITHUB_SHA": testSHA, "GITHUB_REF": r.ref,
		"GITHUB_EVENT_NAME": r.workflowEventName, "GITHUB_EVENT_PATH": eventPath(t, r.event),
		"GITHUB_OUTPUT": r.outputs, "GITHUB_STEP_SUMMARY": r.summary,
		"GITHUB_API_URL": r.fake.URL, "GITHUB_SERVER_URL": "https://github.com",
		"GITHUB_WORKSPACE": r.workspace, "GITHUB_RUN_ID": "99",
		"GITHUB_WORKFLOW_REF": "acme/shop/.github/workflows/api.yml@" + r.ref,
		"INPUT_TOKEN":         r.token,
	}
	for k, v := range r.inputs {
		env["INPUT_"+k] = v
	}
	for _, k := range []string{"COMPOSE-FILE", "CONFIG", "SERVICE", "PORT", "UPLOAD-SARIF",
		"COMMENT", "ANNOTATIONS", "WORKING-DIRECTORY", "TIMEOUT", "ALLOW-HOSTS"} {
		if _, ok := env["INPUT_"+k]; !ok {
			env["INPUT_"+k] = "" // the runner sets every declared input, empty when unset
		}
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
	t.Chdir(r.workspace)
	actionRetryBase, actionFirstPoll = time.Millisecond, time.Millisecond
	r.code = run([]string{"action"}, &r.stdout, &r.stderr)
	r.outputsMap = parseOutputs(t, r.outputs)
	data, _ := os.ReadFile(r.summary)
	r.summaryText = string(data)
}

func eventPath(t *testing.T, name string) string {
	_, self, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(self), eventFixture, name)
}

// parseOutputs reads the GITHUB_OUTPUT file in the heredoc form the runner parses.
func parseOutputs(t *testing.T, path string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	out := map[string]string{}
	lines := strings.Split(string(data), "\n")
	for i := 0; i < len(lines); i++ {
		name, delim, ok := strings.Cut(lines[i], "<<")
		if !ok {
			if lines[i] != "" {
				t.Fatalf("outputs: stray line %q", lines[i])
			}
			continue
		}
		var val []string
		for i++; i < len(lines) && lines[i] != delim; i++ {
			val = append(val, lines[i])
		}
		if i == len(lines) {
			t.Fatalf("output %s: no closing delimiter", name)
		}
		out[name] = strings.Join(val, "\n")
	}
	return out
}

func actionDemo(t *testing.T) string {
	t.Helper()
	s, err := demo.Start(demo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return strings.TrimSuffix(s.BaseURL().String(), "/")
}

func newFakeGitHub(t *testing.T) *fakegh.Server {
	f := fakegh.New("acme", "shop")
	t.Cleanup(f.Close)
	f.Tokens[writeToken] = fakegh.Token{Login: "github-actions[bot]", Installation: true}
	f.Tokens[forkToken] = fakegh.Token{Login: "github-actions[bot]", Installation: true, ReadOnly: true}
	return f
}

func countCalls(f *fakegh.Server, method, suffix string) int {
	n := 0
	for _, c := range f.Calls() {
		if c.Method == method && strings.HasSuffix(c.Path, suffix) {
			n++
		}
	}
	return n
}

func TestActionPullRequestEndToEnd(t *testing.T) {
	fake := newFakeGitHub(t)
	for i := range 120 { // our comment lands on page 2 of 100
		fake.AddComment(42, "alice", "looks good "+string(rune('a'+i%26)))
	}
	fake.AddComment(42, "mallory", report.CommentMarker("api")+" <!-- apigate:fingerprints category=api x -->")
	r := newRunner(t, fake, actionDemo(t))
	r.step()

	if r.code != exitFindings {
		t.Fatalf("exit %d, want %d (the demo has high findings)\nstdout:\n%s\nstderr:\n%s",
			r.code, exitFindings, r.stdout.String(), r.stderr.String())
	}
	out := r.outputsMap
	if out["result"] != "fail" || out["findings"] == "0" || out["findings"] == "" ||
		out["high"] == "" || out["sarif-id"] == "" || out["comment-id"] == "" {
		t.Errorf("outputs = %v", out)
	}
	sarifPath := filepath.Join(r.workspace, "apigate.sarif")
	if out["sarif-file"] != sarifPath {
		t.Errorf("sarif-file output %q, want %q", out["sarif-file"], sarifPath)
	}
	data, err := os.ReadFile(sarifPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := sarifcheck.All(data); err != nil {
		t.Errorf("written SARIF not acceptable: %v", err)
	}
	if !strings.Contains(string(data), `"id": "api/"`) {
		t.Error("category input did not reach automationDetails.id")
	}
	if strings.Contains(string(data), `"uri": "http`) {
		t.Error("an http URL is used as an artifact location")
	}

	ups := fake.Uploads()
	if len(ups) != 1 {
		t.Fatalf("uploads = %d", len(ups))
	}
	if ups[0].CommitSHA != testSHA || ups[0].Ref != "refs/pull/42/merge" ||
		ups[0].CheckoutURI != "file://"+r.workspace+"/" {
		t.Errorf("upload = %+v", ups[0])
	}
	if countCalls(fake, "GET", "/code-scanning/sarifs/"+out["sarif-id"]) < 2 {
		t.Error("processing status was not polled until complete")
	}

	comments := fake.Comments(42)
	last := comments[len(comments)-1]
	if len(comments) != 122 || last.Author != "github-actions[bot]" ||
		!strings.HasPrefix(last.Body, report.CommentMarker("api")) {
		t.Fatalf("want one new bot comment after 121 others, got %d; last by %s", len(comments), last.Author)
	}
	if len(last.Body) > report.MaxCommentBytes {
		t.Errorf("comment is %d bytes", len(last.Body))
	}
	if !strings.Contains(r.summaryText, "### Checklist") ||
		!strings.Contains(r.summaryText, "❌ **Failed:**") {
		t.Errorf("summary:\n%s", r.summaryText)
	}
	stdout := r.stdout.String()
	if !regexp.MustCompile(`(?m)^::error [^\n]*title=apigate high`).MatchString(stdout) {
		t.Errorf("no error annotation for the high finding:\n%s", stdout)
	}
	if !regexp.MustCompile(`(?m)^::stop-commands::[0-9a-f]{32}$`).MatchString(stdout) {
		t.Error("the console report is not fenced off from workflow commands")
	}
	if n := len(regexp.MustCompile(`(?m)^::error[ :]`).FindAllString(stdout, -1)); n > 10 {
		t.Errorf("%d error annotations; a step shows only 10", n)
	}
	if !strings.Contains(stdout, "::add-mask::"+writeToken) {
		t.Error("token not masked")
	}
	if strings.Contains(r.stderr.String(), writeToken) || strings.Contains(r.summaryText, writeToken) {
		t.Error("token leaked")
	}

	// Second run of the same PR: the comment is found on page 2 and edited in place, and
	// the delta against its hidden fingerprints is empty.
	r.step()
	if r.code != exitFindings {
		t.Fatalf("second run exit %d\n%s\n%s", r.code, r.stdout.String(), r.stderr.String())
	}
	comments = fake.Comments(42)
	if len(comments) != 122 {
		t.Errorf("second run added a comment: %d", len(comments))
	}
	if countCalls(fake, "PATCH", "/issues/comments/"+r.outputsMap["comment-id"]) != 1 {
		t.Error("second run did not edit the comment")
	}
	if countCalls(fake, "GET", "/issues/42/comments") != 4 {
		t.Errorf("comment listings = %d, want 2 pages per run", countCalls(fake, "GET", "/issues/42/comments"))
	}
	// The delta line must agree with the fingerprints hidden in the two comments. (It is
	// not always 0/0: a probe that puts a random canary in a finding's path changes that
	// finding's fingerprint from run to run.)
	prev, _ := report.ParseFingerprints(last.Body, "api")
	cur, ok := report.ParseFingerprints(comments[len(comments)-1].Body, "api")
	if !ok || len(prev) == 0 {
		t.Fatalf("no fingerprints in the comments")
	}
	wantNew, wantFixed := len(minus(cur, prev)), len(minus(prev, cur))
	delta := fmt.Sprintf("**%d new** · **%d fixed**", wantNew, wantFixed)
	if b := comments[len(comments)-1].Body; !strings.Contains(b, delta) {
		t.Errorf("edited comment lacks %q:\n%s", delta, b)
	}
	if r.outputsMap["comment-id"] != out["comment-id"] {
		t.Error("comment-id changed between runs")
	}
	if len(fake.Uploads()) != 2 {
		t.Error("second run did not upload")
	}
}

func minus(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

func TestActionForkPullRequest(t *testing.T) {
	fake := newFakeGitHub(t)
	r := newRunner(t, fake, actionDemo(t))
	r.event, r.ref, r.token = "pull_request_fork.json", "refs/pull/43/merge", forkToken
	r.step()
	if r.code != exitFindings {
		t.Fatalf("fork run exit %d, want findings to decide (%d)\n%s", r.code, exitFindings, r.stderr.String())
	}
	if len(fake.Calls()) != 0 {
		t.Errorf("fork run called the API: %+v", fake.Calls())
	}
	notices := regexp.MustCompile(`(?m)^::notice title=apigate%3A some results were not published::`).
		FindAllString(r.stdout.String(), -1)
	if len(notices) != 1 {
		t.Errorf("want one skip notice, got %d:\n%s", len(notices), r.stdout.String())
	}
	if r.outputsMap["result"] != "fail" || r.outputsMap["sarif-id"] != "" {
		t.Errorf("outputs = %v", r.outputsMap)
	}
	if !strings.Contains(r.summaryText, "### Findings") {
		t.Error("fork run wrote no summary")
	}
	if !regexp.MustCompile(`(?m)^::error [^\n]*title=apigate high`).MatchString(r.stdout.String()) {
		t.Error("fork run wrote no annotations")
	}
}

func TestActionPushWithCodeScanningOff(t *testing.T) {
	fake := newFakeGitHub(t)
	fake.CodeScanningOff = true
	r := newRunner(t, fake, actionDemo(t))
	r.event, r.ref, r.workflowEventName = "push.json", "refs/heads/main", "push"
	r.inputs["FAIL-ON"] = "none"
	r.step()
	if r.code != exitOK || r.outputsMap["result"] != "pass" {
		t.Fatalf("fail-on none: exit %d, outputs %v", r.code, r.outputsMap)
	}
	if n := countCalls(fake, "POST", "/code-scanning/sarifs"); n != 1 {
		t.Errorf("upload attempts = %d", n)
	}
	if countCalls(fake, "GET", "/issues/42/comments")+countCalls(fake, "POST", "/comments") != 0 {
		t.Error("a push event touched pull request comments")
	}
	if !strings.Contains(r.stdout.String(), "code scanning is not enabled") {
		t.Errorf("no notice about code scanning being off:\n%s", r.stdout.String())
	}
	if strings.Count(r.stdout.String(), "::notice title=apigate%3A some results") != 1 {
		t.Error("want exactly one skip notice")
	}
}

func TestActionScanFailurePublishesNothing(t *testing.T) {
	fake := newFakeGitHub(t)
	r := newRunner(t, fake, "http://127.0.0.1:1")
	r.step()
	if r.code != exitError || r.outputsMap["result"] != "error" {
		t.Fatalf("exit %d outputs %v", r.code, r.outputsMap)
	}
	if len(fake.Calls()) != 0 {
		t.Errorf("a failed scan published: %+v", fake.Calls())
	}
	if !strings.Contains(r.stdout.String(), "::error::apigate: ") {
		t.Errorf("no error annotation:\n%s", r.stdout.String())
	}
	if !strings.Contains(r.summaryText, "The scan did not complete") ||
		!strings.Contains(r.summaryText, "127.0.0.1:1") {
		t.Errorf("summary does not explain the failure:\n%s", r.summaryText)
	}
}

func TestActionBadInputs(t *testing.T) {
	fake := newFakeGitHub(t)
	r := newRunner(t, fake, "http://127.0.0.1:1")
	r.inputs["FAIL-ON"] = "severe"
	r.step()
	if r.code != exitUsage || r.outputsMap["result"] != "error" {
		t.Errorf("bad fail-on: exit %d outputs %v", r.code, r.outputsMap)
	}
	r.inputs["FAIL-ON"] = "high"
	r.inputs["COMMENT"] = "maybe"
	r.step()
	if r.code != exitUsage {
		t.Errorf("bad boolean: exit %d", r.code)
	}
}

func TestActionAnchorsToOpenAPILines(t *testing.T) {
	fake := newFakeGitHub(t)
	r := newRunner(t, fake, actionDemo(t))
	r.inputs["FAIL-ON"] = "none"
	r.step()
	data, err := os.ReadFile(filepath.Join(r.workspace, "apigate.sarif"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Runs []struct {
			Results []struct {
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct{ URI string }
						Region           struct{ StartLine int }
					}
				}
			}
		}
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	operationLines := 0
	for _, res := range doc.Runs[0].Results {
		pl := res.Locations[0].PhysicalLocation
		if pl.ArtifactLocation.URI == "api/openapi.yaml" && pl.Region.StartLine > 1 {
			operationLines++
		}
	}
	if operationLines == 0 {
		t.Errorf("no result is anchored to an operation's line in api/openapi.yaml")
	}
	if !regexp.MustCompile(`(?m)^::(error|warning) file=api/openapi.yaml,line=([2-9]|\d\d+),`).
		MatchString(r.stdout.String()) {
		t.Errorf("no annotation on an operation line:\n%s", r.stdout.String())
	}
}

// TestActionForkSafeSplit runs both halves of the documented split: the fork's scan keeps its
// JSON report and publishes nothing; a workflow_run job publishes that report with a write
// token, without scanning.
func TestActionForkSafeSplit(t *testing.T) {
	fake := newFakeGitHub(t)
	const headSHA = "abababababababababababababababababababab"
	scan := newRunner(t, fake, actionDemo(t))
	scan.event, scan.ref, scan.token = "pull_request_fork.json", "refs/pull/43/merge", forkToken
	// As in docs/action.md: the directory is made by nobody but the action.
	scan.inputs["JSON-FILE"] = "results/apigate.json"
	scan.step()
	if scan.code != exitFindings || len(fake.Calls()) != 0 {
		t.Fatalf("fork scan: exit %d, %d API calls", scan.code, len(fake.Calls()))
	}
	reportFile := filepath.Join(scan.workspace, "results", "apigate.json")
	if _, err := os.Stat(reportFile); err != nil {
		t.Fatalf("json-file not written: %v", err)
	}

	pub := newRunner(t, fake, "http://127.0.0.1:1") // a scan here would fail: nothing listens
	pub.event, pub.ref, pub.workflowEventName = "workflow_run.json", "refs/heads/main", "workflow_run"
	pub.inputs = map[string]string{"PUBLISH-REPORT": reportFile, "PULL-REQUEST": "43",
		"COMMIT-SHA": headSHA, "CATEGORY": "api", "FAIL-ON": "high"}
	pub.step()
	if pub.code != exitFindings || pub.outputsMap["result"] != "fail" {
		t.Fatalf("publish: exit %d, outputs %v\n%s", pub.code, pub.outputsMap, pub.stderr.String())
	}
	ups := fake.Uploads()
	if len(ups) != 1 || ups[0].Ref != "refs/pull/43/head" || ups[0].CommitSHA != headSHA {
		t.Fatalf("uploads = %+v", ups)
	}
	cs := fake.Comments(43)
	if len(cs) != 1 || !strings.HasPrefix(cs[0].Body, report.CommentMarker("api")) {
		t.Errorf("comments on #43: %+v", cs)
	}
	if strings.Contains(pub.stdout.String(), "stop-commands") {
		t.Error("publish mode ran a scan")
	}

	pub.inputs["COMMIT-SHA"] = "HEAD; rm -rf /"
	pub.step()
	if pub.code != exitUsage {
		t.Errorf("a malformed commit-sha was accepted: exit %d", pub.code)
	}
}
