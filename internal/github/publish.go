package github

import (
	"context"
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
		c, err := p.Client.FindComment(ctx, p.Env.PR.Number, report.CommentMarker(category))
		switch {
		case err == nil:
			existing = c
		case IsNotPermitted(err):
			skip("pull request comment", describe(err))
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
	if wantComment && canWrite && !forbidden(out.Skipped) {
		md.MaxBytes = report.MaxCommentBytes
		body := report.MarkdownReport(rep, md)
		id, created, err := p.Client.UpsertComment(ctx, p.Env.PR.Number, existing, body)
		switch {
		case err == nil:
			out.CommentID, out.CommentCreated = id, created
		case IsNotPermitted(err):
			skip("pull request comment", describe(err))
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
				"the SARIF file, and they still decide this step's result. For pull requests "+
				"from forks, publish from a workflow_run job (see docs/action.md).",
				strings.Join(out.Skipped, "; "))
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
	u := Upload{CommitSHA: sha, Ref: ref, StartedAt: time.Now()}
	if p.Env.Workspace != "" {
		u.CheckoutURI = "file://" + strings.TrimSuffix(p.Env.Workspace, "/") + "/"
	}
	id, err := p.Client.UploadSARIF(ctx, o.SARIF, u)
	switch {
	case err == nil:
		out.SARIFID = id
	case IsNotPermitted(err):
		reason := describe(err)
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
		p.Log.Info("sarif processing still pending; continuing", "id", id)
	}
}

// forbidden reports whether an earlier write was refused for lack of permission, so the
// comment is not attempted with the same read-only token.
func forbidden(skipped []string) bool {
	for _, s := range skipped {
		if strings.Contains(s, "Resource not accessible by integration") {
			return true
		}
	}
	return false
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

// describe turns an API refusal into a short reason naming the permission to grant.
func describe(err error) string {
	msg := err.Error()
	switch code := StatusOf(err); {
	case strings.Contains(msg, "Resource not accessible by integration"):
		return "403 Resource not accessible by integration (the token is read-only here; " +
			"grant security-events: write / pull-requests: write)"
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

// SetOutputs writes the step outputs; like writeSummary it turns the library's panic into
// an error.
func SetOutputs(a *githubactions.Action, outputs map[string]string, order []string) (err error) {
	if a.Getenv("GITHUB_OUTPUT") == "" {
		return errors.New("outputs: GITHUB_OUTPUT is not set")
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("outputs: %v", r)
		}
	}()
	for _, k := range order {
		a.SetOutput(k, outputs[k])
	}
	return nil
}

// Exists reports whether path names a regular file.
func Exists(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular()
}
