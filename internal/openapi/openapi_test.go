package openapi

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apigate/apigate/internal/target"
)

func load(t *testing.T, name string) *Document {
	t.Helper()
	doc, err := LoadFile(filepath.Join("testdata", name), Options{})
	if err != nil {
		t.Fatalf("LoadFile(%s): %v", name, err)
	}
	return doc
}

func opByKey(t *testing.T, doc *Document, method, path string) *target.Operation {
	t.Helper()
	for _, op := range doc.Operations {
		if op.Method == method && op.Path == path {
			return op
		}
	}
	var have []string
	for _, op := range doc.Operations {
		have = append(have, op.Method+" "+op.Path)
	}
	t.Fatalf("no %s %s; have %v", method, path, have)
	return nil
}

func TestLoadOpenAPI30(t *testing.T) {
	doc := load(t, "petstore-3.0.yaml")
	if doc.Version != "3.0.3" || doc.BasePath != "/api/v1" {
		t.Fatalf("version %q base %q", doc.Version, doc.BasePath)
	}
	if len(doc.Operations) != 4 {
		t.Fatalf("got %d operations, want 4", len(doc.Operations))
	}
	cases := []struct {
		method, path string
		sec          target.Security
		deprecated   bool
		line         int
	}{
		{"POST", "/api/v1/login", target.SecurityNone, false, 42},
		{"GET", "/api/v1/pets/{petId}", target.SecurityRequired, false, 62},
		{"DELETE", "/api/v1/pets/{petId}", target.SecurityNone, true, 75},
		{"POST", "/api/v1/pets", target.SecurityRequired, false, 84},
	}
	for _, c := range cases {
		op := opByKey(t, doc, c.method, c.path)
		if op.Security != c.sec {
			t.Errorf("%s %s: security %v, want %v", c.method, c.path, op.Security, c.sec)
		}
		if op.Deprecated != c.deprecated {
			t.Errorf("%s %s: deprecated %v", c.method, c.path, op.Deprecated)
		}
		if op.Source == nil || op.Source.Line != c.line || op.Source.Kind != "openapi" ||
			op.Source.File != "testdata/petstore-3.0.yaml" {
			t.Errorf("%s %s: source %+v, want line %d", c.method, c.path, op.Source, c.line)
		}
	}

	get := opByKey(t, doc, "GET", "/api/v1/pets/{petId}")
	if len(get.Params) != 2 || get.Params[0].Name != "petId" || !get.Params[0].Required ||
		get.Params[0].Schema.Type != "integer" || get.Params[1].In != "query" {
		t.Errorf("params: %+v", get.Params)
	}
	pet := get.Response
	if pet == nil || pet.Type != "object" {
		t.Fatalf("response schema %+v", pet)
	}
	if pet.Properties["id"] == nil || !pet.Properties["id"].ReadOnly {
		t.Errorf("allOf did not bring in read-only id: %+v", pet.Properties)
	}
	if ml := pet.Properties["name"].MaxLength; ml == nil || *ml != 64 {
		t.Errorf("name maxLength %v", ml)
	}
	if pet.Properties["owner"] != pet {
		t.Errorf("recursive schema not shared")
	}
	if len(pet.Required) != 1 || pet.Required[0] != "name" {
		t.Errorf("required %v", pet.Required)
	}

	post := opByKey(t, doc, "POST", "/api/v1/pets")
	if post.RequestContentType != "application/json" || post.RequestBody == nil ||
		post.RequestBody.Properties["age"].Maximum == nil || *post.RequestBody.Properties["age"].Maximum != 40 {
		t.Errorf("request body %q %+v", post.RequestContentType, post.RequestBody)
	}

	if loc := doc.Location(); loc == nil || loc.Line != 5 || loc.File != "testdata/petstore-3.0.yaml" {
		t.Errorf("document location %+v, want the servers line 5", loc)
	}

	login := doc.LoginOperation()
	if login == nil || login.Path != "/api/v1/login" {
		t.Fatalf("login operation %+v", login)
	}
	if u, p := CredentialFields(login); u != "username" || p != "password" {
		t.Errorf("credential fields %q %q", u, p)
	}
	if doc.SignupOperation() != nil {
		t.Errorf("POST /pets taken for a signup")
	}
}

func TestLoadOpenAPI31JSON(t *testing.T) {
	doc := load(t, "users-3.1.json")
	if doc.BasePath != "" || len(doc.Operations) != 2 {
		t.Fatalf("base %q ops %d", doc.BasePath, len(doc.Operations))
	}
	get := opByKey(t, doc, "GET", "/users/{id}")
	if get.Security != target.SecurityUnknown || get.Source.Line != 6 {
		t.Errorf("get: security %v source %+v", get.Security, get.Source)
	}
	nick := get.Response.Properties["nickname"]
	if nick.Type != "string" || !nick.Nullable || nick.Example != "kit" {
		t.Errorf("nickname %+v", nick)
	}
	if m := get.Response.Properties["score"].Minimum; m == nil || *m != 0 {
		t.Errorf("exclusiveMinimum lost: %v", m)
	}
	put := opByKey(t, doc, "PUT", "/users/{id}")
	if put.Security != target.SecurityRequired || !put.Deprecated || put.Source.Line != 28 ||
		put.RequestContentType != "application/merge-patch+json" {
		t.Errorf("put: %+v", put)
	}
}

func TestLoadSwagger2(t *testing.T) {
	doc := load(t, "store-swagger2.yaml")
	if doc.BasePath != "/v2" || doc.Version != "2.0" {
		t.Fatalf("base %q version %q", doc.BasePath, doc.Version)
	}
	get := opByKey(t, doc, "GET", "/v2/orders/{orderId}")
	if get.Security != target.SecurityRequired || get.Source.Line != 17 {
		t.Errorf("get: %v %+v", get.Security, get.Source)
	}
	if get.Response == nil || get.Response.Properties["item"] == nil {
		t.Errorf("response %+v", get.Response)
	}
	if h := opByKey(t, doc, "GET", "/v2/health"); h.Security != target.SecurityNone {
		t.Errorf("health security %v", h.Security)
	}
	post := opByKey(t, doc, "POST", "/v2/orders")
	if !post.Deprecated || post.RequestBody == nil || post.RequestBody.Properties["quantity"] == nil {
		t.Errorf("post: %+v", post)
	}
}

func TestBasePathOverride(t *testing.T) {
	doc, err := LoadFile("testdata/petstore-3.0.yaml", Options{BasePath: "/"})
	if err != nil {
		t.Fatal(err)
	}
	if doc.BasePath != "" || doc.Operations[0].Path != "/login" {
		t.Errorf("base %q first %q", doc.BasePath, doc.Operations[0].Path)
	}
	doc, _ = LoadFile("testdata/petstore-3.0.yaml", Options{BasePath: "svc/"})
	if doc.Operations[0].Path != "/svc/login" {
		t.Errorf("override: %q", doc.Operations[0].Path)
	}
}

func TestNoSecurityDeclared(t *testing.T) {
	doc := load(t, "nosecurity-3.0.yaml")
	op := opByKey(t, doc, "GET", "/items")
	if op.Security != target.SecurityUnknown || op.Source.Line != 5 {
		t.Errorf("%v %+v", op.Security, op.Source)
	}
}

func TestLoadErrors(t *testing.T) {
	cases := []struct {
		name, data, want string
	}{
		{"broken", "", "testdata/broken.yaml:7: not valid YAML or JSON: did not find expected"},
		{"x.yaml", "openapi: 3.0.0\ninfo: [1\n", "x.yaml:2: not valid YAML or JSON: did not find expected"},
		{"x.yaml", "swagger: '1.2'\n", `x.yaml:1: unsupported swagger version "1.2"`},
		{"x.yaml", "openapi: 4.0.0\n", `x.yaml:1: unsupported openapi version "4.0.0"`},
		{"x.yaml", "info: {}\n", "x.yaml:1: neither an OpenAPI 3 nor a Swagger 2 document"},
		{"x.yaml", "", "x.yaml: not valid YAML or JSON: empty document"},
		{"x.bin", "\x00\x01\x02", "x.bin: not a text document"},
		{"x.yaml", "- a\n- b\n", "x.yaml:1: not an OpenAPI document: the top level is not a mapping"},
		{"x.json", `{"openapi": "3.0.0", "paths": {"/a": {"get": {"responses": 5}}}}`,
			"x.json: invalid OpenAPI document"},
	}
	for _, c := range cases {
		var err error
		if c.name == "broken" {
			_, err = LoadFile("testdata/broken.yaml", Options{})
		} else {
			_, err = Load([]byte(c.data), c.name, Options{})
		}
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%s %q: got %v, want prefix %q", c.name, c.data, err, c.want)
		}
	}
}

func TestAliasBombRefused(t *testing.T) {
	var b strings.Builder
	b.WriteString("openapi: 3.0.0\na0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 9; i++ {
		fmt.Fprintf(&b, "a%d: &a%d [", i, i)
		for j := 0; j < 10; j++ {
			if j > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "*a%d", i-1)
		}
		b.WriteString("]\n")
	}
	_, err := Load([]byte(b.String()), "bomb.yaml", Options{})
	if err == nil || !strings.Contains(err.Error(), "alias") {
		t.Fatalf("alias bomb: %v", err)
	}
}

func TestFetch(t *testing.T) {
	served := map[string]string{
		"/swagger.json": `<html>not it</html>`,
		"/v3/api-docs":  `{"openapi":"3.0.1","info":{"title":"t","version":"1"},"paths":{"/a":{"get":{"responses":{"200":{"description":"ok"}}}}}}`,
	}
	var asked []string
	get := func(ctx context.Context, p string) (int, []byte, error) {
		asked = append(asked, p)
		if b, ok := served[p]; ok {
			return 200, []byte(b), nil
		}
		return 404, nil, nil
	}
	doc, err := Fetch(context.Background(), get, "", Options{})
	if err != nil || doc == nil {
		t.Fatalf("fetch: %v %v", doc, err)
	}
	if doc.Source != "/v3/api-docs" || !doc.Served || doc.Operations[0].Source != nil {
		t.Errorf("doc %+v", doc)
	}
	if strings.Join(asked, " ") != "/openapi.json /openapi.yaml /swagger.json /v3/api-docs" {
		t.Errorf("asked %v", asked)
	}

	doc, err = Fetch(context.Background(), func(context.Context, string) (int, []byte, error) {
		return 404, nil, nil
	}, "", Options{})
	if doc != nil || err != nil {
		t.Errorf("nothing served: %v %v", doc, err)
	}
	_, err = Fetch(context.Background(), func(context.Context, string) (int, []byte, error) {
		return 0, nil, errors.New("refused")
	}, "/spec.json", Options{})
	if err == nil || !strings.Contains(err.Error(), "fetch /spec.json: refused") {
		t.Errorf("named path: %v", err)
	}
}

func TestAdoptSources(t *testing.T) {
	file := load(t, "petstore-3.0.yaml")
	data, _ := os.ReadFile("testdata/petstore-3.0.yaml")
	served, err := Load(data, "/openapi.yaml", Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, op := range served.Operations {
		op.Source = nil
	}
	served.Operations = append(served.Operations, &target.Operation{Method: "GET", Path: "/extra"})
	if n := served.AdoptSources(file); n != 4 {
		t.Fatalf("adopted %d lines, want 4", n)
	}
	if s := served.Operations[0].Source; s == nil || s.File != "testdata/petstore-3.0.yaml" || s.Line != 42 {
		t.Errorf("source %+v", s)
	}
	if served.Operations[4].Source != nil {
		t.Errorf("an operation absent from the file got a line")
	}
}

func TestExternalRefsStayBesideTheDocument(t *testing.T) {
	doc := load(t, "split/api.yaml")
	op := opByKey(t, doc, "GET", "/pets/{id}")
	if op.Response == nil || op.Response.Properties["name"] == nil || *op.Response.Properties["name"].MaxLength != 20 {
		t.Fatalf("the schema in schemas/pet.yaml was not read: %+v", op.Response)
	}
	for file, want := range map[string]string{
		"split/escape.yaml": "outside the document's folder",
		"split/remote.yaml": "only files beside the document are read",
	} {
		_, err := LoadFile(filepath.Join("testdata", file), Options{})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want %q", file, err, want)
		}
	}
	// A document from bytes (served by the target) reads no file at all.
	data, _ := os.ReadFile("testdata/split/api.yaml")
	if _, err := Load(data, "/openapi.yaml", Options{}); err == nil {
		t.Error("a served document resolved a reference to a local file")
	}
}
