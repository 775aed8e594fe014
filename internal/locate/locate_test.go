package locate

import (
	"strconv"
	"strings"
	"testing"

	"github.com/apigate/apigate/internal/finding"
	"github.com/apigate/apigate/internal/target"
)

func TestFindRoutesInEachSyntax(t *testing.T) {
	idx := Scan("testdata/repo", DefaultLimits)
	cases := []struct {
		method, path string
		file         string
		line         int
	}{
		{"GET", "/api/v1/invoices/{id}", "goapi/routes.go", 6},
		{"DELETE", "/api/v1/invoices/{invoiceId}", "goapi/routes.go", 7},
		{"GET", "/api/users/{id}", "pyapi/app.py", 6},
		{"POST", "/api/users/{id}/avatar", "pyapi/app.py", 11},
		{"GET", "/shop/orders/{id}", "nodeapi/server.js", 4},
		{"PATCH", "/shop/orders/{id}", "nodeapi/server.js", 5},
		{"DELETE", "/admin/accounts/{id}", "nodeapi/admin.ts", 3},
		{"GET", "/api/projects/{id}", "rbapi/routes.rb", 2},
		{"GET", "/api/tickets/{id}", "phpapi/routes.php", 2},
		{"GET", "/api/notes/{id}", "javaapi/NotesController.java", 3},
		{"GET", "/healthz", "goapi/routes.go", 8},
		{"GET", "/api/books/{id}", "djangoapi/urls.py", 4},
		{"GET", "/api/authors/{id}", "rbapi/routes.rb", 5},
	}
	for _, c := range cases {
		loc := idx.Find(c.method, c.path)
		if loc == nil || loc.File != c.file || loc.Line != c.line || loc.Kind != "route" {
			t.Errorf("%s %s: got %+v, want %s:%d", c.method, c.path, loc, c.file, c.line)
		}
	}
	for _, r := range idx.routes {
		if strings.Contains(strings.ToLower(r.File), "test") || strings.Contains(r.File, "node_modules") {
			t.Errorf("indexed a test or dependency file: %s", r.File)
		}
	}
	for _, p := range []string{"/api/unknown/{id}", "/{id}", "/orders", "/static/app.js", "/"} {
		if loc := idx.Find("GET", p); loc != nil {
			t.Errorf("GET %s: matched %+v, want nothing", p, loc)
		}
	}
}

func TestFillOrder(t *testing.T) {
	spec := &finding.Location{File: "api/openapi.yaml", Line: 40, Kind: "openapi"}
	compose := &finding.Location{File: "docker-compose.yml", Line: 3, Kind: "compose"}
	given := &finding.Location{File: "x.go", Line: 1}
	rep := &finding.Report{Findings: []finding.Finding{
		{Method: "GET", Path: "/api/things/{thingId}"},
		{Method: "GET", Path: "/api/projects/{id}"},
		{Method: "GET", Path: "/"},
		{Method: "GET", Path: "/api/none", Location: given},
	}}
	docLoc := &finding.Location{File: "api/openapi.yaml", Line: 4, Kind: "openapi"}
	ops := []*target.Operation{
		{Method: "GET", Path: "/api/things/{id}", Source: spec},
		{Method: "GET", Path: "/api/projects/{id}"},
	}
	only := &finding.Report{Findings: []finding.Finding{{Method: "GET", Path: "/"}}}
	Fill(only, Options{Operations: ops, Document: docLoc})
	if l := only.Findings[0].Location; l == nil || l.Line != 4 {
		t.Errorf("document fallback: %+v", l)
	}
	Fill(rep, Options{Root: "testdata/repo", Operations: ops, Fallback: compose, Document: docLoc})
	want := []string{"api/openapi.yaml:40", "rbapi/routes.rb:2", "docker-compose.yml:3", "x.go:1"}
	for i, f := range rep.Findings {
		got := ""
		if f.Location != nil {
			got = f.Location.File + ":" + strconv.Itoa(f.Location.Line)
		}
		if got != want[i] {
			t.Errorf("finding %d: %s, want %s", i, got, want[i])
		}
	}
	if rep.Findings[0].Location == spec {
		t.Error("the operation's location is shared, not copied")
	}
}
