// Package locate anchors findings to lines of the scanned repository, because code
// scanning rejects a URL as a location: first the operation's line in the OpenAPI document,
// else the line in the source that defines the route, else the compose service.
package locate

import (
	"strings"

	"github.com/apigate/apigate/internal/finding"
	"github.com/apigate/apigate/internal/target"
)

// Options say where to look.
type Options struct {
	// Root is the repository root; route files are searched under it and locations are
	// relative to it. Empty means do not search source.
	Root string
	// Operations carry their OpenAPI lines (Operation.Source).
	Operations []*target.Operation
	// Fallback is used when nothing better is found, typically the compose service's line.
	Fallback *finding.Location
	// Document anchors what is left: the API document's servers line.
	Document *finding.Location
}

// Fill sets Location on every finding of rep that has none.
func Fill(rep *finding.Report, o Options) {
	var idx *Index
	for i := range rep.Findings {
		f := &rep.Findings[i]
		if f.Location != nil {
			continue
		}
		if loc := fromOperations(o.Operations, f.Method, f.Path); loc != nil {
			f.Location = loc
			continue
		}
		if o.Root != "" && f.Path != "" && f.Path != "/" {
			if idx == nil {
				idx = Scan(o.Root, DefaultLimits)
			}
			if loc := idx.Find(f.Method, f.Path); loc != nil {
				f.Location = loc
				continue
			}
		}
		for _, l := range []*finding.Location{o.Fallback, o.Document} {
			if l != nil {
				loc := *l
				f.Location = &loc
				break
			}
		}
	}
}

// fromOperations finds the document line of the operation a finding is about: the same
// method and path, else any method on the same path. Operations with exactly the finding's
// template are tried first, so that a finding on /orders/{id} is not anchored to
// /orders/export, which the {id} parameter also matches.
func fromOperations(ops []*target.Operation, method, path string) *finding.Location {
	exact := func(p string) bool { return p == path }
	if loc := matchOperation(ops, method, exact); loc != nil {
		return loc
	}
	return matchOperation(ops, method, func(p string) bool { return samePath(p, path) })
}

func matchOperation(ops []*target.Operation, method string, fits func(string) bool) *finding.Location {
	var anyMethod *finding.Location
	for _, op := range ops {
		if op.Source == nil || !fits(op.Path) {
			continue
		}
		if strings.EqualFold(op.Method, method) {
			loc := *op.Source
			return &loc
		}
		if anyMethod == nil {
			loc := *op.Source
			anyMethod = &loc
		}
	}
	return anyMethod
}

func samePath(a, b string) bool {
	sa, sb := Segments(a), Segments(b)
	if len(sa) != len(sb) {
		return false
	}
	for i := range sa {
		if sa[i] != sb[i] && sa[i] != paramSeg && sb[i] != paramSeg {
			return false
		}
	}
	return true
}
