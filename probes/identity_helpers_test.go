package probes

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/apigate/apigate/internal/finding"
	"github.com/apigate/apigate/internal/httpx"
	"github.com/apigate/apigate/internal/target"
)

// testOps parses "METHOD /path" specs into operations; a leading "!" marks the operation as
// needing authentication (SecurityRequired), a leading "~" as public (SecurityNone).
func testOps(specs ...string) []*target.Operation {
	var out []*target.Operation
	for _, s := range specs {
		sec := target.SecurityUnknown
		switch {
		case strings.HasPrefix(s, "!"):
			sec, s = target.SecurityRequired, s[1:]
		case strings.HasPrefix(s, "~"):
			sec, s = target.SecurityNone, s[1:]
		}
		m, p, _ := strings.Cut(s, " ")
		op := &target.Operation{Method: m, Path: p, Security: sec}
		for _, name := range PathParams(p) {
			op.Params = append(op.Params, target.Param{Name: name, In: "path", Required: true})
		}
		out = append(out, op)
	}
	return out
}

// runTestProbe runs p against s with a test deadline.
func runTestProbe(t *testing.T, p Probe, s *Session) Verdict {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return p.Run(ctx, s)
}

// rulesFired lists the rule IDs of a verdict's findings.
func rulesFired(v Verdict) []string {
	var out []string
	for _, f := range v.Findings {
		out = append(out, f.Rule)
	}
	return out
}

// hasRule reports whether a verdict holds a finding of rule id.
func hasRule(v Verdict, id string) bool {
	for _, f := range v.Findings {
		if f.Rule == id {
			return true
		}
	}
	return false
}

// wantStatus fails the test when the verdict's status differs, printing its reason.
func wantStatus(t *testing.T, v Verdict, want finding.Status) {
	t.Helper()
	if v.Status != want {
		t.Fatalf("status %s, want %s (reason: %s; findings: %v)", v.Status, want, v.Reason,
			rulesFired(v))
	}
}

// fakeExchange is a recorded answer for helpers that only read a response.
func fakeExchange(status int, body string) *httpx.Exchange {
	return &httpx.Exchange{Method: "GET", URL: "http://127.0.0.1/x", Status: status,
		Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(body)}
}
