package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// write puts content in dir/name and returns the path.
func write(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// aliasBomb nests YAML anchors ten deep, ten aliases each: 10^10 values once expanded.
func aliasBomb(indent string) string {
	var b strings.Builder
	b.WriteString(indent + "l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 10; i++ {
		refs := strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*l%d, ", i-1), 10), ", ")
		fmt.Fprintf(&b, "%sl%d: &l%d [%s]\n", indent, i, i, refs)
	}
	return b.String()
}

// TestBadConfigAndDocuments: broken, hostile or oversized config files and API documents
// are usage errors with one line naming the file, found fast and in bounded memory,
// before anything is sent.
func TestBadConfigAndDocuments(t *testing.T) {
	dir := t.TempDir()
	outside := write(t, dir, "outside/secret.yml", "password: hunter2-canary\ntoken: tok-canary\n")
	repo := filepath.Join(dir, "repo")
	var big strings.Builder
	big.WriteString("public:\n")
	for i := 0; big.Len() < 3<<20; i++ {
		fmt.Fprintf(&big, "  - /p%d\n", i)
	}
	var deep strings.Builder
	deep.WriteString("public: ")
	deep.WriteString(strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + "\n")

	cases := []struct {
		name   string
		config string // config file content; "" means no --config
		spec   string // --openapi file content; "" means none
		want   string
	}{
		{"empty config and no target", "\n", "", "scan needs --url or --compose"},
		{"binary config", "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe", "", "not a text file"},
		{"not UTF-8", "target:\n  url: \xff\xfe\n", "", "not a text file"},
		{"malformed YAML", "target: [unclosed\n", "", "malformed YAML"},
		{"a list, not a mapping", "- a\n- b\n", "", "the config must be a mapping"},
		{"3 MB config", big.String(), "", "larger than 1024 KiB"},
		{"alias bomb", "identities:\n  x:\n    login:\n      path: /l\n      body:\n" +
			aliasBomb("        "), "", "alias bomb"},
		{"20000 nested lists", deep.String(), "", "exceeded max depth"},
		{"unknown key", "targett: {}\n", "", `unknown key "targett"`},
		{"unknown fail-on", "fail-on: severe\n", "", `unknown severity "severe"`},
		{"openapi path with ..", "target:\n  openapi: ../outside/secret.yml\n", "",
			"neither an OpenAPI 3 nor a Swagger 2 document"},
		{"openapi path with .. to nothing", "target:\n  openapi: ../../../nope/openapi.yaml\n", "",
			"no such file"},
		{"baseline path with ..", "baseline: ../outside/secret.yml\n", "", "not a baseline file"},
		{"binary OpenAPI", "", "\x00\x01\x02binary", "not a text document"},
		{"empty OpenAPI", "", " ", "empty document"},
		{"OpenAPI alias bomb", "", "openapi: 3.0.3\ninfo: {title: b, version: '1'}\n" +
			aliasBomb("x-") + "paths: {}\n", "alias bomb"},
		{"OpenAPI nested 20000 deep", "", `{"openapi":"3.0.3","paths":` +
			strings.Repeat(`{"a":`, 20000) + "1" + strings.Repeat("}", 20001), "max depth"},
		{"Swagger 1", "", `{"swaggerVersion":"1.2","apis":[]}`, "neither an OpenAPI 3 nor a Swagger 2"},
		{"OpenAPI 4", "", "openapi: 4.0.0\npaths: {}\n", `unsupported openapi version "4.0.0"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{"scan", "--format", "json"}
			if tc.want != "scan needs --url or --compose" {
				args = append(args, "--url", "http://127.0.0.1:1")
			}
			if tc.config != "" {
				args = append(args, "--config", write(t, repo, ".apigate.yml", tc.config))
			}
			if tc.spec != "" {
				args = append(args, "--openapi", write(t, repo, "openapi.yaml", tc.spec))
			}
			code, stdout, stderr, took := runCLI(t, args...)
			if code != exitUsage {
				t.Errorf("exit %d, want 2; stderr:\n%s", code, stderr)
			}
			if stdout != "" {
				t.Errorf("a report was printed for bad input:\n%.300s", stdout)
			}
			if took > 10*time.Second {
				t.Errorf("took %s to refuse it", took)
			}
			oneLine(t, stderr, tc.want)
			for _, secret := range []string{"hunter2-canary", "tok-canary"} {
				if strings.Contains(stderr, secret) {
					t.Errorf("the error quotes the content of a file outside the repository: %s", stderr)
				}
			}
		})
	}
	_ = outside
}

// TestSeveralMegabyteOpenAPI loads a 4 MB document of 12000 operations: it is read, in
// bounded time and memory, and the run goes on to the (unreachable) target.
func TestSeveralMegabyteOpenAPI(t *testing.T) {
	paths := map[string]any{}
	for i := range 12000 {
		paths[fmt.Sprintf("/api/v1/resource%d/{id}", i)] = map[string]any{"get": map[string]any{
			"operationId": fmt.Sprintf("op%d", i),
			"parameters": []any{map[string]any{"name": "id", "in": "path", "required": true,
				"schema": map[string]any{"type": "integer"}}},
			"responses": map[string]any{"200": map[string]any{"description": "ok",
				"content": map[string]any{"application/json": map[string]any{"schema": map[string]any{
					"type": "object", "properties": map[string]any{"name": map[string]any{"type": "string"}}}}}}},
		}}
	}
	raw, err := json.Marshal(map[string]any{"openapi": "3.0.3",
		"info": map[string]any{"title": "big", "version": "1"}, "paths": paths})
	if err != nil {
		t.Fatal(err)
	}
	spec := write(t, t.TempDir(), "openapi.json", string(raw))
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	code, _, stderr, took := runCLI(t, "scan", "--url", "http://127.0.0.1:1", "--openapi", spec,
		"--format", "json")
	runtime.ReadMemStats(&after)
	alloc := (after.TotalAlloc - before.TotalAlloc) >> 20
	t.Logf("%d KB document: %s, %d MiB allocated", len(raw)>>10, took.Round(time.Millisecond), alloc)
	if code != exitError || !strings.Contains(stderr, "target unreachable") {
		t.Errorf("exit %d, want 3 from the unreachable target after loading; stderr:\n%s", code, stderr)
	}
	// Loose bounds: the machine is shared and noisy. Before the JSON decoding fix this load
	// allocated 1.5 GB.
	if alloc > 1200 {
		t.Errorf("loading allocated %d MiB", alloc)
	}
	if took > 90*time.Second {
		t.Errorf("loading took %s", took)
	}
}

// TestComposeFileWithAHundredServices: an ambiguous compose file is a usage error naming
// the choice to make, read without booting anything.
func TestComposeFileWithAHundredServices(t *testing.T) {
	var b strings.Builder
	b.WriteString("services:\n")
	for i := range 100 {
		fmt.Fprintf(&b, "  s%d:\n    image: apigate-fixture/never-pulled:test\n    ports: [\"127.0.0.1::8080\"]\n", i)
	}
	file := write(t, t.TempDir(), "compose.yml", b.String())
	code, stdout, stderr, took := runCLI(t, "scan", "--compose", file)
	if code != exitUsage {
		t.Errorf("exit %d, want 2; stderr:\n%s", code, stderr)
	}
	if stdout != "" || took > 20*time.Second {
		t.Errorf("stdout %q, took %s", stdout, took)
	}
	oneLine(t, stderr, "100 services of")
	oneLine(t, stderr, "--service")
}
