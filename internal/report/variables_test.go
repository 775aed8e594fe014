package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/apigate/apigate/internal/finding"
)

// TestTextExplainsReproduceVariables checks the footer of the text report: one line per
// variable the active findings' curl lines use, explained once, with a fallback for labels
// nobody explained, and nothing for suppressed findings or curl lines without variables.
func TestTextExplainsReproduceVariables(t *testing.T) {
	token := finding.Finding{Rule: "a", Check: finding.CheckAuthentication,
		Curl:      `curl -H 'Authorization: Bearer '"${ALICE_TOKEN}" http://127.0.0.1:1/api/me`,
		Variables: map[string]string{"ALICE_TOKEN": "the token alice gets from POST /api/login"}}
	again := finding.Finding{Rule: "b", Check: finding.CheckCORS,
		Curl: `curl -H 'Authorization: Bearer '"${ALICE_TOKEN}" -H 'X: '"${IDENTITY_SECRET}" ` +
			`http://127.0.0.1:1/api/orders`}
	plain := finding.Finding{Rule: "c", Check: finding.CheckCORS,
		Curl: "curl -H 'Origin: https://evil.example' http://127.0.0.1:1/"}
	hidden := finding.Finding{Rule: "d", Check: finding.CheckCORS, Suppressed: "baseline",
		Curl: `curl -H 'Authorization: Bearer '"${BOB_TOKEN}" http://127.0.0.1:1/`}

	var out bytes.Buffer
	rep := &finding.Report{Findings: []finding.Finding{token, again, plain, hidden}}
	if err := Text(&out, rep, Options{}); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	_, footer, ok := strings.Cut(text, "Variables used in reproduce lines")
	if !ok {
		t.Fatalf("no variables footer:\n%s", text)
	}
	for _, want := range []string{
		"\n  ALICE_TOKEN      the token alice gets from POST /api/login\n",
		"\n  IDENTITY_SECRET  " + unexplainedVariable[:40],
	} {
		if !strings.Contains(footer, want) {
			t.Errorf("footer lacks %q:\n%s", want, footer)
		}
	}
	if strings.Count(text, "ALICE_TOKEN  ") != 1 || strings.Contains(footer, "BOB_TOKEN") {
		t.Errorf("footer repeats a variable or lists a suppressed finding's:\n%s", footer)
	}

	out.Reset()
	rep = &finding.Report{Findings: []finding.Finding{plain, hidden}}
	if err := Text(&out, rep, Options{}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "Variables used") {
		t.Errorf("footer printed with no variable in use:\n%s", out.String())
	}
}

func TestCurlVariables(t *testing.T) {
	got := finding.CurlVariables(`curl -H 'A: '"${X_1}" --data '{"p":"'"${PW}"'","q":"'"${X_1}"'"}' ` +
		`'http://h/$HOME/${lower}'`)
	if strings.Join(got, ",") != "X_1,PW" {
		t.Errorf("CurlVariables = %v, want [X_1 PW]", got)
	}
}
