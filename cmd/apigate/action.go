package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sethvargo/go-githubactions"

	"github.com/apigate/apigate/internal/config"
	"github.com/apigate/apigate/internal/finding"
	ghaction "github.com/apigate/apigate/internal/github"
	"github.com/apigate/apigate/internal/report"
	"github.com/apigate/apigate/internal/scan"
)

// actionInputs are the action's inputs (action.yml), read from INPUT_* variables.
type actionInputs struct {
	ComposeFile      string
	Config           string
	TargetURL        string
	Service          string
	Port             string
	OpenAPI          string
	FailOn           string
	Token            string
	UploadSARIF      bool
	Comment          bool
	Annotations      bool
	SARIFFile        string
	Category         string
	WorkingDirectory string
	Timeout          time.Duration
	AllowHosts       []string

	// JSONFile, when set, keeps the scan's JSON report (for a later publishing job).
	JSONFile string
	// PublishReport is a JSON report of an earlier scan: the action publishes it instead of
	// scanning (the trusted half of the fork-safe split, run from workflow_run).
	PublishReport string
	// PullRequest, CommitSHA and Ref say where to publish when the event does not (a
	// workflow_run job publishing a pull request's results).
	PullRequest int
	CommitSHA   string
	Ref         string
}

// actionOutputs lists the outputs in the order they are written.
var actionOutputs = []string{"result", "findings", "critical", "high", "medium", "low",
	"info", "sarif-file", "sarif-id", "comment-id"}

// cmdAction is the container action's entrypoint: it scans with the CLI pipeline, then
// publishes the results (code scanning, sticky PR comment, annotations, job summary) and
// sets the step outputs. Findings alone decide the exit code; a publishing failure is a
// warning and never turns a failing scan green.
func cmdAction(args []string, stdout, stderr io.Writer) (int, error) {
	fs := flagSet("action", stderr)
	if err := parseFlags(fs, args); err != nil {
		return exitUsage, err
	}
	a := githubactions.New(githubactions.WithWriter(stdout))
	in, err := readActionInputs(a)
	if err != nil {
		a.Errorf("apigate: %v", err)
		setActionOutputs(a, map[string]string{"result": "error"})
		return exitUsage, err
	}
	log := newLogger(stderr, a.Getenv("RUNNER_DEBUG") == "1")

	env, err := ghaction.ReadEnv(a.Getenv)
	if err != nil {
		a.Errorf("apigate: %v", err)
		setActionOutputs(a, map[string]string{"result": "error"})
		return exitUsage, err
	}
	workspace := env.Workspace
	if workspace == "" {
		workspace, _ = os.Getwd()
	}
	if in.WorkingDirectory != "" {
		dir := in.WorkingDirectory
		if !filepath.IsAbs(dir) {
			dir = filepath.Join(workspace, dir)
		}
		if err := os.Chdir(dir); err != nil {
			err = usagef("working-directory: %v", err)
			a.Errorf("apigate: %v", err)
			setActionOutputs(a, map[string]string{"result": "error"})
			return exitUsage, err
		}
	}
	maskConfigSecrets(a, in.Config)
	if err := checkActionOutputs(in, workspace); err != nil {
		a.Errorf("apigate: %v", err)
		setActionOutputs(a, map[string]string{"result": "error"})
		return exitUsage, err
	}
	sarifPath, _ := filepath.Abs(in.SARIFFile)

	// RUNNER_TEMP (/github/runner_temp) is mounted by the runner; /tmp exists in the image.
	tmp, err := os.MkdirTemp(a.Getenv("RUNNER_TEMP"), "apigate-action-")
	if err != nil {
		return exitError, fmt.Errorf("temp dir: %w", err)
	}
	defer os.RemoveAll(tmp)
	jsonPath := filepath.Join(tmp, "report.json")

	applyPublishTarget(env, in)

	var code int
	var scanErr error
	if in.PublishReport != "" {
		jsonPath = in.PublishReport
	} else {
		code, scanErr = runActionScan(a, in, jsonPath, stdout, stderr)
	}
	rep, readErr := readReport(jsonPath)
	if readErr == nil && !rep.Complete() {
		readErr = fmt.Errorf("%s is the report of a scan that did not complete: %s", jsonPath, rep.Error)
	}
	if in.PublishReport != "" && readErr == nil {
		// Publishing an earlier scan: its findings decide, as they did there.
		if threshold, _ := failThreshold(in.FailOn); rep.AtOrAbove(threshold) > 0 {
			code = exitFindings
		}
	}
	result := "pass"
	switch {
	case code == exitFindings:
		result = "fail"
	case code != exitOK:
		result = "error"
	}
	ropts := report.Options{Category: in.Category, SourceRoot: workspace,
		DefaultLocation: anchorFile(in, env, workspace)}
	if readErr != nil || code > exitFindings {
		// A failed scan's report is partial: uploading it would close alerts that were
		// never re-tested, and its comment would count them as fixed. Say so, leave a
		// failed report in the report files, and stop.
		msg := "the scan did not complete"
		if scanErr != nil {
			msg = scanErr.Error()
		} else if readErr != nil {
			msg = readErr.Error()
		}
		a.Errorf("apigate: %s; nothing was published", msg)
		outs := leaveActionFailureReports(a, in, rep, msg, sarifPath, workspace, ropts)
		summary := "## apigate API security scan\n\n⛔ **The scan did not complete**, so no " +
			"result was published (a partial one would mark untested findings as fixed).\n\n" +
			"> " + strings.ReplaceAll(html.EscapeString(msg), "\n", "\n> ") + "\n"
		if outs["sarif-file"] != "" {
			summary += "\nThe SARIF file holds this failed run's report " +
				"(`executionSuccessful: false`); it was not uploaded.\n"
		}
		if err := ghaction.WriteSummary(a, summary); err != nil {
			log.Warn("apigate: " + err.Error())
		}
		setActionOutputs(a, outs)
		if code <= exitFindings {
			code = exitError
		}
		return code, scanErr
	}

	relativizeLocations(rep, workspace)
	if in.JSONFile != "" && in.PublishReport == "" {
		if err := writeFile(in.JSONFile, "json", rep, report.Options{}); err != nil {
			a.Warningf("apigate: %v", err)
		}
	}
	if err := writeFile(sarifPath, "sarif", rep, ropts); err != nil {
		a.Errorf("apigate: %v", err)
		setActionOutputs(a, map[string]string{"result": "error"})
		return exitError, err
	}
	sarifData, err := os.ReadFile(sarifPath)
	if err != nil {
		return exitError, fmt.Errorf("read back sarif: %w", err)
	}

	// Publishing logs its progress at info level: a slow API should not look like a hang.
	pubLog := log
	if !log.Enabled(context.Background(), slog.LevelInfo) {
		pubLog = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	var client *ghaction.Client
	if in.Token != "" && env.Repository != "" {
		client, err = ghaction.NewClient(env.APIURL, in.Token, env.Repository, pubLog)
		if err != nil {
			a.Warningf("apigate: %v; results are not published to GitHub", err)
			client = nil
		}
		if client != nil {
			client.SetRetry(4, actionRetryBase, 30*actionRetryBase)
			client.SetRequestTimeout(actionRequestTimeout)
		}
	}
	threshold, _ := failThreshold(in.FailOn)
	pubCtx, cancel := context.WithTimeout(context.Background(), actionPublishBudget)
	defer cancel()
	pubCtx, stopSignals := signal.NotifyContext(pubCtx, os.Interrupt, syscall.SIGTERM)
	defer stopSignals()
	newTracker(pubCtx).Enter(scan.PhasePublish)
	pub := (&ghaction.Publisher{Action: a, Env: env, Client: client, Log: pubLog}).Publish(pubCtx, rep,
		ghaction.PublishOptions{
			UploadSARIF: in.UploadSARIF, Comment: in.Comment, Annotations: in.Annotations,
			SARIF: sarifData, FailOn: threshold, Report: ropts,
			FirstPoll: actionFirstPoll,
		})
	counts := rep.CountBySeverity()
	outs := map[string]string{
		"result":     result,
		"findings":   strconv.Itoa(len(rep.Active())),
		"critical":   strconv.Itoa(counts[finding.SeverityCritical]),
		"high":       strconv.Itoa(counts[finding.SeverityHigh]),
		"medium":     strconv.Itoa(counts[finding.SeverityMedium]),
		"low":        strconv.Itoa(counts[finding.SeverityLow]),
		"info":       strconv.Itoa(counts[finding.SeverityInfo]),
		"sarif-file": sarifPath,
		"sarif-id":   pub.SARIFID,
	}
	if errors.Is(pubCtx.Err(), context.Canceled) {
		// The counts are this scan's; the result is not: the step was stopped.
		outs["result"] = "error"
		setActionOutputs(a, outs)
		a.Errorf("apigate: interrupted while publishing; what reached GitHub may be incomplete")
		return exitInterrupted, errors.New("interrupted during publishing; what reached GitHub may be incomplete")
	}
	if errors.Is(pubCtx.Err(), context.DeadlineExceeded) {
		a.Warningf("apigate: publishing stopped after %s; what reached GitHub may be incomplete "+
			"(the findings still decide this step)", actionPublishBudget)
	}
	if pub.CommentID != 0 {
		outs["comment-id"] = strconv.FormatInt(pub.CommentID, 10)
	}
	setActionOutputs(a, outs)
	if code == exitFindings {
		a.Errorf("apigate: %d finding(s) at or above %s", rep.AtOrAbove(threshold), in.FailOn)
	}
	return code, nil
}

// readActionInputs reads and checks the inputs; defaults match action.yml so the binary
// behaves the same when run outside the action's metadata (tests, other CI systems).
func readActionInputs(a *githubactions.Action) (actionInputs, error) {
	get := func(name, def string) string {
		if v := a.GetInput(name); v != "" {
			return v
		}
		return def
	}
	in := actionInputs{
		ComposeFile:      get("compose-file", ""),
		Config:           get("config", ""),
		TargetURL:        get("target-url", ""),
		Service:          get("service", ""),
		Port:             get("port", ""),
		OpenAPI:          get("openapi", ""),
		FailOn:           get("fail-on", ""),
		Token:            get("token", ""),
		SARIFFile:        get("sarif-file", "apigate.sarif"),
		Category:         get("category", report.DefaultCategory),
		WorkingDirectory: get("working-directory", ""),
		JSONFile:         get("json-file", ""),
		PublishReport:    get("publish-report", ""),
		CommitSHA:        strings.ToLower(get("commit-sha", "")),
		Ref:              get("ref", ""),
	}
	// Mask the token before anything else can print it.
	if in.Token != "" {
		a.AddMask(in.Token)
	}
	var err error
	for _, b := range []struct {
		name string
		dst  *bool
	}{{"upload-sarif", &in.UploadSARIF}, {"comment", &in.Comment}, {"annotations", &in.Annotations}} {
		if *b.dst, err = parseBoolInput(b.name, get(b.name, "true")); err != nil {
			return in, err
		}
	}
	if in.Timeout, err = time.ParseDuration(get("timeout", "10m")); err != nil || in.Timeout <= 0 {
		return in, usagef("input timeout %q: want a duration such as 10m", get("timeout", ""))
	}
	if in.FailOn == "" {
		in.FailOn = configFailOn(in.Config, in.WorkingDirectory)
	}
	if _, err := failThreshold(in.FailOn); err != nil {
		return in, usagef("input fail-on %q: want critical, high, medium, low, info or none", in.FailOn)
	}
	for _, h := range strings.FieldsFunc(get("allow-hosts", ""), func(r rune) bool {
		return r == ',' || r == '\n' || r == ' '
	}) {
		in.AllowHosts = append(in.AllowHosts, h)
	}
	if v := get("pull-request", ""); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return in, usagef("input pull-request %q: want a pull request number", v)
		}
		in.PullRequest = n
	}
	if in.CommitSHA != "" && !regexp.MustCompile(`^[0-9a-f]{40}$`).MatchString(in.CommitSHA) {
		return in, usagef("input commit-sha %q: want a full 40-hex commit", in.CommitSHA)
	}
	if in.Ref != "" && !strings.HasPrefix(in.Ref, "refs/") {
		return in, usagef("input ref %q: want a full ref such as refs/pull/42/head", in.Ref)
	}
	if in.PublishReport != "" {
		return in, nil
	}
	if in.ComposeFile == "" && in.TargetURL == "" && in.Config == "" &&
		config.Find(".") == "" && (in.WorkingDirectory == "" ||
		config.Find(in.WorkingDirectory) == "") {
		return in, usagef("set compose-file, target-url or config (or commit %s)", config.DefaultFile)
	}
	return in, nil
}

// applyPublishTarget points publishing at the pull request, commit and ref the inputs
// name, for runs whose event carries none (workflow_run). A pull request given this way is
// published to from the base repository's context: its head commit is analysed, so the
// ref is refs/pull/N/head.
func applyPublishTarget(env *ghaction.Env, in actionInputs) {
	if in.CommitSHA != "" {
		env.SHA = in.CommitSHA
	}
	if in.PullRequest > 0 && env.PR == nil {
		env.PR = &ghaction.PullRequest{Number: in.PullRequest, HeadSHA: in.CommitSHA,
			HeadRepo: env.Repository}
		if in.Ref == "" {
			env.Ref = fmt.Sprintf("refs/pull/%d/head", in.PullRequest)
		}
	}
	if in.Ref != "" {
		env.Ref = in.Ref
	}
}

// configFailOn is the config file's fail-on, else high: an unset input defers to the
// config, as the CLI does.
func configFailOn(path, dir string) string {
	if path == "" {
		path = config.Find(".")
	}
	if path == "" && dir != "" {
		path = config.Find(dir)
	}
	if path != "" {
		if cfg, err := config.Load(path, config.Options{}); err == nil && cfg.FailOn != "" {
			return cfg.FailOn
		}
	}
	return "high"
}

func parseBoolInput(name, v string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true", "yes", "1", "on":
		return true, nil
	case "false", "no", "0", "off":
		return false, nil
	}
	return false, usagef("input %s %q: want true or false", name, v)
}

// scanArgs turns the inputs into the scan command's flags, so the action runs exactly the
// pipeline `apigate scan` runs, compose and config included.
func (in actionInputs) scanArgs(jsonPath string) []string {
	args := []string{"--format", "text", "--json", jsonPath, "--fail-on", in.FailOn,
		"--timeout", in.Timeout.String()}
	add := func(flag, v string) {
		if v != "" {
			args = append(args, flag, v)
		}
	}
	add("--compose", in.ComposeFile)
	add("--service", in.Service)
	add("--port", in.Port)
	add("--url", in.TargetURL)
	add("--openapi", in.OpenAPI)
	add("--config", in.Config)
	for _, h := range in.AllowHosts {
		add("--allow-host", h)
	}
	return args
}

// runActionScan runs the scan with its console report in the log. Workflow commands are
// stopped meanwhile: the report quotes API responses, and a response line such as
// "::add-mask::" or "::error::" must not become a command.
func runActionScan(a *githubactions.Action, in actionInputs, jsonPath string,
	stdout, stderr io.Writer) (int, error) {
	token := make([]byte, 16)
	if _, err := rand.Read(token); err != nil {
		return exitError, fmt.Errorf("stop-commands token: %w", err)
	}
	resume := hex.EncodeToString(token)
	a.Group("apigate scan")
	fmt.Fprintf(stdout, "::stop-commands::%s\n", resume)
	code, err := cmdScan(in.scanArgs(jsonPath), stdout, stderr)
	fmt.Fprintf(stdout, "::%s::\n", resume)
	a.EndGroup()
	if err != nil {
		var ue usageError
		if errors.As(err, &ue) && code == exitOK {
			code = exitUsage
		}
		if code == exitOK || code == exitFindings {
			code = exitError
		}
	}
	return code, err
}

func readReport(path string) (*finding.Report, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("the scan wrote no report: %w", err)
	}
	var rep finding.Report
	if err := json.Unmarshal(data, &rep); err != nil {
		return nil, fmt.Errorf("read report: %w", err)
	}
	return &rep, nil
}

// relativizeLocations makes every finding location relative to the repository root (the
// workspace), as code scanning and annotations expect. The scan writes them relative to
// the root already; a path that exists only relative to the working directory is
// rewritten.
func relativizeLocations(rep *finding.Report, workspace string) {
	for i := range rep.Findings {
		l := rep.Findings[i].Location
		if l == nil || l.File == "" || strings.Contains(l.File, "://") {
			continue
		}
		if !filepath.IsAbs(l.File) && ghaction.Exists(filepath.Join(workspace, l.File)) {
			continue
		}
		if ghaction.Exists(l.File) {
			if p := repoRelative(l.File, workspace); p != "" {
				l.File = p
			}
		}
	}
}

// repoRelative returns path relative to workspace, or "" when it lies outside.
func repoRelative(path, workspace string) string {
	abs, err := filepath.Abs(path)
	if err != nil || workspace == "" {
		return ""
	}
	ws, err := filepath.Abs(workspace)
	if err != nil {
		return ""
	}
	rel, err := filepath.Rel(ws, abs)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return ""
	}
	return filepath.ToSlash(rel)
}

// anchorFile is the repository file findings without a source line are anchored to: the
// OpenAPI document, the compose file, the config, else the running workflow file, which
// always exists in the repository.
func anchorFile(in actionInputs, env *ghaction.Env, workspace string) string {
	cfg := in.Config
	if cfg == "" {
		cfg = config.Find(".")
	}
	for _, f := range []string{in.OpenAPI, in.ComposeFile, cfg} {
		if f == "" || !ghaction.Exists(f) {
			continue
		}
		if p := repoRelative(f, workspace); p != "" {
			return p
		}
	}
	return env.WorkflowFile()
}

// maskConfigSecrets masks every secret the config holds (identity tokens, passwords,
// header and cookie values) before the scan can log anything.
func maskConfigSecrets(a *githubactions.Action, path string) {
	if path == "" {
		path = config.Find(".")
	}
	if path == "" {
		return
	}
	cfg, err := config.Load(path, config.Options{})
	if err != nil {
		return // the scan reports the config error itself
	}
	for _, s := range cfg.Secrets() {
		for _, line := range strings.Split(s, "\n") {
			if strings.TrimSpace(line) != "" {
				a.AddMask(line)
			}
		}
	}
}

func setActionOutputs(a *githubactions.Action, outs map[string]string) {
	if err := ghaction.SetOutputs(a, outs, actionOutputs); err != nil {
		slog.Warn("apigate: " + err.Error())
	}
}

// Publishing waits: the first retry pause of a transient API failure, the first pause
// between SARIF processing status reads, the bound on one API request and on the whole
// publishing phase (a hanging API costs at most that, with progress on stderr meanwhile).
// Tests shorten them.
var (
	actionRetryBase      = time.Second
	actionFirstPoll      = 3 * time.Second
	actionRequestTimeout = ghaction.DefaultRequestTimeout
	actionPublishBudget  = 60 * time.Second
)
