package demo

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
)

// documented lists "METHOD /path" for every operation of a served OpenAPI document.
func documented(t *testing.T, doc []byte) []string {
	t.Helper()
	var d struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(doc, &d); err != nil {
		t.Fatalf("served OpenAPI is not JSON: %v", err)
	}
	if !strings.HasPrefix(d.OpenAPI, "3.0.") {
		t.Fatalf("openapi version %q, want 3.0.x", d.OpenAPI)
	}
	var ops []string
	for path, item := range d.Paths {
		for method := range item {
			if method == "parameters" {
				continue
			}
			ops = append(ops, strings.ToUpper(method)+" "+path)
		}
	}
	sort.Strings(ops)
	return ops
}

// TestOpenAPIMatchesRoutes: in each mode the served document parses, every operation it
// documents is routed, and every route is documented, except the vulnerable mode's
// forgotten /api/v1 and the document itself.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	for _, hardened := range []bool{false, true} {
		t.Run(modeName(hardened), func(t *testing.T) {
			e := newEnv(t, hardened)
			resp, data := e.do("GET", "/openapi.json", "", nil)
			if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
				t.Fatalf("GET /openapi.json: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
			}
			ops := documented(t, data)
			if len(ops) < 15 {
				t.Fatalf("only %d operations documented: %v", len(ops), ops)
			}
			mux := e.s.app.routes()
			docSet := map[string]bool{}
			for _, op := range ops {
				docSet[op] = true
				method, path, _ := strings.Cut(op, " ")
				req := httptest.NewRequest(method, strings.ReplaceAll(path, "{id}", "1001"), nil)
				if _, pattern := mux.Handler(req); pattern != op {
					t.Errorf("%s is documented but routed to %q", op, pattern)
				}
			}
			for _, route := range registeredRoutes(t, mux) {
				undocumentedOK := route == "GET /openapi.json" || route == "GET /openapi.yaml" ||
					(!hardened && strings.Contains(route, "/api/v1/"))
				if !docSet[route] && !undocumentedOK {
					t.Errorf("route %s is not documented", route)
				}
				if docSet[route] == undocumentedOK && strings.Contains(route, "/api/v1/") {
					t.Errorf("route %s: documented %v in %s mode", route, docSet[route], modeName(hardened))
				}
			}
		})
	}
}

func registeredRoutes(t *testing.T, mux *http.ServeMux) []string {
	t.Helper()
	var out []string
	for _, rt := range (&app{}).routeTable() {
		method, path, _ := strings.Cut(rt.pattern, " ")
		req := httptest.NewRequest(method, strings.ReplaceAll(path, "{id}", "1001"), nil)
		if _, pattern := mux.Handler(req); pattern != rt.pattern {
			t.Fatalf("route %s is not registered (got %q)", rt.pattern, pattern)
		}
		out = append(out, rt.pattern)
	}
	return out
}

// TestOpenAPIYAMLPrefix: the vulnerable document is a prefix of the file, so findings anchor
// to the same lines in both modes, and the hardened one is the whole file.
func TestOpenAPIYAMLPrefix(t *testing.T) {
	vuln, hard := Spec(false), Spec(true)
	if string(hard) != string(specYAML) || !strings.HasPrefix(string(hard), string(vuln)) {
		t.Fatal("the vulnerable document is not a prefix of the hardened one")
	}
	if strings.Contains(string(vuln), "/api/v1/") || !strings.Contains(string(hard), "/api/v1/") {
		t.Fatal("/api/v1 must be documented in hardened mode only")
	}
	if _, err := yamlToJSON(vuln); err != nil {
		t.Fatalf("the vulnerable document does not parse: %v", err)
	}
}
