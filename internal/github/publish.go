package github

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/sethvargo/go-githubactions"

	"github.com/apigate/apigate/internal/finding"
	"github.com/apigate/apigate/internal/report"
)

// Publisher writes one scan's results to every place the inputs ask for.
type Publisher struct {
	Action *githubactions.Action
	Env    *Env
	// Client is nil when there is no token; the API writes are then skipped.
	Client *Client
	Log    *slog.Logger
}

// PublishOptions are the action inputs that shape publishing.
type PublishOptions struct {
	UploadSARIF bool
	Comment     bool
	Annotations bool
	// SARIF is the file to upload, already written to disk by the caller.
	SARIF []byte
	// FailOn is the threshold the verdict line names.
	FailOn finding.Severity
	// Report carries category, rules, source root and fallback location.
	Report report.Options
	// ProcessingWait bounds the wait for code scanning to process the upload; FirstPoll is
	// the first pause between status reads.
	ProcessingWait time.Duration
	FirstPoll      time.Duration
}

// Published says what happened, for the outputs and the tests.
type Published struct {
	SARIFID          string
	SARIFStatus      string
	CommentID        int64
	CommentCreated   bool
	Annotations      int
	SummaryWritten   bool
	Skipped          []string // writes skipped, with why
	Errors           []error  // writes that failed
	HasPrevious      bool
	PreviousFindings int
}

// Publish writes the report: SARIF upload, sticky comment, annotations, job summary. API
// writes the token may not do are skipped with one notice; other failures become warnings.
// Nothing here decides the exit code.
func (p *Publisher) Publish(ctx context.Context, rep *finding.Report, o PublishOptions) Published {
	var out Published
	a := p.Action
	category := o.Report.Category
	if category == "" {
		category = report.DefaultCategory
	}
	canWrite := p.Client != nil && !p.Env.IsFork()
	skip := func(what, why string) { out.Skipped = append(out.Skipped, what+": "+why) }
	switch {
	case p.Env.IsFork():
		if o.UploadSARIF {
			skip("code scanning upload", "fork pull request")
		}
		if o.Comment {
			skip("pull request comment", "fork pull request")
		}
	case p.Client == nil:
		if o.UploadSARIF || o.Comment {
			skip("code scanning upload and pull request comment", "no token input")
		}
	}

	// The previous comment is read first: its fingerprints give the new/fixed counts that
	// both the comment and the summary show.
	var existing *Comment
	wantComment := o.Comment && p.Env.PR != nil && p.Env.PR.Number > 0
	if wantComment && canWrite {
		p.log().Info("publishing: reading the pull request's comments", "pr", p.Env.PR.Number)
		c, err := p.Client.FindComment(ctx, p.Env.PR.Number, report.CommentMarker(category))
		switch {
		case err == nil:
			existing = c
		case IsNotPermitted(err):
			skip("pull request comment", describe(err, "pull-requests: write"))
			wantComment = false
		default:
			out.Errors = append(out.Errors, err)
			wantComment = false
		}
	}
	md := report.MarkdownOptions{Options: o.Report, FailOn: o.FailOn, FileURL: p.Env.FileURL()}
	if existing != nil {
		md.Previous, md.HasPrevious = report.ParseFingerprints(existing.Body, category)
		out.HasPrevious, out.PreviousFindings = md.HasPrevious, len(md.Previous)
	}
	md.Footer = p.footer()

	if o.UploadSARIF && canWrite {
		p.upload(ctx, o, &out)
	}
	// The comment is tried whatever the upload did: a token may hold pull-requests: write
	// without security-events: write, and each refusal is reported for its own endpoint.
	if wantComment && canWrite {
		md.MaxBytes = report.MaxCommentBytes
		body := report.MarkdownReport(rep, md)
		p.log().Info("publishing: writing the sticky comment", "pr", p.Env.PR.Number)
		id, created, err := p.Client.UpsertComment(ctx, p.Env.PR.Number, existing, body,
			report.CommentMarker(category))
		switch {
		case err == nil:
			out.CommentID, out.CommentCreated = id, created
		case IsNotPermitted(err):
			skip("pull request comment", describe(err, "pull-requests: write"))
		default:
			out.Errors = append(out.Errors, err)
		}
	}

	if o.Annotations {
		reserve := 0
		if o.FailOn > 0 && rep.AtOrAbove(o.FailOn) > 0 {
			reserve = 1 // the verdict the caller writes as an error annotation
		}
		out.Annotations = Annotate(a, rep, "the job summary and the Security tab", reserve)
	}
	md.MaxBytes = report.MaxSummaryBytes
	if err := WriteSummary(a, report.MarkdownReport(rep, md)); err != nil {
		out.Errors = append(out.Errors, err)
	} else {
		out.SummaryWritten = true
	}

	if len(out.Skipped) > 0 {
		a.WithFieldsMap(map[string]string{"title": "apigate: some results were not published"}).
			Noticef("Skipped %s. The findings are in the annotations, the job summary and "+
				"the SARIF file, and they still decide this step's result.%s",
				strings.Join(out.Skipped, "; "), skipHint(p.Env.IsFork()))
	}
	for _, err := range out.Errors {
		a.Warningf("apigate: publishing failed: %v", err)
	}
	return out
}

func (p *Publisher) upload(ctx context.Context, o PublishOptions, out *Published) {
	sha, ref, err := p.Env.AnalysisRef()
	if err != nil {
		out.Errors = append(out.Errors, fmt.Errorf("code scanning upload: %w", err))
		return
	}
	p.log().Info("publishing: uploading SARIF to code scanning", "ref", ref)
	u := Upload{CommitSHA: sha, Ref: ref, StartedAt: time.Now()}
	if p.Env.Workspace != "" {
		u.CheckoutURI = "file://" + strings.TrimSuffix(p.Env.Workspace, "/") + "/"
	}
	id, err := p.Client.UploadSARIF(ctx, o.SARIF, u)
	switch {
	case err == nil:
		out.SARIFID = id
	case IsNotPermitted(err):
		reason := describe(err, "security-events: write")
		if StatusOf(err) == 404 || strings.Contains(strings.ToLower(err.Error()), "not enabled") ||
			strings.Contains(strings.ToLower(err.Error()), "advanced security") {
			reason = "code scanning is not enabled for this repository (" + reason + ")"
		}
		out.Skipped = append(out.Skipped, "code scanning upload: "+reason)
		return
	default:
		out.Errors = append(out.Errors, err)
		return
	}
	wait := o.ProcessingWait
	if wait <= 0 {
		wait = 2 * time.Minute
	}
	if dl, ok := ctx.Deadline(); ok {
		// Waiting for processing is worth less than the comment after it: it may take
		// at most half of what is left.
		wait = min(wait, time.Until(dl)/2)
	}
	p.log().Info("publishing: waiting for code scanning to process the upload", "id", id,
		"max_wait", wait.Round(time.Second))
	first := o.FirstPoll
	if first <= 0 {
		first = 3 * time.Second
	}
	st, err := p.Client.WaitForProcessing(ctx, id, wait, first)
	out.SARIFStatus = st.Status
	switch {
	case err != nil:
		out.Errors = append(out.Errors, err)
	case st.Status == "failed":
		out.Errors = append(out.Errors, fmt.Errorf("code scanning could not process the SARIF "+
			"upload %s: %s", id, strings.Join(st.Errors, "; ")))
	case st.Status != "complete":
		p.log().Info("sarif processing still pending; continuing", "id", id)
	}
}

// skipHint is the one remedy worth naming after the skipped writes.
func skipHint(fork bool) string {
	if fork {
		return " For pull requests from forks, publish from a workflow_run job " +
			"(see docs/action.md)."
	}
	return " Grant the named permissions in the workflow's permissions: block to publish them."
}

func (p *Publisher) footer() string {
	var parts []string
	if u := p.Env.RunURL(); u != "" {
		parts = append(parts, fmt.Sprintf("[workflow run](%s)", u))
	}
	if p.Env.Repository != "" {
		parts = append(parts, fmt.Sprintf("[code scanning alerts](%s/%s/security/code-scanning)",
			p.Env.ServerURL, p.Env.Repository))
	}
	if len(parts) == 0 {
		return ""
	}
	return "<sub>apigate · " + strings.Join(parts, " · ") + "</sub>"
}

// describe turns an API refusal into a short reason naming the one permission that endpoint
// needs. It says nothing about the token as a whole: one endpoint's refusal does not make
// the token read-only for the others.
func describe(err error, permission string) string {
	msg := err.Error()
	switch code := StatusOf(err); {
	case strings.Contains(msg, "Resource not accessible by integration"):
		return fmt.Sprintf("HTTP %d Resource not accessible by integration (the token lacks "+
			"%s)", code, permission)
	case code != 0:
		return fmt.Sprintf("HTTP %d", code)
	}
	return msg
}

// WriteSummary appends to $GITHUB_STEP_SUMMARY; the library panics when it cannot, which
// must not end the action before the outputs and the exit code are set.
func WriteSummary(a *githubactions.Action, md string) (err error) {
	if a.Getenv("GITHUB_STEP_SUMMARY") == "" {
		return errors.New("job summary: GITHUB_STEP_SUMMARY is not set")
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("job summary: %v", r)
		}
	}()
	a.AddStepSummary(md)
	return nil
}

// SetOutputs appends the step outputs to $GITHUB_OUTPUT as name<<delimiter blocks. It
// writes them itself rather than with go-githubactions, whose delimiter is one fixed
// string: a value holding that line (sarif-file is a user-chosen path, sarif-id comes from
// the API) would end its block early and set outputs of its own. Here each block gets a
// fresh random delimiter that the value is checked not to contain.
func SetOutputs(a *githubactions.Action, outputs map[string]string, order []string) error {
	path := a.Getenv("GITHUB_OUTPUT")
	if path == "" {
		return errors.New("outputs: GITHUB_OUTPUT is not set")
	}
	var b strings.Builder
	for _, k := range order {
		v := outputs[k]
		delim, err := outputDelimiter(v)
		if err != nil {
			return fmt.Errorf("outputs: %w", err)
		}
		fmt.Fprintf(&b, "%s<<%s\n%s\n%s\n", k, delim, v, delim)
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("outputs: %w", err)
	}
	if _, err := f.WriteString(b.String()); err != nil {
		f.Close()
		return fmt.Errorf("outputs: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("outputs: %w", err)
	}
	return nil
}

// outputDelimiter returns a random delimiter that does not occur in value.
func outputDelimiter(value string) (string, error) {
	buf := make([]byte, 16)
	for range 3 {
		if _, err := rand.Read(buf); err != nil {
			return "", err
		}
		d := "ghadelimiter_" + hex.EncodeToString(buf)
		if !strings.Contains(value, d) {
			return d, nil
		}
	}
	return "", errors.New("no delimiter fits the value")
}

// Exists reports whether path names a regular file.
func Exists(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular()
}

// log is the publisher's logger; a Publisher built without one logs nothing.
func (p *Publisher) log() *slog.Logger {
	if p.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return p.Log
}
