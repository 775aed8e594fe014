// Package openapi reads an API description (OpenAPI 3.0, 3.1 or Swagger 2, YAML or JSON) from
// a file or from the target itself and turns it into the operations probes work on. Each
// operation keeps the line that declares it, so a finding can point code scanning at the
// document rather than at a URL.
package openapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/getkin/kin-openapi/openapi2"
	"github.com/getkin/kin-openapi/openapi2conv"
	"github.com/getkin/kin-openapi/openapi3"

	"github.com/apigate/apigate/internal/finding"
	"github.com/apigate/apigate/internal/target"
)

// MaxSize caps a document; real API descriptions are far smaller.
const MaxSize = 16 << 20

// Document is a loaded API description.
type Document struct {
	// Source names where the document came from: a file path relative to the repository
	// root, or the URL path it was served on.
	Source string
	// Version is the spec version as written ("2.0", "3.0.3", "3.1.0").
	Version string
	// BasePath is the prefix applied to every operation's path ("" for none).
	BasePath string
	// Operations in document order (paths sorted, then methods in a fixed order).
	Operations []*target.Operation
	// Served is true when the document was fetched from the target, so its lines are not
	// lines of a repository file.
	Served bool
	// topLine is the line that says where the API lives (servers, host or basePath), else
	// the version line.
	topLine int
}

// Location anchors findings about the API as a whole (transport, headers on every route)
// to the document: its servers line. It is nil for a served document.
func (d *Document) Location() *finding.Location {
	if d.Served || d.topLine == 0 {
		return nil
	}
	return &finding.Location{File: d.Source, Line: d.topLine, Kind: "openapi"}
}

// Options tune loading. The zero value takes the base path from the document's servers.
type Options struct {
	// BasePath overrides the servers' path prefix: "/" means none, "" means "from the
	// document".
	BasePath string
	// Root is the repository root that Source is made relative to; default the working
	// directory.
	Root string

	// file is the absolute path of a document read from disk; its relative $refs may
	// name files in its directory tree.
	file string
}

// Error is a document that could not be read, with the place when it is known.
type Error struct {
	Source string
	Line   int
	Err    error
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %v", e.Source, e.Line, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.Source, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// LoadFile reads an OpenAPI or Swagger document from disk.
func LoadFile(path string, opts Options) (*Document, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("openapi: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("openapi: read %s: %w", path, err)
	}
	if len(data) > MaxSize {
		return nil, &Error{Source: path, Err: fmt.Errorf("larger than %d MiB", MaxSize>>20)}
	}
	if abs, err := filepath.Abs(path); err == nil {
		opts.file = abs
	}
	doc, err := Load(data, relSource(path, opts.Root), opts)
	if err != nil {
		return nil, err
	}
	return doc, nil
}

// relSource names a file relative to root (default the working directory), with slashes,
// as code scanning wants it.
func relSource(path, root string) string {
	if root == "" {
		root, _ = os.Getwd()
	}
	abs, err := filepath.Abs(path)
	if err == nil && root != "" {
		if rel, err := filepath.Rel(root, abs); err == nil && !strings.HasPrefix(rel, "..") {
			return filepath.ToSlash(rel)
		}
	}
	return filepath.ToSlash(filepath.Clean(path))
}

// Load reads a document from bytes; source names it in errors and in operation locations.
func Load(data []byte, source string, opts Options) (*Document, error) {
	fail := func(line int, err error) error { return &Error{Source: source, Line: line, Err: err} }
	if len(data) > MaxSize {
		return nil, fail(0, fmt.Errorf("larger than %d MiB", MaxSize>>20))
	}
	if isBinary(data) {
		return nil, fail(0, errors.New("not a text document"))
	}
	root, err := parseYAML(data)
	var nm *notMappingError
	if errors.As(err, &nm) {
		return nil, fail(nm.line, errors.New("not an OpenAPI document: the top level is not a mapping"))
	}
	if err != nil {
		return nil, fail(errorLine(err), fmt.Errorf("not valid YAML or JSON: %s", stripYAMLPrefix(err)))
	}
	js, err := toJSON(root)
	if err != nil {
		return nil, fail(0, err)
	}

	var doc3 *openapi3.T
	var version string
	switch {
	case mapValue(root, "swagger") != nil:
		v := mapValue(root, "swagger")
		version = v.Value
		if !strings.HasPrefix(version, "2") {
			return nil, fail(v.Line, fmt.Errorf("unsupported swagger version %q (want 2.0)", version))
		}
		var doc2 openapi2.T
		if err := doc2.UnmarshalJSON(js); err != nil {
			return nil, fail(0, fmt.Errorf("invalid Swagger 2 document: %w", err))
		}
		if doc3, err = openapi2conv.ToV3(&doc2); err != nil {
			return nil, fail(0, fmt.Errorf("convert Swagger 2: %w", err))
		}
	case mapValue(root, "openapi") != nil:
		v := mapValue(root, "openapi")
		version = v.Value
		if !strings.HasPrefix(version, "3.") {
			return nil, fail(v.Line, fmt.Errorf("unsupported openapi version %q (want 3.0 or 3.1)", version))
		}
		loader := openapi3.NewLoader()
		loader.IsExternalRefsAllowed = false
		switch {
		case opts.file != "" && hasExternalRef(js):
			loader.IsExternalRefsAllowed = true
			loader.ReadFromURIFunc = localFilesUnder(filepath.Dir(opts.file))
			doc3, err = loader.LoadFromDataWithPath(js, &url.URL{Path: filepath.ToSlash(opts.file)})
		default:
			// Decode the JSON form as JSON: LoadFromData would parse it again as YAML, which
			// costs a multi-megabyte document gigabytes of scanner tokens.
			doc3 = &openapi3.T{}
			if err = doc3.UnmarshalJSON(js); err == nil {
				err = loader.ResolveRefsIn(doc3, nil)
			}
		}
		if err != nil {
			return nil, fail(0, fmt.Errorf("invalid OpenAPI document: %w", err))
		}
	default:
		return nil, fail(root.Line, errors.New("neither an OpenAPI 3 nor a Swagger 2 document "+
			"(no top-level 'openapi' or 'swagger' key)"))
	}

	d := &Document{Source: source, Version: version, topLine: root.Content[0].Line}
	for _, key := range []string{"basePath", "host", "servers"} {
		if i := keyLine(root, key); i > 0 {
			d.topLine = i
		}
	}
	d.BasePath = basePath(doc3, opts.BasePath)
	lines := operationLines(root)
	ops, err := convert(doc3, d.BasePath)
	if err != nil {
		return nil, fail(0, err)
	}
	for _, op := range ops {
		if line := lines[op.Method+" "+op.templatePath]; line > 0 {
			op.Source = &finding.Location{File: source, Line: line, Kind: "openapi"}
		}
		d.Operations = append(d.Operations, op.Operation)
	}
	return d, nil
}

// localFilesUnder lets $refs read files in dir's tree, and nothing else: no URL is fetched
// and no file outside the document's folder is read, whatever the document says.
func localFilesUnder(dir string) openapi3.ReadFromURIFunc {
	return func(_ *openapi3.Loader, u *url.URL) ([]byte, error) {
		if u.Scheme != "" && u.Scheme != "file" || u.Host != "" {
			return nil, fmt.Errorf("external reference %s: only files beside the document are read",
				u.Redacted())
		}
		p := filepath.FromSlash(u.Path)
		rel, err := filepath.Rel(dir, p)
		if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return nil, fmt.Errorf("external reference %s: outside the document's folder", u.Path)
		}
		f, err := os.Open(p)
		if err != nil {
			return nil, fmt.Errorf("external reference: %w", err)
		}
		defer f.Close()
		data, err := io.ReadAll(io.LimitReader(f, MaxSize+1))
		if err != nil {
			return nil, err
		}
		if len(data) > MaxSize {
			return nil, fmt.Errorf("external reference %s: larger than %d MiB", rel, MaxSize>>20)
		}
		return data, nil
	}
}

func isBinary(data []byte) bool {
	n := min(len(data), 8000)
	for _, b := range data[:n] {
		if b == 0 {
			return true
		}
	}
	return false
}

func stripYAMLPrefix(err error) string {
	s := strings.TrimPrefix(err.Error(), "yaml: ")
	if m := yamlLineRe.FindStringIndex(s); m != nil && m[0] == 0 {
		s = strings.TrimPrefix(s[m[1]:], ": ")
	}
	return s
}

// basePath picks the path prefix of the first server, with variables at their defaults.
func basePath(doc *openapi3.T, override string) string {
	if override != "" {
		return normalizeBase(override)
	}
	if len(doc.Servers) == 0 || doc.Servers[0] == nil {
		return ""
	}
	s := doc.Servers[0]
	u := s.URL
	for name, v := range s.Variables {
		if v != nil {
			u = strings.ReplaceAll(u, "{"+name+"}", v.Default)
		}
	}
	if i := strings.Index(u, "://"); i >= 0 {
		rest := u[i+3:]
		j := strings.IndexByte(rest, '/')
		if j < 0 {
			return ""
		}
		u = rest[j:]
	}
	u, _, _ = strings.Cut(u, "?")
	return normalizeBase(u)
}

func normalizeBase(p string) string {
	p = strings.TrimRight(strings.TrimSpace(p), "/")
	if p == "" {
		return ""
	}
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	return p
}

// Fetcher fetches a path from the target; the scan wires it to the httpx client, so the
// document is read under the same host allow-list and limits as every probe.
type Fetcher func(ctx context.Context, path string) (status int, body []byte, err error)

// WellKnownPaths are where frameworks commonly serve their API description.
var WellKnownPaths = []string{
	"/openapi.json", "/openapi.yaml", "/swagger.json", "/v3/api-docs", "/api-docs",
	"/docs/openapi.json",
}

// Fetch reads the document the target serves at path, or at the first of WellKnownPaths
// that answers with a document when path is "". It returns (nil, nil) when no path was
// given and none of the usual places serves one.
func Fetch(ctx context.Context, get Fetcher, path string, opts Options) (*Document, error) {
	paths := WellKnownPaths
	if path != "" {
		paths = []string{path}
	}
	var lastErr error
	for _, p := range paths {
		status, body, err := get(ctx, p)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			lastErr = fmt.Errorf("openapi: fetch %s: %w", p, err)
			continue
		}
		if status != 200 {
			lastErr = fmt.Errorf("openapi: fetch %s: status %d", p, status)
			continue
		}
		doc, err := Load(body, p, opts)
		if err != nil {
			lastErr = err
			continue
		}
		doc.Served = true
		for _, op := range doc.Operations {
			op.Source = nil // a served document has no repository line
		}
		return doc, nil
	}
	if path != "" {
		return nil, lastErr
	}
	return nil, nil
}

var errTruncated = errors.New("the document is larger than the client's body cap")

// Shared counts the operations (method and path) d and other both declare.
func (d *Document) Shared(other *Document) int {
	have := map[string]bool{}
	for _, op := range other.Operations {
		have[op.Method+" "+op.Path] = true
	}
	n := 0
	for _, op := range d.Operations {
		if have[op.Method+" "+op.Path] {
			n++
		}
	}
	return n
}

// AdoptSources gives the operations of a served document the lines of the same operations
// in a repository file, so that findings point at the file the project maintains. It
// returns how many operations got a line.
func (d *Document) AdoptSources(file *Document) int {
	lines := map[string]*finding.Location{}
	for _, op := range file.Operations {
		if op.Source != nil {
			lines[op.Method+" "+op.Path] = op.Source
		}
	}
	n := 0
	for _, op := range d.Operations {
		if loc, ok := lines[op.Method+" "+op.Path]; ok && op.Source == nil {
			c := *loc
			op.Source = &c
			n++
		}
	}
	return n
}

// externalRef matches a "$ref" to anything but a place in the same document.
var externalRef = regexp.MustCompile(`"\$ref":"[^#"]`)

// hasExternalRef reports whether the compact JSON form of a document refers to another file.
func hasExternalRef(js []byte) bool { return externalRef.Match(js) }
