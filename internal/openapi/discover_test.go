package openapi

import (
	"context"
	"strings"
	"testing"
)

func TestDiscover(t *testing.T) {
	site := map[string]string{
		"/":                     `{"links":{"users":"/api/users","docs":"http://127.0.0.1:9/api/orders?page=1"},"logo":"/static/logo.png"}`,
		"/api/users":            `{"items":[{"id":42,"name":"a"},{"id":43,"name":"b"}]}`,
		"/api/users/42":         `{"id":42,"profile":"/api/users/42/profile"}`,
		"/api/users/42/profile": `{"bio":"x"}`,
		"/api/orders":           `[{"id":"5f1c2e9a-1b2c-4d3e-8f9a-0b1c2d3e4f5a"}]`,
		"/api/orders/5f1c2e9a-1b2c-4d3e-8f9a-0b1c2d3e4f5a": `{"total":3}`,
	}
	var asked []string
	get := func(_ context.Context, p string) (int, []byte, error) {
		asked = append(asked, p)
		if b, ok := site[p]; ok {
			return 200, []byte(b), nil
		}
		return 404, nil, nil
	}
	ops := Discover(context.Background(), get, []string{"/"}, 20)
	var paths []string
	for _, op := range ops {
		paths = append(paths, op.Method+" "+op.Path)
	}
	want := "GET /api/orders GET /api/orders/{id} GET /api/users GET /api/users/{id} GET /api/users/{id}/profile"
	if strings.Join(paths, " ") != want {
		t.Errorf("got  %s\nwant %s", strings.Join(paths, " "), want)
	}
	for _, op := range ops {
		if op.Path == "/api/users/{id}" && (len(op.Params) != 1 || op.Params[0].Schema.Example != "42") {
			t.Errorf("param example: %+v", op.Params)
		}
	}
	for _, p := range asked {
		if strings.Contains(p, "static") {
			t.Errorf("fetched a static file %s", p)
		}
	}

	asked = nil
	Discover(context.Background(), get, []string{"/"}, 3)
	if len(asked) != 3 {
		t.Errorf("sent %d requests, cap is 3", len(asked))
	}
}
