package config

import (
	"bytes"
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"

	"github.com/apigate/apigate/internal/finding"
	"github.com/apigate/apigate/probes"
)

// docExamples returns every YAML example of docs/config.md that is a config (the first line
// of the block is a top-level key), plus the test fixtures.
func docExamples(t *testing.T) map[string][]byte {
	t.Helper()
	md, err := os.ReadFile("../../docs/config.md")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	re := regexp.MustCompile("(?s)```yaml\n(.*?)```")
	for i, m := range re.FindAllSubmatch(md, -1) {
		out["docs/config.md#"+string(rune('a'+i))] = m[1]
	}
	if len(out) < 6 {
		t.Fatalf("found %d YAML examples in docs/config.md", len(out))
	}
	out["testdata/full.yml"], _ = os.ReadFile("testdata/full.yml")
	return out
}

func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open("../../docs/apigate.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource("apigate.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("apigate.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// asJSON reads YAML as the schema sees it: dates stay strings, as in the config loader.
func asJSON(t *testing.T, data []byte) any {
	t.Helper()
	var n yaml.Node
	if err := yaml.Unmarshal(data, &n); err != nil {
		t.Fatal(err)
	}
	d := &decoder{file: "x", getenv: func(string) (string, bool) { return "", true }, budget: maxNodes}
	v, err := d.anyValue(n.Content[0], "", 0)
	if err != nil {
		t.Fatal(err)
	}
	// Round-trip through encoding/json so numbers have the types the validator expects.
	b, _ := json.Marshal(v)
	out, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestDocExamplesValidate(t *testing.T) {
	schema := compileSchema(t)
	anyEnv := func(string) (string, bool) { return "set", true }
	for name, data := range docExamples(t) {
		if err := schema.Validate(asJSON(t, data)); err != nil {
			t.Errorf("%s does not validate against the schema: %v", name, err)
		}
		c, err := Parse(data, name, Options{Getenv: anyEnv})
		if err != nil {
			t.Errorf("%s is rejected by the loader: %v", name, err)
			continue
		}
		for _, s := range c.Suppress {
			if _, ok := probes.RuleByID(s.Rule); !ok && s.Rule != "*" && !isCheck(s.Rule) {
				t.Errorf("%s: suppression names no rule: %q", name, s.Rule)
			}
		}
	}
}

func isCheck(name string) bool {
	for _, c := range finding.Checks {
		if string(c) == name {
			return true
		}
	}
	return false
}

// The schema and the loader must refuse the same mistakes.
func TestSchemaRejectsWhatTheLoaderRejects(t *testing.T) {
	schema := compileSchema(t)
	bad := []string{
		"target: {prot: 80}\n",
		"target: {port: eighty}\n",
		"public: [health]\n",
		"identities: {a: {}}\n",
		"identities: {a: {token: t, basic: {username: u, password: p}}}\n",
		"suppress: [{rule: r}]\n",
		"suppress: [{rule: r, reason: x, until: 2027-13-01}]\n",
		"fail-on: severe\n",
		"endpoints: [FETCH /a]\n",
		"target: {url: 'http://127.0.0.1', compose: dc.yml}\n",
		"identities: {a: {login: {body: {}}}}\n",
	}
	for _, in := range bad {
		if err := schema.Validate(asJSON(t, []byte(in))); err == nil {
			t.Errorf("schema accepts %q", strings.TrimSpace(in))
		}
		if _, err := Parse([]byte(in), "x.yml", Options{Getenv: getenv}); err == nil {
			t.Errorf("loader accepts %q", strings.TrimSpace(in))
		}
	}
}
