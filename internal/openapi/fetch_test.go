package openapi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"testing"

	"github.com/apigate/apigate/internal/httpx"
)

func TestClientFetcherFindsServedYAML(t *testing.T) {
	spec, err := os.ReadFile("testdata/store-swagger2.yaml")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/openapi.yaml" {
			w.Write(spec)
			return
		}
		http.NotFound(w, r)
	}))
	defer srv.Close()
	base, _ := url.Parse(srv.URL)
	c, err := httpx.New(httpx.Config{AllowedHosts: []string{base.Host}})
	if err != nil {
		t.Fatal(err)
	}
	doc, err := Fetch(context.Background(), ClientFetcher(c, base), "", Options{})
	if err != nil || doc == nil {
		t.Fatalf("fetch: %v", err)
	}
	if doc.Source != "/openapi.yaml" || len(doc.Operations) != 3 || c.Sent() != 2 {
		t.Errorf("source %q ops %d sent %d", doc.Source, len(doc.Operations), c.Sent())
	}
}
