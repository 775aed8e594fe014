package report

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apigate/apigate/probes"
)

var update = flag.Bool("update", false, "rewrite docs/rules.md from the rule table")

// TestRulesDoc keeps docs/rules.md in sync with the rule table, because every code scanning
// alert links to its rule's section there.
func TestRulesDoc(t *testing.T) {
	var buf bytes.Buffer
	if err := RulesDoc(&buf, probes.AllRules()); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("..", "..", "docs", "rules.md")
	if *update {
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	have, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(have, buf.Bytes()) {
		t.Fatalf("docs/rules.md is out of date with probes.AllRules(); regenerate it with\n" +
			"  go test ./internal/report -run TestRulesDoc -update")
	}
	for _, r := range probes.AllRules() {
		if !strings.Contains(buf.String(), "\n### "+r.ID+"\n") {
			t.Errorf("no section whose anchor is #%s", r.ID)
		}
	}
}

func TestRulesDocSections(t *testing.T) {
	var buf bytes.Buffer
	if err := RulesDoc(&buf, testRules); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"\n### auth-missing\n", "\n## 2. Authentication\n",
		"[CWE-306](https://cwe.mitre.org/data/definitions/306.html)", "OWASP API2:2023",
		"| [`cors-reflected-origin`](#cors-reflected-origin) |", "**Require**"} {
		if !strings.Contains(out, want) {
			t.Errorf("rules doc lacks %q", want)
		}
	}
}
