package github

import (
	"context"
	"fmt"
	"strings"
	"time"

	gh "github.com/google/go-github/v62/github"
)

// botLogin is the author of comments made with the workflow's GITHUB_TOKEN.
const botLogin = "github-actions[bot]"

// Comment is an existing pull request comment.
type Comment struct {
	ID   int64
	Body string
}

// author returns the logins whose comments count as ours: the token's own user when the
// token may read it (a personal or app token), and always github-actions[bot], the author
// of GITHUB_TOKEN comments (whose GET /user answers 403).
func (c *Client) authors(ctx context.Context) map[string]bool {
	logins := map[string]bool{botLogin: true}
	var u *gh.User
	err := c.do(ctx, "get token user", func() (*gh.Response, error) {
		var resp *gh.Response
		var err error
		u, resp, err = c.gh.Users.Get(ctx, "")
		return resp, err
	})
	if err == nil && u.GetLogin() != "" {
		logins[strings.ToLower(u.GetLogin())] = true
	}
	return logins
}

// FindComment pages through the pull request's comments and returns the newest one that
// carries marker and was written by the token's user or github-actions[bot], so a marker
// pasted by someone else is never edited. It returns nil when there is none.
func (c *Client) FindComment(ctx context.Context, pr int, marker string) (*Comment, error) {
	authors := c.authors(ctx)
	opts := &gh.IssueListCommentsOptions{ListOptions: gh.ListOptions{PerPage: 100}}
	var found *Comment
	for page := 0; page < 100; page++ {
		var list []*gh.IssueComment
		var resp *gh.Response
		err := c.do(ctx, "list pull request comments", func() (*gh.Response, error) {
			var err error
			list, resp, err = c.gh.Issues.ListComments(ctx, c.owner, c.repo, pr, opts)
			return resp, err
		})
		if err != nil {
			return nil, err
		}
		for _, ic := range list {
			login := strings.ToLower(ic.GetUser().GetLogin())
			if authors[login] && strings.Contains(ic.GetBody(), marker) {
				found = &Comment{ID: ic.GetID(), Body: ic.GetBody()}
			}
		}
		if resp == nil || resp.NextPage == 0 {
			return found, nil
		}
		opts.Page = resp.NextPage
	}
	return found, nil
}

// UpsertComment edits the existing comment in place when there is one, else creates it.
// It returns the comment's id and whether it was created. marker finds a comment that an
// earlier, seemingly failed create may have made (see createComment).
func (c *Client) UpsertComment(ctx context.Context, pr int, existing *Comment, body,
	marker string) (int64, bool, error) {
	if existing != nil {
		id, err := c.editComment(ctx, existing.ID, body)
		return id, false, err
	}
	return c.createComment(ctx, pr, body, marker)
}

func (c *Client) editComment(ctx context.Context, id int64, body string) (int64, error) {
	var out *gh.IssueComment
	err := c.do(ctx, "edit pull request comment", func() (*gh.Response, error) {
		var resp *gh.Response
		var err error
		out, resp, err = c.gh.Issues.EditComment(ctx, c.owner, c.repo, id,
			&gh.IssueComment{Body: gh.String(body)})
		return resp, err
	})
	if err != nil {
		return 0, err
	}
	return out.GetID(), nil
}

// createComment posts the comment. A create is not idempotent: a 502 or a dropped
// connection may come after GitHub stored the comment, and posting again would leave two
// sticky comments, the older one orphaned. So a failed create is never simply repeated:
// before each retry the comments are listed again, and a comment of ours carrying marker
// is edited instead.
func (c *Client) createComment(ctx context.Context, pr int, body, marker string) (int64, bool, error) {
	var err error
	for i := 0; i < c.attempts; i++ {
		if i > 0 {
			found, ferr := c.FindComment(ctx, pr, marker)
			if ferr != nil {
				return 0, false, fmt.Errorf("create pull request comment: %w (then: %w)", err, ferr)
			}
			if found != nil {
				c.log.Info("github: the failed create had made the comment; editing it",
					"id", found.ID)
				id, eerr := c.editComment(ctx, found.ID, body)
				return id, true, eerr
			}
		}
		var out *gh.IssueComment
		var resp *gh.Response
		out, resp, err = c.gh.Issues.CreateComment(ctx, c.owner, c.repo, pr,
			&gh.IssueComment{Body: gh.String(body)})
		if err == nil {
			return out.GetID(), true, nil
		}
		wait, transient := c.retryAfter(ctx, resp, err, i)
		if !transient || i == c.attempts-1 {
			break
		}
		c.log.Warn("github: transient failure, retrying", "call", "create pull request comment",
			"wait", wait, "err", err)
		select {
		case <-ctx.Done():
			return 0, false, fmt.Errorf("create pull request comment: %w", ctx.Err())
		case <-time.After(wait):
		}
	}
	return 0, false, fmt.Errorf("create pull request comment: %w", err)
}
