package scan_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/apigate/apigate/internal/finding"
	"github.com/apigate/apigate/internal/hostile"
	"github.com/apigate/apigate/internal/httpx"
	"github.com/apigate/apigate/internal/report"
	"github.com/apigate/apigate/internal/scan"
	"github.com/apigate/apigate/internal/target"
	"github.com/apigate/apigate/probes"
)

// Canary secrets: long enough to be redacted, with characters that URL-encode.
const (
	canaryToken    = "tok_CANARY/9f8e+7d6c5b4=a3"
	canaryPassword = "pw CANARY&secret=42!"
)

// canaryForms are the shapes a secret can take in output: raw, URL-encoded, base64.
func canaryForms() []string {
	var out []string
	for _, s := range []string{canaryToken, canaryPassword} {
		out = append(out, s, url.QueryEscape(s), url.PathEscape(s),
			base64.StdEncoding.EncodeToString([]byte(s)),
			base64.RawURLEncoding.EncodeToString([]byte(s)))
	}
	return out
}

// leaker quotes whatever the target sent back everywhere it can: a finding built by hand
// (not through NewFinding), the verdict's reason, and a panic message.
type leaker struct {
	check finding.Check
	path  string
	crash bool
}

func (p leaker) Check() finding.Check { return p.check }
func (p leaker) Rules() []probes.Rule { return nil }
func (p leaker) Run(ctx context.Context, s *probes.Session) probes.Verdict {
	ex, err := s.Send(ctx, s.Identity(0), "POST", p.path, map[string]any{
		"username": "alice", "password": canaryPassword,
	}, nil)
	if err != nil {
		return probes.Inconclusive(err.Error())
	}
	if p.crash {
		panic("cannot handle " + string(ex.Body))
	}
	rule := probes.Rule{ID: "leak", Check: p.check, Severity: finding.SeverityHigh}
	built := s.NewFinding(rule, nil, ex, finding.ConfidenceHigh, "echo "+string(ex.Body),
		string(ex.Body), ex.Header.Get("X-Echo-Authorization"))
	hand := finding.Finding{
		Rule: "leak-by-hand", Check: p.check, Severity: finding.SeverityHigh,
		Method: "POST", Path: p.path + "?token=" + canaryToken,
		Title:    "server header " + ex.Header.Get("Server"),
		URL:      ex.URL + "?password=" + url.QueryEscape(canaryPassword),
		Curl:     "curl -H 'Authorization: Bearer " + canaryToken + "'",
		Evidence: finding.Evidence{Request: "POST " + ex.URL, Excerpt: string(ex.Body), Detail: ex.Header.Get("Set-Cookie")},
	}
	return probes.Fail("the target said "+string(ex.Body), built, hand)
}

// TestNoSecretInAnyOutput runs probes that try hard to leak against a target that echoes
// every credential, then renders every report format and the verbose log, and looks for
// the canaries in raw, URL-encoded and base64 form.
func TestNoSecretInAnyOutput(t *testing.T) {
	srv := hostile.Start(t, hostile.Echo())
	u, _ := url.Parse(srv.URL)
	id := target.NewIdentity("alice", target.Credentials{
		Headers: http.Header{"Authorization": {"Bearer " + canaryToken}},
		Token:   canaryToken,
		Secrets: []string{canaryPassword},
	}, nil)
	tg := &target.Target{Base: u, Identities: []*target.Identity{id}}

	red := httpx.NewRedactor()
	for _, s := range tg.AllSecrets() {
		red.Add(s, "ALICE_SECRET")
	}
	c, err := httpx.New(httpx.Config{AllowedHosts: []string{u.Host}, Timeout: 2 * time.Second, Redactor: red})
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	log := slog.New(httpx.RedactHandler(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}), red))

	rep, err := scan.Run(context.Background(), tg, c, scan.Options{Logger: log, Probes: []probes.Probe{
		leaker{check: finding.CheckDataExposure, path: "/api/login"},
		leaker{check: finding.CheckSafeErrors, path: "/error"},
		leaker{check: finding.CheckCORS, path: "/api/me", crash: true},
	}})
	if err != nil {
		t.Fatalf("scan: %v", err)
	}
	if len(rep.Findings) < 4 {
		t.Fatalf("want the leaking findings in the report, got %d", len(rep.Findings))
	}
	outputs := map[string]string{"verbose log": logs.String()}
	rendered := 0
	for _, format := range report.Formats {
		var b bytes.Buffer
		if err := report.Write(&b, format, rep, report.Options{}); err != nil {
			t.Fatalf("%s: %v", format, err)
		}
		rendered++
		outputs[format] = b.String()
	}
	if !strings.Contains(outputs["json"], "[redacted:ALICE_SECRET]") {
		t.Error("the JSON report shows no redaction mark: the canaries never reached it, so this test proves nothing")
	}
	for name, out := range outputs {
		for _, form := range canaryForms() {
			if strings.Contains(out, form) {
				t.Errorf("%s leaks a secret as %q", name, form)
			}
		}
	}
	t.Logf("checked %d report formats and the verbose log", rendered)
}

// refresher logs its identity in again mid-scan, getting a token nobody registered, then
// quotes it in its verdict.
type refresher struct{}

func (refresher) Check() finding.Check { return finding.CheckAuthentication }
func (refresher) Rules() []probes.Rule { return nil }
func (refresher) Run(ctx context.Context, s *probes.Session) probes.Verdict {
	if ok, err := s.Identity(0).Refresh(ctx); !ok || err != nil {
		return probes.Inconclusive("no refresh")
	}
	return probes.Pass("now using " + s.Identity(0).Token())
}

// TestTokenEarnedMidScanIsRedacted: a token an identity obtains by logging in again during
// the scan is redacted from the report, though it was unknown when the scan started.
func TestTokenEarnedMidScanIsRedacted(t *testing.T) {
	const fresh = "fresh-token-earned-mid-scan"
	srv := hostile.Start(t, hostile.Plain())
	u, _ := url.Parse(srv.URL)
	id := target.NewIdentity("alice", target.Credentials{Token: "old-token-value"},
		func(context.Context) (target.Credentials, error) {
			return target.Credentials{Token: fresh}, nil
		})
	tg := &target.Target{Base: u, Identities: []*target.Identity{id}}
	c, err := httpx.New(httpx.Config{AllowedHosts: []string{u.Host}})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := scan.Run(context.Background(), tg, c, scan.Options{Probes: []probes.Probe{refresher{}}})
	if err != nil {
		t.Fatal(err)
	}
	if r := rep.Checks[0].Reason; strings.Contains(r, fresh) || !strings.Contains(r, "[redacted:") {
		t.Errorf("reason %q: want the fresh token redacted", r)
	}
}
