// Package report renders a scan's findings. Each format lives in its own file behind one
// function signature; none of them changes the report it is given.
package report

import (
	"fmt"
	"io"
	"slices"

	"github.com/apigate/apigate/internal/finding"
	"github.com/apigate/apigate/probes"
)

// Formats lists the names accepted by Write.
var Formats = []string{"text", "json", "sarif", "markdown"}

// Options carries what some formats need beyond the report.
type Options struct {
	// Rules is the rule table; nil means probes.AllRules().
	Rules []probes.Rule
	// Color enables ANSI colours in the text format.
	Color bool
	// Category is the code scanning category (SARIF runAutomationDetails.id prefix).
	Category string
	// SourceRoot is the repository root that finding locations are relative to.
	SourceRoot string
	// DefaultLocation is the repository file (the OpenAPI or compose file given to the run)
	// that findings without a Location are anchored to, at line 1, in SARIF and annotations.
	DefaultLocation string
}

func (o Options) rules() []probes.Rule {
	if o.Rules == nil {
		return probes.AllRules()
	}
	return o.Rules
}

func (o Options) rule(id string) (probes.Rule, bool) {
	for _, r := range o.rules() {
		if r.ID == id {
			return r, true
		}
	}
	return probes.Rule{}, false
}

// Write renders rep in format to w.
func Write(w io.Writer, format string, rep *finding.Report, opts Options) error {
	switch format {
	case "text":
		return Text(w, rep, opts)
	case "json":
		return JSON(w, rep, opts)
	case "sarif":
		return SARIF(w, rep, opts)
	case "markdown":
		return Markdown(w, rep, opts)
	}
	return fmt.Errorf("unknown format %q (want one of %v)", format, Formats)
}

// ValidFormat reports whether name is a known format.
func ValidFormat(name string) bool { return slices.Contains(Formats, name) }
