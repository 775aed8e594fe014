package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apigate/apigate/internal/finding"
	"github.com/apigate/apigate/internal/report/sarifcheck"
	"github.com/apigate/apigate/probes"
)

var testRules = []probes.Rule{
	{ID: "auth-missing", Check: finding.CheckAuthentication, Title: "No authentication",
		Severity: finding.SeverityHigh, CWE: []string{"CWE-306"}, OWASP: "API2:2023",
		Summary: "A protected operation answers without credentials.",
		Help:    "Anyone can call it. **Require** a valid token on every non-public operation."},
	{ID: "cors-reflected-origin", Check: finding.CheckCORS, Title: "Reflected CORS origin",
		Severity: finding.SeverityMedium, CWE: []string{"CWE-942"}, OWASP: "API8:2023",
		Summary: "Any Origin is echoed back.", Help: "Allow-list the origins you trust."},
	{ID: "headers-nosniff", Check: finding.CheckSecurityHeaders, Title: "nosniff missing",
		Severity: finding.SeverityLow, CWE: []string{"CWE-693"}, OWASP: "API8:2023",
		Summary: "X-Content-Type-Options is absent.", Help: "Send `nosniff`."},
}

func sampleReport() *finding.Report {
	return &finding.Report{
		Tool: "apigate", Version: "1.2.3", Target: "http://127.0.0.1:8080",
		Started: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		Findings: []finding.Finding{
			{Rule: "headers-nosniff", Check: finding.CheckSecurityHeaders,
				Severity: finding.SeverityLow, Confidence: finding.ConfidenceHigh,
				Method: "GET", Path: "/api/items", URL: "http://127.0.0.1:8080/api/items",
				Title: "nosniff missing", Fingerprint: "fp-nosniff"},
			{Rule: "auth-missing", Check: finding.CheckAuthentication,
				Severity: finding.SeverityCritical, Confidence: finding.ConfidenceHigh,
				Method: "GET", Path: "/api/users/{id}", URL: "http://127.0.0.1:8080/api/users/1",
				Title: "User record readable without a token",
				Evidence: finding.Evidence{Request: "GET http://127.0.0.1:8080/api/users/1",
					Status: 200, Excerpt: `{"id":1,"email":"a@example.test"}`,
					Detail: "The operation requires bearer auth but answered 200."},
				Curl:     "curl -i http://127.0.0.1:8080/api/users/1",
				Location: &finding.Location{File: "api/openapi.yaml", Line: 42, Kind: "openapi"},
				CWE:      []string{"CWE-306"}, OWASP: "API2:2023", Fingerprint: "fp-auth"},
			{Rule: "cors-reflected-origin", Check: finding.CheckCORS,
				Severity: finding.SeverityMedium, Confidence: finding.ConfidenceMedium,
				Method: "GET", Path: "/public/catalog", Title: "Origin reflected",
				Suppressed: "catalogue is public", Fingerprint: "fp-cors"},
			{Rule: "unknown-extra", Check: finding.CheckSafeErrors,
				Severity: finding.SeverityHigh, Confidence: finding.ConfidenceLow,
				Method: "POST", Path: "/api/x", Title: "Stack trace",
				Location: &finding.Location{File: "http://127.0.0.1:8080/api/x", Line: 3}},
		},
	}
}

func writeSARIF(t *testing.T, rep *finding.Report, opts Options) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := SARIF(&buf, rep, opts); err != nil {
		t.Fatalf("SARIF: %v", err)
	}
	if err := sarifcheck.All(buf.Bytes()); err != nil {
		t.Fatalf("SARIF not acceptable to code scanning:\n%v\n%s", err, buf.String())
	}
	return buf.Bytes()
}

type sarifDoc struct {
	Runs []struct {
		Tool struct {
			Driver struct {
				Rules []struct {
					ID                   string         `json:"id"`
					HelpURI              string         `json:"helpUri"`
					Properties           map[string]any `json:"properties"`
					DefaultConfiguration struct {
						Level string `json:"level"`
					} `json:"defaultConfiguration"`
				} `json:"rules"`
			} `json:"driver"`
		} `json:"tool"`
		AutomationDetails struct {
			ID string `json:"id"`
		} `json:"automationDetails"`
		Properties map[string]any `json:"properties"`
		Results    []struct {
			RuleID    string `json:"ruleId"`
			RuleIndex int    `json:"ruleIndex"`
			Level     string `json:"level"`
			Message   struct {
				Text string `json:"text"`
			} `json:"message"`
			Locations []struct {
				PhysicalLocation struct {
					ArtifactLocation struct {
						URI string `json:"uri"`
					} `json:"artifactLocation"`
					Region struct {
						StartLine int `json:"startLine"`
						EndColumn int `json:"endColumn"`
					} `json:"region"`
				} `json:"physicalLocation"`
			} `json:"locations"`
			PartialFingerprints map[string]string `json:"partialFingerprints"`
			Suppressions        []struct {
				Kind          string `json:"kind"`
				Justification string `json:"justification"`
			} `json:"suppressions"`
		} `json:"results"`
	} `json:"runs"`
}

func parseSARIF(t *testing.T, data []byte) sarifDoc {
	t.Helper()
	var d sarifDoc
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatal(err)
	}
	if len(d.Runs) != 1 {
		t.Fatalf("want one run, got %d", len(d.Runs))
	}
	return d
}

func TestSARIFCodeScanningContract(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "api"), 0o755)
	spec := strings.Repeat("openapi: 3.0.3\n", 41) + "    get:  \n"
	os.WriteFile(filepath.Join(root, "api", "openapi.yaml"), []byte(spec), 0o644)

	opts := Options{Rules: testRules, Category: "api-scan", SourceRoot: root,
		DefaultLocation: filepath.Join(root, "docker-compose.yml")}
	d := parseSARIF(t, writeSARIF(t, sampleReport(), opts))
	run := d.Runs[0]

	if got := run.AutomationDetails.ID; got != "api-scan/" {
		t.Errorf("automationDetails.id = %q, want api-scan/", got)
	}
	if n := len(run.Tool.Driver.Rules); n != 4 {
		t.Errorf("want 3 table rules + 1 synthesized, got %d", n)
	}
	for _, r := range run.Tool.Driver.Rules {
		if r.HelpURI != DocsBase+"#"+r.ID {
			t.Errorf("rule %s helpUri %q", r.ID, r.HelpURI)
		}
	}
	// The rule's security-severity follows its most severe finding (critical > default high).
	if ss := run.Tool.Driver.Rules[0].Properties["security-severity"]; ss != "9.5" {
		t.Errorf("auth-missing security-severity = %v, want 9.5 (raised by a critical finding)", ss)
	}
	if len(run.Results) != 4 {
		t.Fatalf("want 4 results (suppressed included), got %d", len(run.Results))
	}
	byRule := map[string]int{}
	for i, r := range run.Results {
		byRule[r.RuleID] = i
		if run.Tool.Driver.Rules[r.RuleIndex].ID != r.RuleID {
			t.Errorf("result %s has ruleIndex %d", r.RuleID, r.RuleIndex)
		}
	}

	auth := run.Results[byRule["auth-missing"]]
	loc := auth.Locations[0].PhysicalLocation
	if loc.ArtifactLocation.URI != "api/openapi.yaml" || loc.Region.StartLine != 42 {
		t.Errorf("auth location = %s:%d", loc.ArtifactLocation.URI, loc.Region.StartLine)
	}
	if loc.Region.EndColumn != len("    get:")+1 {
		t.Errorf("endColumn = %d, want end of the trimmed line", loc.Region.EndColumn)
	}
	if auth.Level != "error" {
		t.Errorf("critical finding level = %q", auth.Level)
	}
	for _, want := range []string{"http://127.0.0.1:8080/api/users/1", "HTTP 200",
		"curl -i", `"email"`} {
		if !strings.Contains(auth.Message.Text, want) {
			t.Errorf("message lacks %q: %s", want, auth.Message.Text)
		}
	}

	nosniff := run.Results[byRule["headers-nosniff"]]
	if got := nosniff.Locations[0].PhysicalLocation.ArtifactLocation.URI; got != "docker-compose.yml" {
		t.Errorf("fallback anchor = %q, want docker-compose.yml (relative to the source root)", got)
	}
	if !strings.Contains(nosniff.Message.Text, "anchored to docker-compose.yml") {
		t.Errorf("fallback not explained: %s", nosniff.Message.Text)
	}
	// A location whose file is a URL is never used as an artifact.
	extra := run.Results[byRule["unknown-extra"]]
	if got := extra.Locations[0].PhysicalLocation.ArtifactLocation.URI; got != "docker-compose.yml" {
		t.Errorf("URL location was not replaced by the anchor: %q", got)
	}
	notes, _ := run.Properties["notes"].([]any)
	if len(notes) != 1 || !strings.Contains(fmt.Sprint(notes[0]), "3 findings had no source location") {
		t.Errorf("run notes = %v", notes)
	}

	cors := run.Results[byRule["cors-reflected-origin"]]
	if len(cors.Suppressions) != 1 || cors.Suppressions[0].Kind != "external" ||
		cors.Suppressions[0].Justification != "catalogue is public" {
		t.Errorf("suppression = %+v", cors.Suppressions)
	}
	if len(auth.Suppressions) != 0 {
		t.Error("active finding carries a suppression")
	}
}

func TestSARIFFingerprintsStable(t *testing.T) {
	opts := Options{Rules: testRules}
	a := parseSARIF(t, writeSARIF(t, sampleReport(), opts))

	// Second run: findings arrive in another order and the operation moved in the spec.
	rep := sampleReport()
	rep.Findings[0], rep.Findings[1] = rep.Findings[1], rep.Findings[0]
	rep.Findings[0].Location = &finding.Location{File: "api/openapi.yaml", Line: 97}
	b := parseSARIF(t, writeSARIF(t, rep, opts))

	hashes := func(d sarifDoc) map[string]string {
		m := map[string]string{}
		for _, r := range d.Runs[0].Results {
			m[r.RuleID] = r.PartialFingerprints["primaryLocationLineHash"]
		}
		return m
	}
	ha, hb := hashes(a), hashes(b)
	if len(ha) != 4 {
		t.Fatalf("hashes: %v", ha)
	}
	distinct := map[string]bool{}
	for rule, h := range ha {
		if hb[rule] != h {
			t.Errorf("%s fingerprint changed between runs: %s vs %s", rule, h, hb[rule])
		}
		distinct[h] = true
	}
	if len(distinct) != len(ha) {
		t.Errorf("fingerprints collide: %v", ha)
	}
}

func TestSARIFLimits(t *testing.T) {
	many := make([]string, 30)
	for i := range many {
		many[i] = fmt.Sprintf("CWE-%d", 100+i)
	}
	rules := []probes.Rule{{ID: "input-5xx", Check: finding.CheckInputValidation,
		Title: "Server error", Severity: finding.SeverityMedium, CWE: many, OWASP: "API8:2023",
		Summary: strings.Repeat("long summary ", 200), Help: "Validate input."}}
	rep := &finding.Report{Tool: "apigate", Version: "1"}
	for i := range sarifMaxResults + 7 {
		sev := finding.SeverityLow
		if i == sarifMaxResults+3 {
			sev = finding.SeverityHigh // sorted first, so it must survive the cut
		}
		rep.Findings = append(rep.Findings, finding.Finding{Rule: "input-5xx",
			Check: finding.CheckInputValidation, Severity: sev, Method: "GET",
			Path: fmt.Sprintf("/p/%d", i), Title: "5xx", Confidence: finding.ConfidenceHigh})
	}
	d := parseSARIF(t, writeSARIF(t, rep, Options{Rules: rules}))
	run := d.Runs[0]
	if len(run.Results) != sarifMaxResults {
		t.Errorf("results = %d, want the cap %d", len(run.Results), sarifMaxResults)
	}
	if run.Results[0].Level != "error" {
		t.Error("the high finding did not sort first / survive the cut")
	}
	if tags := run.Tool.Driver.Rules[0].Properties["tags"].([]any); len(tags) > sarifMaxTags {
		t.Errorf("%d tags, over %d", len(tags), sarifMaxTags)
	}
	notes := fmt.Sprint(run.Properties["notes"])
	if !strings.Contains(notes, "7 lower-severity findings were left out") {
		t.Errorf("notes = %s", notes)
	}
}

func TestSARIFRealRuleTable(t *testing.T) {
	rep := &finding.Report{Tool: "apigate", Version: "dev"}
	for _, r := range probes.AllRules() {
		rep.Findings = append(rep.Findings, finding.Finding{Rule: r.ID, Check: r.Check,
			Severity: r.Severity, Confidence: finding.ConfidenceHigh, Method: "GET",
			Path: "/x", Title: r.Title})
	}
	d := parseSARIF(t, writeSARIF(t, rep, Options{DefaultLocation: "openapi.yaml"}))
	if got, want := len(d.Runs[0].Tool.Driver.Rules), len(probes.AllRules()); got != want {
		t.Errorf("rules = %d, want %d", got, want)
	}
}

func TestSARIFEmptyReport(t *testing.T) {
	d := parseSARIF(t, writeSARIF(t, &finding.Report{}, Options{Rules: []probes.Rule{}}))
	if d.Runs[0].AutomationDetails.ID != DefaultCategory+"/" {
		t.Errorf("default category: %q", d.Runs[0].AutomationDetails.ID)
	}
}
