package openapi

import (
	"slices"
	"testing"

	"github.com/apigate/apigate/internal/target"
)

// TestAuthSchemes: each operation carries the kinds of credentials its requirements (or
// the document's) declare, so a probe can tell a cookie API from a bearer one without
// logging in.
func TestAuthSchemes(t *testing.T) {
	doc := []byte(`openapi: 3.0.3
info: {title: t, version: "1"}
security: [{jwt: []}]
components:
  securitySchemes:
    jwt: {type: http, scheme: bearer}
    key: {type: apiKey, in: header, name: X-Key}
    session: {type: apiKey, in: cookie, name: sid}
    basic: {type: http, scheme: basic}
paths:
  /a:
    get: {responses: {"200": {description: ok}}}
  /b:
    get:
      security: [{session: []}, {key: []}]
      responses: {"200": {description: ok}}
  /c:
    get:
      security: [{basic: []}]
      responses: {"200": {description: ok}}
  /d:
    get:
      security: []
      responses: {"200": {description: ok}}
`)
	d, err := Load(doc, "openapi.yaml", Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		"/a": {target.AuthBearer},
		"/b": {target.AuthBearer, target.AuthCookie},
		"/c": {target.AuthBasic},
		"/d": nil,
	}
	for _, op := range d.Operations {
		if !slices.Equal(op.AuthSchemes, want[op.Path]) {
			t.Errorf("%s: %v, want %v", op.Path, op.AuthSchemes, want[op.Path])
		}
	}
	if len(d.Operations) != len(want) {
		t.Errorf("%d operations, want %d", len(d.Operations), len(want))
	}
}
