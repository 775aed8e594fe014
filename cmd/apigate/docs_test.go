package main

import (
	"regexp"
	"strings"
	"testing"
)

// TestReadmeAndDocs keeps the documentation honest about the CLI: the quick start is the
// two commands it promises, the checklist is named the same way everywhere, and what the
// CLI accepts (demo serve, the login field keys) is documented.
func TestReadmeAndDocs(t *testing.T) {
	readme := string(mustRead(t, "../../README.md"))
	config := string(mustRead(t, "../../docs/config.md"))

	quick := regexp.MustCompile("(?s)## Quick start.*?```sh\n(.*?)```").FindStringSubmatch(readme)
	if quick == nil {
		t.Fatal("README has no quick-start code block")
	}
	var cmds []string
	for _, line := range strings.Split(strings.TrimSpace(quick[1]), "\n") {
		cmd, _, _ := strings.Cut(line, "#")
		cmds = append(cmds, strings.TrimSpace(cmd))
	}
	if strings.Join(cmds, "|") != "go run ./cmd/apigate demo|go test ./..." {
		t.Errorf("quick start is %q, want the demo and the tests", cmds)
	}

	usage := readme[strings.Index(readme, "## Usage"):]
	usage = usage[:strings.Index(usage[3:], "\n## ")+3]
	for _, want := range []string{"go test ./...", "go run ./cmd/apigate demo", "apigate demo serve",
		"--addr", "--hardened", "--ca-out", "apigate help scan", "--service` and `--port` only apply"} {
		if !strings.Contains(usage, want) {
			t.Errorf("README's usage section does not mention %q", want)
		}
	}

	// 12 checks: never called a "ten-point checklist" on its own.
	for name, text := range map[string]string{"README.md": readme, "docs/config.md": config} {
		for _, m := range regexp.MustCompile(`(?i)ten-point[^.]*`).FindAllString(text, -1) {
			flat := strings.Join(strings.Fields(m), " ")
			const want = "ten-point API security checklist plus mass assignment and security headers"
			if !strings.Contains(flat, want) {
				t.Errorf("%s: %q does not count the two extra checks", name, flat)
			}
		}
	}
	if rows := regexp.MustCompile(`(?m)^\| (\d+) \|`).FindAllString(readme, -1); len(rows) != 12 {
		t.Errorf("README's checklist table has %d rows, want 12", len(rows))
	}

	for _, key := range []string{"username-field", "password-field"} {
		if !strings.Contains(config, key) {
			t.Errorf("docs/config.md does not document the login key %s", key)
		}
	}
}
