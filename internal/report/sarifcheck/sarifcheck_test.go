package sarifcheck

import (
	"strings"
	"testing"
)

const good = `{
  "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
  "version": "2.1.0",
  "runs": [{
    "tool": {"driver": {"name": "apigate", "rules": [{
      "id": "auth-missing",
      "shortDescription": {"text": "No auth"},
      "fullDescription": {"text": "No auth at all"},
      "help": {"text": "Require a token"},
      "defaultConfiguration": {"level": "error"},
      "properties": {"tags": ["security"], "security-severity": "8.0", "precision": "high"}
    }]}},
    "automationDetails": {"id": "apigate/"},
    "results": [{
      "ruleId": "auth-missing", "ruleIndex": 0, "level": "error",
      "message": {"text": "GET http://127.0.0.1/x answered 200"},
      "locations": [{"physicalLocation": {"artifactLocation": {"uri": "api/openapi.yaml"},
        "region": {"startLine": 3, "startColumn": 1, "endLine": 3, "endColumn": 9}}}],
      "partialFingerprints": {"primaryLocationLineHash": "0011223344556677:1"},
      "properties": {"security-severity": "8.0"}
    }]
  }]
}`

func TestGoodFilePasses(t *testing.T) {
	if err := All([]byte(good)); err != nil {
		t.Fatal(err)
	}
}

func TestViolationsAreCaught(t *testing.T) {
	cases := []struct {
		name, from, to, want string
	}{
		{"http artifact", `"uri": "api/openapi.yaml"`, `"uri": "http://127.0.0.1/x"`, "not a file"},
		{"no fingerprint", `"primaryLocationLineHash": "0011223344556677:1"`,
			`"other": "x"`, "primaryLocationLineHash"},
		{"level contradicts severity", `"level": "error",
      "message"`, `"level": "note",
      "message"`, "security-severity"},
		{"empty help", `"help": {"text": "Require a token"}`, `"help": {"text": ""}`, "help.text"},
		{"milder rule", `"security-severity": "8.0", "precision"`,
			`"security-severity": "5.0", "precision"`, "milder"},
		{"no locations", `"locations": [{"physicalLocation"`,
			`"relatedLocations": [{"physicalLocation"`, "locations"},
		{"bad ruleIndex", `"ruleIndex": 0`, `"ruleIndex": 4`, "out of range"},
		{"no category", `"id": "apigate/"`, `"id": "apigate"`, "category"},
		{"schema: bad level", `"defaultConfiguration": {"level": "error"}`,
			`"defaultConfiguration": {"level": "fatal"}`, "level"},
		{"schema: null suppression status", `"ruleId": "auth-missing",`,
			`"ruleId": "auth-missing", "suppressions": [{"kind": "external", "status": null}],`,
			"schema"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			bad := strings.Replace(good, c.from, c.to, 1)
			if bad == good {
				t.Fatalf("replacement %q did not apply", c.from)
			}
			err := All([]byte(bad))
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not mention %q", err, c.want)
			}
		})
	}
}

func TestSchemaPathFound(t *testing.T) {
	p, err := SchemaPath()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(p, "sarif-schema-2.1.0.json") {
		t.Errorf("path %s", p)
	}
}
