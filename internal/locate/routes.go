package locate

import (
	"bufio"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/apigate/apigate/internal/finding"
)

// Limits bound the source search so a large repository costs seconds, not minutes.
type Limits struct {
	MaxFiles    int
	MaxFileSize int64
}

// DefaultLimits are enough for any service's route files.
var DefaultLimits = Limits{MaxFiles: 5000, MaxFileSize: 1 << 20}

// sourceExts are the languages whose route literals are recognised.
var sourceExts = map[string]bool{
	".go": true, ".py": true, ".js": true, ".mjs": true, ".cjs": true, ".ts": true, ".rb": true,
	".php": true, ".java": true, ".kt": true,
}

// skipDirs are dependency and build folders: routes there are not the project's.
var skipDirs = map[string]bool{
	".git": true, "node_modules": true, "vendor": true, "dist": true, "build": true,
	"target": true, "venv": true, ".venv": true, "__pycache__": true, ".tox": true,
	// Tests mention routes too, but a finding belongs where the route is defined.
	"test": true, "tests": true, "__tests__": true, "testdata": true, "spec": true, "e2e": true,
}

// isTestFile recognises test files by the naming conventions of each language.
func isTestFile(name string) bool {
	lower := strings.ToLower(name)
	base := strings.TrimSuffix(lower, filepath.Ext(lower))
	return strings.HasSuffix(base, "_test") || strings.HasPrefix(base, "test_") ||
		strings.HasSuffix(base, ".test") || strings.HasSuffix(base, ".spec") ||
		strings.HasSuffix(base, "test") && filepath.Ext(lower) == ".java" ||
		strings.HasSuffix(base, "_spec")
}

// Route is one path literal found in source.
type Route struct {
	File   string
	Line   int
	Column int
	segs   []string
	method string // the HTTP method named on the same line, "" when none
}

// Index holds the route literals of a repository.
type Index struct{ routes []Route }

const paramSeg = "{}"

// literalRe finds quoted strings that start with a slash (or with an HTTP method and a
// space, as Go 1.22 patterns do).
var literalRe = regexp.MustCompile("[\"'`]((?:(?:GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS) )?/[^\"'`\\s]*)[\"'`]")

// bareRouteRe finds route literals written without a leading slash, as Django's path()
// and Rails' get 'users/:id' do: only as the first argument of such a call.
var bareRouteRe = regexp.MustCompile(`\b(?:path|re_path|url|get|post|put|patch|delete|match)\s*\(?\s*` +
	`["']([A-Za-z0-9_\-<>:{}]+/[^"'\s]*)["']`)

var methodRe = regexp.MustCompile(`(?i)\b(get|post|put|patch|delete)\b|@(Get|Post|Put|Patch|Delete)Mapping`)

// Scan indexes the route literals under root.
func Scan(root string, lim Limits) *Index {
	idx := &Index{}
	files := 0
	_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() {
			if p != root && (skipDirs[d.Name()] || strings.HasPrefix(d.Name(), ".")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !sourceExts[strings.ToLower(filepath.Ext(p))] || isTestFile(d.Name()) {
			return nil
		}
		if files >= lim.MaxFiles {
			return filepath.SkipAll
		}
		if info, err := d.Info(); err != nil || info.Size() > lim.MaxFileSize {
			return nil
		}
		files++
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return nil
		}
		idx.scanFile(p, filepath.ToSlash(rel))
		return nil
	})
	sort.SliceStable(idx.routes, func(i, j int) bool { return idx.routes[i].File < idx.routes[j].File })
	return idx
}

func (idx *Index) scanFile(path, rel string) {
	f, err := os.Open(path)
	if err != nil {
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for line := 1; sc.Scan(); line++ {
		text := sc.Text()
		if !strings.Contains(text, "/") {
			continue
		}
		matches := literalRe.FindAllStringSubmatchIndex(text, -1)
		if len(matches) == 0 {
			matches = bareRouteRe.FindAllStringSubmatchIndex(text, -1)
		}
		for _, m := range matches {
			lit := text[m[2]:m[3]]
			if strings.Contains(lit, "://") {
				continue
			}
			method := ""
			if sp := strings.IndexByte(lit, ' '); sp > 0 {
				method, lit = lit[:sp], lit[sp+1:]
			} else if mm := methodRe.FindStringSubmatch(text); mm != nil {
				method = strings.ToUpper(mm[1] + mm[2])
			}
			segs := Segments(lit)
			if len(segs) == 0 || looksLikeFile(lit) {
				continue
			}
			idx.routes = append(idx.routes, Route{File: rel, Line: line, Column: m[2] + 1,
				segs: segs, method: method})
		}
	}
}

func looksLikeFile(lit string) bool {
	last := lit[strings.LastIndexByte(lit, '/')+1:]
	ext := filepath.Ext(last)
	return ext != "" && len(ext) <= 5 && !strings.ContainsAny(ext, ":{<")
}

// Segments splits a path into segments, with every parameter syntax (:id, {id}, <id>,
// <int:id>, {id:[0-9]+}, [id]) turned into one placeholder.
func Segments(p string) []string {
	p, _, _ = strings.Cut(p, "?")
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	segs := strings.Split(p, "/")
	for i, s := range segs {
		if isParamSeg(s) {
			segs[i] = paramSeg
		} else {
			segs[i] = strings.ToLower(s)
		}
	}
	return segs
}

func isParamSeg(s string) bool {
	switch {
	case s == "":
		return false
	case s[0] == ':' || s[0] == '{' || s[0] == '<' || s[0] == '[' || s[0] == '$':
		return true
	case s == "*":
		return true
	}
	return false
}

// Find returns the best route for a finding's method and path, or nil. A literal equal to
// the whole path wins; a literal that is a suffix of the path (a router mounted under a
// prefix) is accepted when it has a fixed segment and either two segments or the right
// method. The method named on the line breaks ties.
func (idx *Index) Find(method, path string) *finding.Location {
	want := Segments(path)
	if len(want) == 0 {
		return nil
	}
	best, bestScore := -1, 0
	for i, r := range idx.routes {
		score := matchScore(r.segs, want)
		if score == 0 {
			continue
		}
		methodOK := r.method != "" && strings.EqualFold(r.method, method)
		if len(r.segs) < len(want) && len(r.segs) < 2 && !methodOK {
			continue
		}
		if methodOK {
			score += 5
		} else if r.method != "" {
			score -= 2
		}
		if score > bestScore {
			best, bestScore = i, score
		}
	}
	if best < 0 {
		return nil
	}
	r := idx.routes[best]
	return &finding.Location{File: r.File, Line: r.Line, Column: r.Column, Kind: "route"}
}

// matchScore is 0 when lit does not match the end of want, else grows with the number of
// segments matched (a whole-path match scores highest).
func matchScore(lit, want []string) int {
	if len(lit) > len(want) {
		return 0
	}
	off := len(want) - len(lit)
	fixed := 0
	for i, s := range lit {
		w := want[off+i]
		switch {
		case s == paramSeg && w == paramSeg:
		case s == paramSeg || w == paramSeg:
			return 0
		case s != w:
			return 0
		default:
			fixed++
		}
	}
	if fixed == 0 {
		return 0
	}
	score := 10 * len(lit)
	if off == 0 {
		score += 20
	}
	return score
}
