// Package github is apigate's Actions mode: it reads the runner's environment and event,
// and publishes a report where reviewers look - code scanning (SARIF upload), one sticky pull
// request comment, annotations and the job summary. Publishing is best effort by design: a
// write that the token may not do (fork pull requests, code scanning disabled) is skipped
// with one notice, and no publishing failure ever changes what the findings decide.
package github

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"
)

// Env is what the runner tells a container action about the run, from GITHUB_* variables
// and the event payload at GITHUB_EVENT_PATH.
type Env struct {
	Repository  string // owner/name
	SHA         string
	Ref         string
	EventName   string
	APIURL      string
	ServerURL   string
	Workspace   string
	WorkflowRef string // owner/name/.github/workflows/x.yml@refs/heads/main
	RunID       string

	// PR is set for pull_request and pull_request_target events.
	PR *PullRequest
}

// PullRequest is the part of a pull_request event the action uses.
type PullRequest struct {
	Number   int
	HeadSHA  string
	HeadRepo string // owner/name of the head repository
}

// ReadEnv reads the runner's environment through getenv and parses the event payload.
func ReadEnv(getenv func(string) string) (*Env, error) {
	e := &Env{
		Repository:  getenv("GITHUB_REPOSITORY"),
		SHA:         getenv("GITHUB_SHA"),
		Ref:         getenv("GITHUB_REF"),
		EventName:   getenv("GITHUB_EVENT_NAME"),
		APIURL:      strings.TrimSuffix(getenv("GITHUB_API_URL"), "/"),
		ServerURL:   strings.TrimSuffix(getenv("GITHUB_SERVER_URL"), "/"),
		Workspace:   getenv("GITHUB_WORKSPACE"),
		WorkflowRef: getenv("GITHUB_WORKFLOW_REF"),
		RunID:       getenv("GITHUB_RUN_ID"),
	}
	if e.APIURL == "" {
		e.APIURL = "https://api.github.com"
	}
	if e.ServerURL == "" {
		e.ServerURL = "https://github.com"
	}
	if p := getenv("GITHUB_EVENT_PATH"); p != "" {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("read event payload: %w", err)
		}
		var ev struct {
			Number      int `json:"number"`
			PullRequest *struct {
				Number int `json:"number"`
				Head   struct {
					SHA  string `json:"sha"`
					Repo *struct {
						FullName string `json:"full_name"`
					} `json:"repo"`
				} `json:"head"`
			} `json:"pull_request"`
		}
		if err := json.Unmarshal(data, &ev); err != nil {
			return nil, fmt.Errorf("parse event payload %s: %w", p, err)
		}
		if pr := ev.PullRequest; pr != nil {
			e.PR = &PullRequest{Number: pr.Number, HeadSHA: pr.Head.SHA}
			if e.PR.Number == 0 {
				e.PR.Number = ev.Number
			}
			if pr.Head.Repo != nil {
				e.PR.HeadRepo = pr.Head.Repo.FullName
			}
		}
	}
	return e, nil
}

// Owner and Name split GITHUB_REPOSITORY.
func (e *Env) Owner() string { o, _, _ := strings.Cut(e.Repository, "/"); return o }

// Name is the repository name without its owner.
func (e *Env) Name() string { _, n, _ := strings.Cut(e.Repository, "/"); return n }

// IsFork says the run is for a pull request from another repository, whose GITHUB_TOKEN is
// read-only: writes would fail with 403, so the action does not attempt them. A head
// repository that was deleted counts as a fork too.
func (e *Env) IsFork() bool {
	if e.PR == nil || e.EventName == "pull_request_target" {
		return false
	}
	return !strings.EqualFold(e.PR.HeadRepo, e.Repository)
}

var (
	hexSHA  = regexp.MustCompile(`^[0-9a-f]{40}$`)
	fullRef = regexp.MustCompile(`^refs/(heads|tags|pull)/.+`)
)

// AnalysisRef returns the commit and full ref a SARIF upload belongs to. On a pull request
// the runner checks out the merge commit: GITHUB_SHA with refs/pull/N/merge, as code
// scanning expects for alerts to show on the pull request.
func (e *Env) AnalysisRef() (sha, ref string, err error) {
	sha, ref = e.SHA, e.Ref
	if e.EventName == "pull_request" && e.PR != nil && !strings.HasPrefix(ref, "refs/pull/") {
		ref = fmt.Sprintf("refs/pull/%d/merge", e.PR.Number)
	}
	if !hexSHA.MatchString(sha) {
		return "", "", fmt.Errorf("GITHUB_SHA %q is not a 40-hex commit", sha)
	}
	if !fullRef.MatchString(ref) {
		return "", "", fmt.Errorf("GITHUB_REF %q is not a full ref (refs/heads/..., refs/pull/...)", ref)
	}
	return sha, ref, nil
}

// FileURL is the prefix of links to files at the analysed commit, for the comment and the
// summary. On a pull request it points at the head commit, which the reviewer sees.
func (e *Env) FileURL() string {
	if e.Repository == "" {
		return ""
	}
	sha := e.SHA
	if e.PR != nil && e.PR.HeadSHA != "" {
		sha = e.PR.HeadSHA
	}
	if sha == "" {
		return ""
	}
	return fmt.Sprintf("%s/%s/blob/%s/", e.ServerURL, e.Repository, sha)
}

// WorkflowFile is the repository path of the running workflow file, parsed from
// GITHUB_WORKFLOW_REF, or "" when the run is not a workflow of this repository.
func (e *Env) WorkflowFile() string {
	ref, _, _ := strings.Cut(e.WorkflowRef, "@")
	prefix := e.Repository + "/"
	if e.Repository == "" || !strings.HasPrefix(ref, prefix) {
		return ""
	}
	return strings.TrimPrefix(ref, prefix)
}

// RunURL links to the workflow run, for the comment footer.
func (e *Env) RunURL() string {
	if e.Repository == "" || e.RunID == "" {
		return ""
	}
	return fmt.Sprintf("%s/%s/actions/runs/%s", e.ServerURL, e.Repository, e.RunID)
}
