package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/apigate/apigate/internal/config"
	"github.com/apigate/apigate/internal/finding"
	"github.com/apigate/apigate/internal/httpx"
	"github.com/apigate/apigate/internal/identity"
	"github.com/apigate/apigate/internal/locate"
	"github.com/apigate/apigate/internal/openapi"
	"github.com/apigate/apigate/internal/scan"
	"github.com/apigate/apigate/internal/suppress"
	"github.com/apigate/apigate/internal/target"
	"github.com/apigate/apigate/probes"
)

// setupBudget caps the requests spent before probing: fetching the API document, logging
// in, and discovery when there is no document.
const setupBudget = 200

// discoverBudget caps discovery's share of it.
const discoverBudget = 20

// scanConfig is what the config file and the local files it names gave, all read and
// checked before anything starts.
type scanConfig struct {
	cfg      *config.Config
	root     string            // working directory, which locations are relative to
	doc      *openapi.Document // a local document, loaded up front
	served   string            // a document path the API serves, fetched later
	rules    []suppress.Rule
	baseline *suppress.Baseline
	baseFile string
	docLoc   *finding.Location // the repository's API document, for API-wide findings
}

// applyConfig reads the config (--config, else .apigate.yml in the working directory),
// merges it under the flags the user set, and reads every local file it names. Any problem
// is a usage error naming the place, returned before anything is started.
func applyConfig(fs *flag.FlagSet, o *scanOptions) (*scanConfig, error) {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	sc := &scanConfig{cfg: &config.Config{}, root: repoRoot()}
	path := o.ConfigFile
	if path == "" {
		path = config.Find(".")
	}
	cfgDir := "."
	if path != "" {
		cfg, err := config.Load(path, config.Options{})
		if err != nil {
			return nil, usagef("%v", err)
		}
		sc.cfg = cfg
		cfgDir = filepath.Dir(path)
	}
	c := sc.cfg
	rel := func(p string) string {
		if p == "" || filepath.IsAbs(p) || strings.HasPrefix(p, "/") {
			return p
		}
		return filepath.Join(cfgDir, p)
	}

	if !set["url"] && c.Target.URL != "" {
		o.URL = c.Target.URL
	}
	if !set["fail-on"] && c.FailOn != "" {
		o.FailOn = c.FailOn
	}
	o.AllowHosts = append(o.AllowHosts, c.AllowHosts...)

	spec := o.OpenAPI
	specFromConfig := false
	if !set["openapi"] && c.Target.OpenAPI != "" {
		spec, specFromConfig = c.Target.OpenAPI, true
	}
	if spec != "" {
		file := spec
		if specFromConfig {
			file = rel(spec)
		}
		switch {
		case isFile(file):
			doc, err := openapi.LoadFile(file, openapi.Options{BasePath: c.Target.BasePath, Root: sc.root})
			if err != nil {
				return nil, usagef("%v", err)
			}
			sc.doc = doc
		case exists(file):
			return nil, usagef("openapi %q is not a regular file", spec)
		case localPath(spec):
			return nil, usagef("openapi %q: no such file (%s exists here, so this is a local "+
				"path; a path the API serves must not start with a local directory)", spec,
				firstSegment(spec))
		case strings.HasPrefix(spec, "/"):
			sc.served = spec
		case strings.HasPrefix(spec, "http://") || strings.HasPrefix(spec, "https://"):
			u, err := url.Parse(spec)
			if err != nil {
				return nil, usagef("openapi %q: %v", spec, err)
			}
			sc.served = u.RequestURI() // fetched from the target only, never another host
		default:
			return nil, usagef("openapi %q: no such file (a path the API serves starts with /)", spec)
		}
	}

	known := make([]string, 0)
	for _, r := range probes.AllRules() {
		known = append(known, r.ID)
	}
	for _, s := range c.Suppress {
		sc.rules = append(sc.rules, suppress.Rule{ID: s.Rule, Path: s.Path, Reason: s.Reason,
			Until: s.Until.Time, Where: s.Pos.String()})
	}
	if err := suppress.Validate(sc.rules, known); err != nil {
		return nil, usagef("%v", err)
	}
	if c.Baseline != "" {
		sc.baseFile = rel(c.Baseline)
		b, err := suppress.LoadBaseline(sc.baseFile)
		if err != nil {
			return nil, usagef("%v (record one with 'apigate baseline')", err)
		}
		sc.baseline = b
	}
	return sc, nil
}

// prepareTarget fills t from the config and the API: operations (document, config
// endpoints, discovery), public paths, probe options and identities. Login failures are
// scan failures (exit 3): the API is up but will not let the scanner in as configured.
func prepareTarget(ctx context.Context, t *target.Target, sc *scanConfig, o *scanOptions,
	log *slog.Logger) (int, error) {
	c := sc.cfg
	o.Accept = func(rep *finding.Report) { sc.accept(rep, t, o.SourceFallback) }
	t.Public = append(t.Public, c.Public...)
	t.Options.Burst = c.Probes.Burst
	t.Options.LoginAttempts = c.Probes.LoginAttempts
	t.Options.TLSTerminatedUpstream = c.Probes.TLSTerminatedUpstream

	red := httpx.NewRedactor()
	for i, s := range c.Secrets() {
		red.Add(s, fmt.Sprintf("CONFIG_SECRET_%d", i+1))
	}
	var roots []byte
	if t.TLS != nil {
		roots = t.TLS.RootCAs
	}
	client, err := httpx.New(httpx.Config{
		AllowedHosts: []string{t.Base.Host, t.Base.Hostname()}, Timeout: o.ReqTimeout,
		Budget: setupBudget, RootCAs: roots, Redactor: red, UserAgent: "apigate/" + version,
	})
	if err != nil {
		return exitUsage, usagef("%v", err)
	}
	if err := scan.Reachable(ctx, t, client); err != nil {
		return exitError, fmt.Errorf("scan failed: %w", err)
	}
	setup := client.Scope("setup")
	fetch := openapi.ClientFetcher(setup, t.Base)

	doc, docErr := sc.document(ctx, fetch, log)
	specs := c.IdentitySpecs()
	if docErr != nil && len(specs) == 0 {
		return errCode(docErr), docErr
	}
	var loginOp, signupOp *target.Operation
	if doc != nil {
		loginOp, signupOp = doc.LoginOperation(), doc.SignupOperation()
	}
	ids, err := identity.Build(ctx, specs, identity.Options{
		Client: client.Scope("login"), Target: t, LoginOperation: loginOp, SignupOperation: signupOp,
	})
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return exitInterrupted, err
		}
		return exitError, err
	}
	if len(ids) > 0 {
		// A document or links behind the login are read as the first user.
		fetch = openapi.ClientFetcherAs(setup, t.Base, ids[0])
		if doc == nil {
			if doc, err = sc.document(ctx, fetch, log); err != nil {
				return errCode(err), err
			}
		}
	}
	if doc == nil && docErr != nil {
		return errCode(docErr), docErr
	}

	if doc != nil {
		t.Operations = append(t.Operations, doc.Operations...)
		if l := doc.Location(); l != nil {
			sc.docLoc = l
		}
	}
	t.Operations = addEndpoints(t.Operations, c.Endpoints)
	if doc == nil {
		seeds := append([]string{}, openapi.DiscoverSeeds...)
		for _, e := range c.Endpoints {
			if e.Method == "GET" && !strings.Contains(e.Path, "{") {
				seeds = append(seeds, e.Path)
			}
		}
		found := openapi.Discover(ctx, fetch, seeds, discoverBudget)
		t.Operations = mergeOperations(t.Operations, found)
		t.Limits = append(t.Limits, fmt.Sprintf("no OpenAPI document: %d operation(s) from the "+
			"config's endpoints and from links in JSON answers (at most %d requests); "+
			"authentication, object authorization, input validation and mass assignment "+
			"were checked only on those", len(t.Operations), discoverBudget))
	}
	t.Identities = append(t.Identities, ids...)
	switch len(t.Identities) {
	case 0:
		t.Limits = append(t.Limits, "no identities configured: checks that need a logged-in "+
			"user, and per-object authorization (two users), were limited (docs/config.md, identities)")
	case 1:
		t.Limits = append(t.Limits, "one identity configured: per-object authorization needs "+
			"two users (docs/config.md, identities)")
	}
	return exitOK, nil
}

// document returns the local document, else the one the target serves (nil when it
// serves none), anchored to the repository's copy when there is one.
func (sc *scanConfig) document(ctx context.Context, fetch openapi.Fetcher,
	log *slog.Logger) (*openapi.Document, error) {
	if sc.doc != nil {
		return sc.doc, nil
	}
	basePath := sc.cfg.Target.BasePath
	status := 0
	seen := func(ctx context.Context, p string) (int, []byte, error) {
		st, body, err := fetch(ctx, p)
		status = st
		return st, body, err
	}
	doc, err := openapi.Fetch(ctx, seen, sc.served, openapi.Options{BasePath: basePath})
	if err != nil && sc.served != "" && (status == 404 || status == 410) {
		// The document the user named is neither a local file nor served: their typo.
		return nil, usagef("openapi %q: no such local file, and the API answered %d for it",
			sc.served, status)
	}
	if err != nil {
		return nil, fmt.Errorf("read the API document: %w", err)
	}
	if doc == nil {
		return nil, nil
	}
	log.Info("API document served by the target", "path", doc.Source, "operations", len(doc.Operations))
	if file := bestLocalDocument(doc, sc.root, basePath); file != nil {
		n := doc.AdoptSources(file)
		sc.docLoc = file.Location()
		log.Info("operations anchored to the repository's document", "file", file.Source,
			"operations", n)
	}
	return doc, nil
}

// bestLocalDocument finds the repository file that declares most of the served document's
// operations, so findings anchor to the document the project maintains.
func bestLocalDocument(served *openapi.Document, root, basePath string) *openapi.Document {
	var best *openapi.Document
	bestN := 0
	for _, d := range openAPIFiles(root, basePath) {
		if n := served.Shared(d); n > bestN {
			best, bestN = d, n
		}
	}
	return best
}

// addEndpoints adds the config's hand-written operations the document lacks.
func addEndpoints(ops []*target.Operation, eps []config.Endpoint) []*target.Operation {
	var extra []*target.Operation
	for _, e := range eps {
		op := &target.Operation{Method: e.Method, Path: e.Path}
		for _, seg := range strings.Split(e.Path, "/") {
			if target.IsParam(seg) {
				op.Params = append(op.Params, target.Param{Name: strings.Trim(seg, "{}<>:"), In: "path",
					Required: true})
			}
		}
		extra = append(extra, op)
	}
	return mergeOperations(ops, extra)
}

func mergeOperations(ops, extra []*target.Operation) []*target.Operation {
	have := map[string]bool{}
	for _, op := range ops {
		have[op.Method+" "+op.Path] = true
	}
	for _, op := range extra {
		if !have[op.Method+" "+op.Path] {
			have[op.Method+" "+op.Path] = true
			ops = append(ops, op)
		}
	}
	return ops
}

// accept anchors findings to source lines and applies suppressions and the baseline, so
// that the exit code counts only what nobody accepted.
func (sc *scanConfig) accept(rep *finding.Report, t *target.Target, fallback *finding.Location) {
	locate.Fill(rep, locate.Options{Root: sc.root, Operations: t.Operations, Fallback: fallback,
		Document: sc.docLoc})
	suppress.Apply(rep, sc.rules, time.Now())
	if sc.baseline != nil {
		sc.baseline.Apply(rep, sc.baseFile)
	}
}

// errCode is exit 2 for the caller's errors, 3 for the rest.
func errCode(err error) int {
	var ue usageError
	if errors.As(err, &ue) {
		return exitUsage
	}
	return exitError
}

// localPath reports whether an --openapi value that names no file is still plainly a local
// path: ./ or ../ relative, or absolute under a directory that exists here (/tmp/x.yaml,
// /home/me/api.json). Any other value starting with / is a path the API serves
// (/openapi.json, /v3/api-docs).
func localPath(spec string) bool {
	if strings.HasPrefix(spec, "./") || strings.HasPrefix(spec, "../") {
		return true
	}
	if !strings.HasPrefix(spec, "/") || strings.Count(spec, "/") < 2 {
		return false
	}
	st, err := os.Stat(firstSegment(spec))
	return err == nil && st.IsDir()
}

// firstSegment is /a of /a/b/c.
func firstSegment(p string) string {
	if i := strings.IndexByte(p[1:], '/'); i >= 0 {
		return p[:i+1]
	}
	return p
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

// repoRoot is where locations are relative to and where source is searched: the working
// directory. The action runs from the repository (or its working-directory) and rewrites
// locations relative to the workspace itself (relativizeLocations).
func repoRoot() string {
	wd, err := os.Getwd()
	if err != nil {
		return "."
	}
	return wd
}
