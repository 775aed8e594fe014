// Package fakegh is a fake GitHub REST API for tests, served on loopback by httptest. It
// enforces the parts of the real contract that apigate's Actions mode depends on, so a test
// passing against it means the requests would be well-formed for GitHub:
//
//   - Authentication: every request needs "Authorization: Bearer <token>" with a known
//     token (401 "Bad credentials" otherwise). A token is an installation token (like
//     GITHUB_TOKEN, author github-actions[bot], GET /user answers 403) or a user token.
//   - Permissions: writes with a read-only token (as on fork pull requests) answer 403
//     "Resource not accessible by integration", as GitHub does.
//   - SARIF upload (POST /repos/{o}/{r}/code-scanning/sarifs): 404 when code scanning is
//     off; otherwise commit_sha must be 40 lowercase hex, ref a full ref
//     (refs/heads/..., refs/tags/..., refs/pull/N/merge|head), sarif gzip then base64,
//     at most 10 MB gzipped (413 above), and the decoded file must pass the SARIF 2.1.0
//     schema and code scanning's rules and limits (sarifcheck) - 400 with the errors
//     otherwise. Success is 202 with {id, url}; GET .../sarifs/{id} answers "pending"
//     first, then "complete" (or "failed" with errors when FailProcessing is set).
//   - Comments: listing paginates (per_page default 30, max 100, page, Link rel="next"),
//     so a client that reads only the first page misses comments; editing someone else's
//     comment answers 403.
//   - Transient failures can be queued per route (5xx, 429, or the secondary rate limit:
//     403 with Retry-After and the secondary-rate-limits documentation URL). A failure can
//     come after the request took effect (the comment is created, then 502 is answered, as
//     when a proxy loses GitHub's answer), or after the server hung for a while.
//
// Every call is recorded.
package fakegh

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/apigate/apigate/internal/report/sarifcheck"
)

// Token describes one credential the fake accepts.
type Token struct {
	Login string
	// Installation tokens (GITHUB_TOKEN) cannot read GET /user.
	Installation bool
	// ReadOnly tokens get 403 on every write, like a fork pull request's GITHUB_TOKEN.
	ReadOnly bool
	// NoSecurityEvents tokens lack security-events: write: the SARIF upload answers 403
	// while comments still work (a permissions: block that names only pull-requests).
	NoSecurityEvents bool
}

// Comment is an issue comment held by the fake.
type Comment struct {
	ID     int64
	Issue  int
	Author string
	Body   string
}

// Upload is an accepted SARIF upload.
type Upload struct {
	ID          string
	CommitSHA   string
	Ref         string
	CheckoutURI string
	ToolName    string
	SARIF       []byte // decoded
	polls       int
}

// Call is one recorded request.
type Call struct {
	Method, Path string
	Status       int
}

// Failure is a transient answer queued for a route.
type Failure struct {
	Status     int
	RetryAfter int  // seconds; 0 for none
	Secondary  bool // a 403 secondary rate limit
	// AfterEffect serves the request first (a create creates) and then answers Status
	// instead of the real answer.
	AfterEffect bool
	// Hang holds the answer this long, or until the client gives up.
	Hang time.Duration
}

// Server is the fake API.
type Server struct {
	*httptest.Server
	Owner, Repo string

	mu sync.Mutex
	// Tokens maps a token string to what it may do.
	Tokens map[string]Token
	// CodeScanningOff makes SARIF uploads answer 404.
	CodeScanningOff bool
	// FailProcessing makes uploaded SARIF end in processing_status "failed".
	FailProcessing bool
	comments       []*Comment
	nextID         int64
	uploads        []*Upload
	calls          []Call
	failures       map[string][]Failure
	// OnRequest, when set, is called with the route of every authenticated request as it
	// arrives (before any queued failure), e.g. to interrupt a client mid-call.
	OnRequest func(route string)
}

// New starts a fake for owner/repo on loopback.
func New(owner, repo string) *Server {
	s := &Server{Owner: owner, Repo: repo, Tokens: map[string]Token{}, nextID: 1000,
		failures: map[string][]Failure{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// AddComment seeds a comment, e.g. from other users, and returns its id.
func (s *Server) AddComment(issue int, author, body string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextID++
	s.comments = append(s.comments, &Comment{ID: s.nextID, Issue: issue, Author: author, Body: body})
	return s.nextID
}

// FailNext queues transient failures for the route "METHOD /path-pattern", where the
// pattern is the route name used in Calls, e.g. "POST sarifs".
func (s *Server) FailNext(route string, f ...Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures[route] = append(s.failures[route], f...)
}

// Comments returns the comments on an issue, oldest first.
func (s *Server) Comments(issue int) []Comment {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Comment
	for _, c := range s.comments {
		if c.Issue == issue {
			out = append(out, *c)
		}
	}
	return out
}

// Uploads returns the accepted SARIF uploads.
func (s *Server) Uploads() []Upload {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Upload, len(s.uploads))
	for i, u := range s.uploads {
		out[i] = *u
	}
	return out
}

// Calls returns every recorded request.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// Writes counts recorded POST, PATCH, PUT and DELETE requests.
func (s *Server) Writes() int {
	n := 0
	for _, c := range s.Calls() {
		if c.Method != http.MethodGet {
			n++
		}
	}
	return n
}

var (
	hex40   = regexp.MustCompile(`^[0-9a-f]{40}$`)
	fullRef = regexp.MustCompile(`^refs/(heads/.+|tags/.+|pull/[0-9]+/(merge|head))$`)
)

type recorder struct {
	http.ResponseWriter
	status int
}

func (r *recorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	rec := &recorder{ResponseWriter: w, status: 200}
	defer func() {
		s.mu.Lock()
		s.calls = append(s.calls, Call{Method: r.Method, Path: r.URL.Path, Status: rec.status})
		s.mu.Unlock()
	}()
	w = rec
	w.Header().Set("Content-Type", "application/json; charset=utf-8")

	auth := r.Header.Get("Authorization")
	tok, ok := s.Tokens[strings.TrimPrefix(auth, "Bearer ")]
	if !strings.HasPrefix(auth, "Bearer ") || !ok {
		writeError(w, http.StatusUnauthorized, "Bad credentials")
		return
	}

	repoPrefix := fmt.Sprintf("/repos/%s/%s/", s.Owner, s.Repo)
	path := r.URL.Path
	var route string
	var rest string
	switch {
	case path == "/user":
		route = "GET user"
	case strings.HasPrefix(path, repoPrefix):
		rest = strings.TrimPrefix(path, repoPrefix)
		route = r.Method + " " + routeName(rest)
	default:
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	if s.OnRequest != nil {
		s.OnRequest(route)
	}
	f, failing := s.nextFailure(route)
	if failing && f.Hang > 0 {
		// The server notices a client that gave up only once the body has been read.
		body, _ := io.ReadAll(io.LimitReader(r.Body, 20<<20))
		r.Body = io.NopCloser(bytes.NewReader(body))
		select {
		case <-r.Context().Done():
			rec.status = 499 // recorded only: the client is gone
			return
		case <-time.After(f.Hang):
		}
		failing = f.Status != 0 // a hang alone ends in the real answer
	}
	if failing && !f.AfterEffect {
		writeFailure(w, f)
		return
	}
	if failing {
		// Serve for real, throw the answer away, and fail instead.
		s.route(discard{header: http.Header{}}, r, route, rest, tok)
		writeFailure(w, f)
		return
	}
	s.route(w, r, route, rest, tok)
}

// discard is a ResponseWriter that drops the answer of a request served for its effect.
type discard struct{ header http.Header }

func (d discard) Header() http.Header         { return d.header }
func (d discard) Write(b []byte) (int, error) { return len(b), nil }
func (d discard) WriteHeader(int)             {}

func (s *Server) route(w http.ResponseWriter, r *http.Request, route, rest string, tok Token) {
	switch {
	case route == "GET user":
		if tok.Installation {
			writeError(w, http.StatusForbidden, "Resource not accessible by integration")
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"login": tok.Login, "id": 1})
	case route == "POST sarifs":
		s.uploadSARIF(w, r, tok)
	case route == "GET sarif":
		s.sarifStatus(w, strings.TrimPrefix(rest, "code-scanning/sarifs/"))
	case route == "GET comments":
		s.listComments(w, r, rest)
	case route == "POST comments":
		s.createComment(w, r, tok, rest)
	case route == "PATCH comment":
		s.editComment(w, r, tok, rest)
	default:
		writeError(w, http.StatusNotFound, "Not Found")
	}
}

// routeName names a repository route independently of its ids.
func routeName(rest string) string {
	switch {
	case rest == "code-scanning/sarifs":
		return "sarifs"
	case strings.HasPrefix(rest, "code-scanning/sarifs/"):
		return "sarif"
	case strings.HasPrefix(rest, "issues/comments/"):
		return "comment"
	case strings.HasPrefix(rest, "issues/") && strings.HasSuffix(rest, "/comments"):
		return "comments"
	}
	return rest
}

func (s *Server) nextFailure(route string) (Failure, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.failures[route]
	if len(q) == 0 {
		return Failure{}, false
	}
	s.failures[route] = q[1:]
	return q[0], true
}

func writeFailure(w http.ResponseWriter, f Failure) {
	if f.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(f.RetryAfter))
	}
	if f.Secondary {
		writeJSON(w, http.StatusForbidden, map[string]string{
			"message":           "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
			"documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits",
		})
		return
	}
	writeError(w, f.Status, http.StatusText(f.Status))
}

func (s *Server) uploadSARIF(w http.ResponseWriter, r *http.Request, tok Token) {
	if s.CodeScanningOff {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	if tok.ReadOnly || tok.NoSecurityEvents {
		writeError(w, http.StatusForbidden, "Resource not accessible by integration")
		return
	}
	var body struct {
		CommitSHA   string `json:"commit_sha"`
		Ref         string `json:"ref"`
		SARIF       string `json:"sarif"`
		CheckoutURI string `json:"checkout_uri"`
		StartedAt   string `json:"started_at"`
		ToolName    string `json:"tool_name"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 20<<20)).Decode(&body); err != nil {
		writeError(w, http.StatusBadRequest, "Problems parsing JSON")
		return
	}
	var problems []string
	if !hex40.MatchString(body.CommitSHA) {
		problems = append(problems, fmt.Sprintf("commit_sha %q is not a 40-hex sha", body.CommitSHA))
	}
	if !fullRef.MatchString(body.Ref) {
		problems = append(problems, fmt.Sprintf("ref %q is not a full git reference", body.Ref))
	}
	if body.StartedAt != "" {
		if _, err := time.Parse(time.RFC3339, body.StartedAt); err != nil {
			problems = append(problems, "started_at is not ISO 8601")
		}
	}
	if body.CheckoutURI != "" && !strings.HasPrefix(body.CheckoutURI, "file://") {
		problems = append(problems, "checkout_uri is not a file URI")
	}
	gz, err := base64.StdEncoding.DecodeString(body.SARIF)
	if err != nil {
		problems = append(problems, "sarif is not base64")
	}
	if len(gz) > 10<<20 {
		writeError(w, http.StatusRequestEntityTooLarge, "Payload Too Large")
		return
	}
	var sarif []byte
	if err == nil {
		zr, zerr := gzip.NewReader(bytes.NewReader(gz))
		if zerr != nil {
			problems = append(problems, "sarif is not gzip-compressed")
		} else if sarif, zerr = io.ReadAll(io.LimitReader(zr, 200<<20)); zerr != nil {
			problems = append(problems, "sarif gzip stream is corrupt")
		}
	}
	if sarif != nil {
		if err := sarifcheck.All(sarif); err != nil {
			problems = append(problems, "invalid SARIF: "+err.Error())
		}
	}
	if len(problems) > 0 {
		writeJSON(w, http.StatusBadRequest, map[string]any{
			"message": "Invalid request. " + strings.Join(problems, "; ")})
		return
	}
	s.mu.Lock()
	s.nextID++
	id := fmt.Sprintf("sarif-%d", s.nextID)
	s.uploads = append(s.uploads, &Upload{ID: id, CommitSHA: body.CommitSHA, Ref: body.Ref,
		CheckoutURI: body.CheckoutURI, ToolName: body.ToolName, SARIF: sarif})
	s.mu.Unlock()
	writeJSON(w, http.StatusAccepted, map[string]string{"id": id,
		"url": s.URL + "/repos/" + s.Owner + "/" + s.Repo + "/code-scanning/sarifs/" + id})
}

func (s *Server) sarifStatus(w http.ResponseWriter, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, u := range s.uploads {
		if u.ID != id {
			continue
		}
		u.polls++
		switch {
		case u.polls == 1:
			writeJSON(w, http.StatusOK, map[string]any{"processing_status": "pending"})
		case s.FailProcessing:
			writeJSON(w, http.StatusOK, map[string]any{"processing_status": "failed",
				"errors": []string{"locationFromSarifResult: expected artifact location"}})
		default:
			writeJSON(w, http.StatusOK, map[string]any{"processing_status": "complete",
				"analyses_url": s.URL + "/repos/" + s.Owner + "/" + s.Repo + "/code-scanning/analyses?sarif_id=" + id})
		}
		return
	}
	writeError(w, http.StatusNotFound, "Not Found")
}

func issueNumber(rest string) (int, bool) {
	n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(rest, "issues/"), "/comments"))
	return n, err == nil && n > 0
}

func (s *Server) listComments(w http.ResponseWriter, r *http.Request, rest string) {
	issue, ok := issueNumber(rest)
	if !ok {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	perPage, page := 30, 1
	if v, err := strconv.Atoi(r.URL.Query().Get("per_page")); err == nil && v > 0 {
		perPage = min(v, 100)
	}
	if v, err := strconv.Atoi(r.URL.Query().Get("page")); err == nil && v > 0 {
		page = v
	}
	all := s.Comments(issue)
	start := min((page-1)*perPage, len(all))
	end := min(start+perPage, len(all))
	var out []map[string]any
	for _, c := range all[start:end] {
		out = append(out, commentJSON(c))
	}
	if out == nil {
		out = []map[string]any{}
	}
	last := max((len(all)+perPage-1)/perPage, 1)
	link := func(p int, rel string) string {
		u := *r.URL
		q := u.Query()
		q.Set("page", strconv.Itoa(p))
		q.Set("per_page", strconv.Itoa(perPage))
		u.RawQuery = q.Encode()
		return fmt.Sprintf(`<%s%s>; rel="%s"`, s.URL, u.RequestURI(), rel)
	}
	var links []string
	if page < last {
		links = append(links, link(page+1, "next"), link(last, "last"))
	}
	if page > 1 {
		links = append(links, link(1, "first"), link(page-1, "prev"))
	}
	if len(links) > 0 {
		w.Header().Set("Link", strings.Join(links, ", "))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) createComment(w http.ResponseWriter, r *http.Request, tok Token, rest string) {
	issue, ok := issueNumber(rest)
	if !ok {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	if tok.ReadOnly {
		writeError(w, http.StatusForbidden, "Resource not accessible by integration")
		return
	}
	body, ok := commentBody(w, r)
	if !ok {
		return
	}
	id := s.AddComment(issue, tok.Login, body)
	writeJSON(w, http.StatusCreated, commentJSON(Comment{ID: id, Issue: issue, Author: tok.Login, Body: body}))
}

func (s *Server) editComment(w http.ResponseWriter, r *http.Request, tok Token, rest string) {
	id, err := strconv.ParseInt(strings.TrimPrefix(rest, "issues/comments/"), 10, 64)
	if err != nil {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	if tok.ReadOnly {
		writeError(w, http.StatusForbidden, "Resource not accessible by integration")
		return
	}
	body, ok := commentBody(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.comments {
		if c.ID != id {
			continue
		}
		if c.Author != tok.Login {
			writeError(w, http.StatusForbidden, "Must have admin rights to edit another user's comment")
			return
		}
		c.Body = body
		writeJSON(w, http.StatusOK, commentJSON(*c))
		return
	}
	writeError(w, http.StatusNotFound, "Not Found")
}

// commentBody reads {"body": ...}, which GitHub requires, limited to 65,536 characters.
func commentBody(w http.ResponseWriter, r *http.Request) (string, bool) {
	var in struct {
		Body *string `json:"body"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.Body == nil {
		writeError(w, http.StatusUnprocessableEntity, "body is missing")
		return "", false
	}
	if n := len([]rune(*in.Body)); n > 65536 {
		writeError(w, http.StatusUnprocessableEntity,
			fmt.Sprintf("Validation Failed: body is too long (maximum is 65536 characters), got %d", n))
		return "", false
	}
	return *in.Body, true
}

func commentJSON(c Comment) map[string]any {
	typ := "User"
	if strings.HasSuffix(c.Author, "[bot]") {
		typ = "Bot"
	}
	return map[string]any{"id": c.ID, "body": c.Body,
		"user": map[string]any{"login": c.Author, "type": typ}}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"message": msg,
		"documentation_url": "https://docs.github.com/rest"})
}
