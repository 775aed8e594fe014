package locate

import (
	"testing"

	"github.com/apigate/apigate/internal/finding"
	"github.com/apigate/apigate/internal/target"
)

// TestExactTemplateWins: a finding on GET /orders/{id} belongs to that operation, not to
// GET /orders/export listed before it, which the {id} parameter also matches.
func TestExactTemplateWins(t *testing.T) {
	at := func(line int) *finding.Location { return &finding.Location{File: "api.yaml", Line: line} }
	ops := []*target.Operation{
		{Method: "GET", Path: "/orders/export", Source: at(10)},
		{Method: "GET", Path: "/orders/{id}", Source: at(20)},
		{Method: "DELETE", Path: "/orders/{id}", Source: at(30)},
	}
	for _, c := range []struct {
		method, path string
		line         int
	}{
		{"GET", "/orders/{id}", 20},
		{"GET", "/orders/export", 10},
		{"DELETE", "/orders/{id}", 30},
		{"GET", "/orders/1001", 20}, // a concrete id fits only the template
		{"PUT", "/orders/{id}", 20}, // no PUT: another method on the same template
	} {
		loc := fromOperations(ops, c.method, c.path)
		if loc == nil || loc.Line != c.line {
			t.Errorf("%s %s: got %+v, want line %d", c.method, c.path, loc, c.line)
		}
	}
}
