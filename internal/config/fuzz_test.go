package config

import (
	"os"
	"strings"
	"testing"
)

// FuzzParse: any input either loads or fails with a message that starts with the file
// name, and never panics. `go test` runs the seeds; `go test -fuzz FuzzParse` explores.
func FuzzParse(f *testing.F) {
	full, _ := os.ReadFile("testdata/full.yml")
	f.Add(full)
	f.Add([]byte("identities: {a: &x {token: t}, b: *x}\n"))
	f.Add([]byte("suppress: [{rule: r, reason: x, until: 2027-02-30}]\n"))
	f.Add([]byte("target: {url: '${A}${'}\n"))
	f.Add([]byte("a: !!binary aGVsbG8=\n"))
	f.Add([]byte("? [a, b]\n: c\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, err := Parse(data, "f.yml", Options{Getenv: func(k string) (string, bool) { return "v", k == "A" }})
		if err != nil && !strings.HasPrefix(err.Error(), "f.yml") {
			t.Fatalf("error does not name the file: %v", err)
		}
	})
}
