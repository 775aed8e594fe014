package github

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sethvargo/go-githubactions"

	"github.com/apigate/apigate/internal/finding"
	"github.com/apigate/apigate/internal/github/fakegh"
	"github.com/apigate/apigate/internal/report"
)

const (
	prSHA   = "0123456789abcdef0123456789abcdef01234567"
	rwToken = "ghs_writabletoken0000000000000000000000"
	roToken = "ghs_readonlytoken0000000000000000000000"
)

func newFake(t *testing.T) *fakegh.Server {
	t.Helper()
	f := fakegh.New("acme", "shop")
	t.Cleanup(f.Close)
	f.Tokens[rwToken] = fakegh.Token{Login: "github-actions[bot]", Installation: true}
	f.Tokens[roToken] = fakegh.Token{Login: "github-actions[bot]", Installation: true, ReadOnly: true}
	return f
}

func newClient(t *testing.T, f *fakegh.Server, token string) *Client {
	t.Helper()
	c, err := NewClient(f.URL, token, "acme/shop", nil)
	if err != nil {
		t.Fatal(err)
	}
	c.SetRetry(4, time.Millisecond, 20*time.Millisecond)
	return c
}

func envFor(t *testing.T, event, ref string) *Env {
	t.Helper()
	vars := map[string]string{
		"GITHUB_REPOSITORY": "acme/shop", "GITHUB_SHA": prSHA, "GITHUB_REF": ref,
		"GITHUB_EVENT_NAME": "pull_request", "GITHUB_EVENT_PATH": filepath.Join("testdata", event),
		"GITHUB_WORKSPACE": "/github/workspace", "GITHUB_RUN_ID": "7",
		"GITHUB_WORKFLOW_REF": "acme/shop/.github/workflows/api.yml@refs/pull/42/merge",
	}
	if event == "push.json" {
		vars["GITHUB_EVENT_NAME"] = "push"
	}
	e, err := ReadEnv(func(k string) string { return vars[k] })
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestEnvEvents(t *testing.T) {
	push := envFor(t, "push.json", "refs/heads/main")
	if push.PR != nil || push.IsFork() {
		t.Errorf("push parsed as a pull request: %+v", push.PR)
	}
	if sha, ref, err := push.AnalysisRef(); err != nil || sha != prSHA || ref != "refs/heads/main" {
		t.Errorf("push ref = %s %s %v", sha, ref, err)
	}
	pr := envFor(t, "pull_request.json", "refs/pull/42/merge")
	if pr.PR == nil || pr.PR.Number != 42 || pr.IsFork() {
		t.Errorf("same-repo pull request: %+v fork=%v", pr.PR, pr.IsFork())
	}
	if got := pr.FileURL(); got != "https://github.com/acme/shop/blob/fedcba9876543210fedcba9876543210fedcba98/" {
		t.Errorf("file links should use the head commit: %s", got)
	}
	if got := pr.WorkflowFile(); got != ".github/workflows/api.yml" {
		t.Errorf("workflow file %q", got)
	}
	fork := envFor(t, "pull_request_fork.json", "refs/pull/43/merge")
	if !fork.IsFork() {
		t.Error("fork pull request not detected")
	}
	// A short ref is completed for pull requests; a bad sha is refused before any upload.
	pr.Ref = "main"
	if _, ref, err := pr.AnalysisRef(); err != nil || ref != "refs/pull/42/merge" {
		t.Errorf("ref = %q, %v", ref, err)
	}
	pr.SHA = "abc"
	if _, _, err := pr.AnalysisRef(); err == nil {
		t.Error("short sha accepted")
	}
}

func sarifFor(t *testing.T, rep *finding.Report) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := report.SARIF(&buf, rep, report.Options{DefaultLocation: "openapi.yaml"}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func sampleReport() *finding.Report {
	rep := &finding.Report{Tool: "apigate", Version: "t", Target: "http://127.0.0.1:1"}
	for i, sev := range []finding.Severity{finding.SeverityCritical, finding.SeverityMedium} {
		rep.Findings = append(rep.Findings, finding.Finding{Rule: fmt.Sprintf("r-%d", i),
			Severity: sev, Confidence: finding.ConfidenceHigh, Method: "GET",
			Path: fmt.Sprintf("/p/%d", i), Title: "t", Check: finding.CheckCORS})
	}
	return rep
}

func TestUploadSARIFAndProcessing(t *testing.T) {
	f := newFake(t)
	c := newClient(t, f, rwToken)
	c.SetRetry(4, time.Millisecond, 2*time.Second)
	// A 502, a 429 and a secondary rate limit with Retry-After before the upload goes through.
	f.FailNext("POST sarifs", fakegh.Failure{Status: 502}, fakegh.Failure{Status: 429},
		fakegh.Failure{Secondary: true, RetryAfter: 1})
	start := time.Now()
	ctx := context.Background()
	id, err := c.UploadSARIF(ctx, sarifFor(t, sampleReport()), Upload{CommitSHA: prSHA,
		Ref: "refs/pull/42/merge", CheckoutURI: "file:///github/workspace/", StartedAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if time.Since(start) < time.Second {
		t.Error("the secondary rate limit's Retry-After was not honoured")
	}
	ups := f.Uploads()
	if len(ups) != 1 || ups[0].ID != id || ups[0].Ref != "refs/pull/42/merge" {
		t.Fatalf("uploads = %+v", ups)
	}
	st, err := c.WaitForProcessing(ctx, id, 2*time.Second, time.Millisecond)
	if err != nil || st.Status != "complete" {
		t.Errorf("processing = %+v, %v", st, err)
	}

	f.FailProcessing = true
	id2, _ := c.UploadSARIF(ctx, sarifFor(t, sampleReport()), Upload{CommitSHA: prSHA, Ref: "refs/heads/main"})
	st, _ = c.WaitForProcessing(ctx, id2, 2*time.Second, time.Millisecond)
	if st.Status != "failed" || len(st.Errors) == 0 {
		t.Errorf("failed processing not reported: %+v", st)
	}
}

func TestUploadRefusals(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name   string
		token  string
		off    bool
		up     Upload
		data   []byte
		status int
	}{
		{"read-only token", roToken, false, Upload{CommitSHA: prSHA, Ref: "refs/heads/main"}, nil, 403},
		{"code scanning off", rwToken, true, Upload{CommitSHA: prSHA, Ref: "refs/heads/main"}, nil, 404},
		{"short ref", rwToken, false, Upload{CommitSHA: prSHA, Ref: "main"}, nil, 400},
		{"short sha", rwToken, false, Upload{CommitSHA: "abc", Ref: "refs/heads/main"}, nil, 400},
		{"invalid sarif", rwToken, false, Upload{CommitSHA: prSHA, Ref: "refs/heads/main"},
			[]byte(`{"version":"2.1.0","runs":[]}`), 400},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t)
			f.CodeScanningOff = tc.off
			data := tc.data
			if data == nil {
				data = sarifFor(t, sampleReport())
			}
			_, err := newClient(t, f, tc.token).UploadSARIF(ctx, data, tc.up)
			if StatusOf(err) != tc.status {
				t.Fatalf("status %d (%v), want %d", StatusOf(err), err, tc.status)
			}
			if (tc.status == 403 || tc.status == 404) != IsNotPermitted(err) {
				t.Errorf("IsNotPermitted = %v for %d", IsNotPermitted(err), tc.status)
			}
		})
	}
}

func TestLongRetryAfterGivesUp(t *testing.T) {
	f := newFake(t)
	c := newClient(t, f, rwToken) // waits capped at 20ms
	f.FailNext("POST sarifs", fakegh.Failure{Secondary: true, RetryAfter: 3600})
	_, err := c.UploadSARIF(context.Background(), sarifFor(t, sampleReport()),
		Upload{CommitSHA: prSHA, Ref: "refs/heads/main"})
	if err == nil || len(f.Calls()) != 1 {
		t.Errorf("err=%v calls=%d: an hour-long Retry-After must fail at once", err, len(f.Calls()))
	}
}

func TestRetriesAreBounded(t *testing.T) {
	f := newFake(t)
	c := newClient(t, f, rwToken)
	for range 10 {
		f.FailNext("POST sarifs", fakegh.Failure{Status: 503})
	}
	_, err := c.UploadSARIF(context.Background(), sarifFor(t, sampleReport()),
		Upload{CommitSHA: prSHA, Ref: "refs/heads/main"})
	if StatusOf(err) != 503 {
		t.Fatalf("err = %v", err)
	}
	if n := len(f.Calls()); n != 4 {
		t.Errorf("%d attempts, want 4", n)
	}
}

func TestStickyCommentPagesAndFiltersByAuthor(t *testing.T) {
	f := newFake(t)
	c := newClient(t, f, rwToken)
	marker := report.CommentMarker("apigate")
	// Someone pastes our marker: it must not be taken for ours.
	f.AddComment(42, "mallory", marker+"\nfake")
	for i := range 130 {
		f.AddComment(42, "alice", fmt.Sprintf("comment %d", i))
	}
	ours := f.AddComment(42, "github-actions[bot]", marker+"\nreal")
	ctx := context.Background()
	got, err := c.FindComment(ctx, 42, marker)
	if err != nil {
		t.Fatal(err)
	}
	if got == nil || got.ID != ours {
		t.Fatalf("found %+v, want comment %d (on page 2)", got, ours)
	}
	pages := 0
	for _, call := range f.Calls() {
		if strings.HasSuffix(call.Path, "/issues/42/comments") {
			pages++
		}
	}
	if pages != 2 {
		t.Errorf("listed %d pages, want 2", pages)
	}
	id, created, err := c.UpsertComment(ctx, 42, got, "new body", marker)
	if err != nil || created || id != ours {
		t.Errorf("edit: id=%d created=%v err=%v", id, created, err)
	}
	if cs := f.Comments(42); cs[len(cs)-1].Body != "new body" || len(cs) != 132 {
		t.Errorf("comment not edited in place")
	}
}

func newAction(out *bytes.Buffer, env map[string]string) *githubactions.Action {
	return githubactions.New(githubactions.WithWriter(out),
		githubactions.WithGetenv(func(k string) string { return env[k] }))
}

func TestAnnotationsCapped(t *testing.T) {
	rep := &finding.Report{}
	for i := range 14 {
		rep.Findings = append(rep.Findings, finding.Finding{Rule: "auth-missing",
			Severity: finding.SeverityHigh, Method: "GET", Path: fmt.Sprintf("/h/%d", i),
			Title: "open", Location: &finding.Location{File: "api/openapi.yaml", Line: 10 + i}})
	}
	for i := range 3 {
		rep.Findings = append(rep.Findings, finding.Finding{Rule: "cors",
			Severity: finding.SeverityMedium, Method: "GET", Path: fmt.Sprintf("/m/%d", i),
			Title: "cors\n::error::injected"})
	}
	rep.Findings = append(rep.Findings, finding.Finding{Rule: "hdr", Severity: finding.SeverityLow,
		Method: "GET", Path: "/l", Title: "low"})
	var out bytes.Buffer
	n := Annotate(newAction(&out, nil), rep, "the job summary", 0)
	if n != 13 {
		t.Errorf("annotations = %d, want 10 errors + 3 warnings", n)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	count := func(prefix string) int {
		c := 0
		for _, l := range lines {
			if strings.HasPrefix(l, prefix) {
				c++
			}
		}
		return c
	}
	if count("::error ") != 10 || count("::warning ") != 3 || count("::notice ") != 1 {
		t.Errorf("output:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "file=api/openapi.yaml,line=10,") {
		t.Errorf("no file/line on the first error:\n%s", lines[0])
	}
	if !strings.Contains(out.String(), "5 more finding(s)") {
		t.Errorf("notice does not count the rest:\n%s", out.String())
	}
	if len(lines) != 14 {
		t.Errorf("a message broke onto its own line (injection): %d lines", len(lines))
	}

	// With one error slot reserved for the verdict, 9 findings are errors and 6 are left.
	out.Reset()
	if n := Annotate(newAction(&out, nil), rep, "the job summary", 1); n != 12 ||
		!strings.Contains(out.String(), "6 more finding(s)") {
		t.Errorf("reserve: %d annotations\n%s", n, out.String())
	}
}

func TestPublishForkSkipsWritesWithOneNotice(t *testing.T) {
	f := newFake(t)
	dir := t.TempDir()
	summary := filepath.Join(dir, "summary.md")
	env := envFor(t, "pull_request_fork.json", "refs/pull/43/merge")
	var out bytes.Buffer
	a := newAction(&out, map[string]string{"GITHUB_STEP_SUMMARY": summary})
	p := &Publisher{Action: a, Env: env, Client: newClient(t, f, roToken)}
	res := p.Publish(context.Background(), sampleReport(), PublishOptions{UploadSARIF: true,
		Comment: true, Annotations: true, SARIF: sarifFor(t, sampleReport()),
		FailOn: finding.SeverityHigh})
	if f.Writes() != 0 || len(f.Calls()) != 0 {
		t.Errorf("fork run called the API: %+v", f.Calls())
	}
	if strings.Count(out.String(), "::notice title=apigate%3A some results") != 1 {
		t.Errorf("want exactly one skip notice:\n%s", out.String())
	}
	if !res.SummaryWritten || res.Annotations != 2 {
		t.Errorf("fork run must still annotate and summarise: %+v", res)
	}
	data, _ := os.ReadFile(summary)
	if !strings.Contains(string(data), "❌ **Failed:** 1 finding(s)") {
		t.Errorf("summary:\n%s", data)
	}
}

// TestPublishReadOnlyTokenTriesEachWriteOnce: with a read-only token each write is refused
// on its own; each is tried once (a refusal is not retried), and the one notice names both
// with the permission that endpoint needs.
func TestPublishReadOnlyTokenTriesEachWriteOnce(t *testing.T) {
	f := newFake(t)
	env := envFor(t, "pull_request.json", "refs/pull/42/merge")
	var out bytes.Buffer
	a := newAction(&out, map[string]string{"GITHUB_STEP_SUMMARY": filepath.Join(t.TempDir(), "s")})
	p := &Publisher{Action: a, Env: env, Client: newClient(t, f, roToken)}
	res := p.Publish(context.Background(), sampleReport(), PublishOptions{UploadSARIF: true,
		Comment: true, SARIF: sarifFor(t, sampleReport())})
	if len(res.Errors) != 0 {
		t.Errorf("refusals must be skips, not errors: %v", res.Errors)
	}
	if f.Writes() != 2 {
		t.Errorf("%d write attempts, want 2 (the refused upload and comment)", f.Writes())
	}
	o := out.String()
	if strings.Count(o, "::notice") != 1 ||
		!strings.Contains(o, "code scanning upload: HTTP 403 Resource not accessible by "+
			"integration (the token lacks security-events: write)") ||
		!strings.Contains(o, "pull request comment: HTTP 403 Resource not accessible by "+
			"integration (the token lacks pull-requests: write)") {
		t.Errorf("output:\n%s", o)
	}
	if strings.Contains(o, "read-only") {
		t.Errorf("the notice judges the whole token from one endpoint:\n%s", o)
	}
}

// TestPublishCommentDespiteUploadRefused: a token with pull-requests: write but no
// security-events: write still keeps the sticky comment; only the upload is skipped.
func TestPublishCommentDespiteUploadRefused(t *testing.T) {
	f := newFake(t)
	const tok = "ghs_prwriteonly0000000000000000000000000"
	f.Tokens[tok] = fakegh.Token{Login: "github-actions[bot]", Installation: true,
		NoSecurityEvents: true}
	env := envFor(t, "pull_request.json", "refs/pull/42/merge")
	var out bytes.Buffer
	a := newAction(&out, map[string]string{"GITHUB_STEP_SUMMARY": filepath.Join(t.TempDir(), "s")})
	p := &Publisher{Action: a, Env: env, Client: newClient(t, f, tok)}
	res := p.Publish(context.Background(), sampleReport(), PublishOptions{UploadSARIF: true,
		Comment: true, SARIF: sarifFor(t, sampleReport())})
	if res.CommentID == 0 || len(f.Comments(42)) != 1 {
		t.Fatalf("no comment: %+v", res)
	}
	if len(res.Skipped) != 1 || !strings.HasPrefix(res.Skipped[0], "code scanning upload: ") ||
		!strings.Contains(res.Skipped[0], "security-events: write") {
		t.Errorf("skipped = %q", res.Skipped)
	}
	if o := out.String(); strings.Contains(o, "pull request comment:") ||
		strings.Contains(o, "read-only") {
		t.Errorf("notice:\n%s", o)
	}
}

// TestCommentCreateNotRepeated: GitHub stores the comment but the answer is lost (502).
// The retry must find the comment it made and edit it, not post a second one.
func TestCommentCreateNotRepeated(t *testing.T) {
	f := newFake(t)
	c := newClient(t, f, rwToken)
	marker := report.CommentMarker("api")
	f.FailNext("POST comments", fakegh.Failure{Status: 502, AfterEffect: true})
	id, created, err := c.UpsertComment(context.Background(), 42, nil, marker+"\nbody", marker)
	if err != nil || !created {
		t.Fatalf("id=%d created=%v err=%v", id, created, err)
	}
	cs := f.Comments(42)
	if len(cs) != 1 || cs[0].ID != id {
		t.Fatalf("comments = %+v, want exactly the one with id %d", cs, id)
	}
	posts, patches := 0, 0
	for _, call := range f.Calls() {
		switch call.Method {
		case "POST":
			posts++
		case "PATCH":
			patches++
		}
	}
	if posts != 1 || patches != 1 {
		t.Errorf("%d creates and %d edits, want 1 and 1", posts, patches)
	}

	// A create that failed without effect is tried again after the listing finds nothing.
	f.FailNext("POST comments", fakegh.Failure{Status: 503})
	id2, created, err := c.UpsertComment(context.Background(), 7, nil, marker+"\nb", marker)
	if err != nil || !created || len(f.Comments(7)) != 1 || f.Comments(7)[0].ID != id2 {
		t.Errorf("retry after a plain 503: id=%d err=%v comments=%+v", id2, err, f.Comments(7))
	}
}

// TestHangingAPIIsBounded: a request that hangs is cut by the per-request timeout and
// retried; the caller's deadline ends all attempts together.
func TestHangingAPIIsBounded(t *testing.T) {
	f := newFake(t)
	c := newClient(t, f, rwToken)
	c.SetRequestTimeout(50 * time.Millisecond)
	start := time.Now()
	f.FailNext("POST sarifs", fakegh.Failure{Hang: time.Minute})
	id, err := c.UploadSARIF(context.Background(), sarifFor(t, sampleReport()),
		Upload{CommitSHA: prSHA, Ref: "refs/heads/main"})
	if err != nil || id == "" || time.Since(start) > 5*time.Second {
		t.Fatalf("a timed-out attempt was not retried in time: %v after %s", err,
			time.Since(start))
	}
	for range 10 {
		f.FailNext("POST sarifs", fakegh.Failure{Hang: time.Minute})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Millisecond)
	defer cancel()
	start = time.Now()
	_, err = c.UploadSARIF(ctx, sarifFor(t, sampleReport()),
		Upload{CommitSHA: prSHA, Ref: "refs/heads/main"})
	if err == nil || time.Since(start) > 2*time.Second {
		t.Errorf("err=%v after %s", err, time.Since(start))
	}
}

// TestOutputsSurviveTheLibraryDelimiter: a value holding go-githubactions' fixed delimiter
// line cannot end its block early or set another output.
func TestOutputsSurviveTheLibraryDelimiter(t *testing.T) {
	file := filepath.Join(t.TempDir(), "out")
	a := newAction(new(bytes.Buffer), map[string]string{"GITHUB_OUTPUT": file})
	evil := "/ws/x\n_GitHubActionsFileCommandDelimeter_\nresult<<EOF\npass\nEOF\n.sarif"
	err := SetOutputs(a, map[string]string{"result": "error", "sarif-file": evil},
		[]string{"result", "sarif-file"})
	if err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(file)
	lines := strings.Split(string(data), "\n")
	got := map[string]string{}
	for i := 0; i < len(lines); i++ {
		name, delim, ok := strings.Cut(lines[i], "<<")
		if !ok {
			continue
		}
		var val []string
		for i++; i < len(lines) && lines[i] != delim; i++ {
			val = append(val, lines[i])
		}
		got[name] = strings.Join(val, "\n")
	}
	if got["result"] != "error" || got["sarif-file"] != evil || len(got) != 2 {
		t.Errorf("outputs = %q", got)
	}
}

func TestEnterpriseAPIURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://ghe.example.test/api/v3":  "https://ghe.example.test/api/v3/",
		"https://ghe.example.test/api/v3/": "https://ghe.example.test/api/v3/",
		"https://api.github.com":           "https://api.github.com/",
	} {
		c, err := NewClient(in, "t", "o/r", nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := c.gh.BaseURL.String(); got != want {
			t.Errorf("%s: base %s, want %s", in, got, want)
		}
	}
	if _, err := NewClient("::", "t", "o/r", nil); err == nil {
		t.Error("malformed GITHUB_API_URL accepted")
	}
	if _, err := NewClient("https://api.github.com", "t", "nope", nil); err == nil {
		t.Error("GITHUB_REPOSITORY without owner accepted")
	}
}
