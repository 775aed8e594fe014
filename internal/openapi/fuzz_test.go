package openapi

import (
	"os"
	"strings"
	"testing"
)

// FuzzLoad: any bytes either load or fail with an error naming the source; never a panic.
func FuzzLoad(f *testing.F) {
	for _, name := range []string{"petstore-3.0.yaml", "users-3.1.json", "store-swagger2.yaml"} {
		data, _ := os.ReadFile("testdata/" + name)
		f.Add(data)
	}
	f.Add([]byte(`{"openapi":"3.1.0","paths":{"/a":{"get":{"responses":{"200":{"$ref":"#/x"}}}}}}`))
	f.Add([]byte("swagger: '2.0'\nhost: a/b\npaths: {}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, err := Load(data, "f.yaml", Options{})
		if err != nil && !strings.HasPrefix(err.Error(), "f.yaml") {
			t.Fatalf("error does not name the source: %v", err)
		}
	})
}
