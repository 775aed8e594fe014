// Package sarifcheck validates SARIF the way its two consumers do: against the OASIS SARIF
// 2.1.0 JSON schema, and against the extra rules and limits GitHub code scanning applies to
// an upload (required fields non-empty, no URL artifact locations, levels, security-severity
// bands, fingerprints, result and tag counts). Tests and the fake GitHub API use it so that
// every SARIF the project writes is checked before anything claims it would be accepted.
package sarifcheck

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Code scanning's maximum values: a file over any of them is rejected (GitHub docs, "SARIF
// support for code scanning", limits table).
const (
	MaxRuns            = 20
	MaxResultsPerRun   = 25000
	MaxRulesPerRun     = 25000
	MaxLocations       = 1000
	MaxTagsPerRule     = 20
	MaxGzipBytes       = 10 << 20
	maxDescriptionText = 1024
)

// SchemaPath finds the SARIF 2.1.0 schema: $APIGATE_SARIF_SCHEMA when set (the GitHub
// workflow fetches the OASIS file there), else ../shared/schemas/ beside the repository,
// found by walking up from this source file (this project's CI places shared/ beside the
// clone).
func SchemaPath() (string, error) {
	if p := os.Getenv("APIGATE_SARIF_SCHEMA"); p != "" {
		return p, nil
	}
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", errors.New("sarifcheck: cannot locate source file")
	}
	dir := filepath.Dir(file)
	for {
		p := filepath.Join(dir, "..", "shared", "schemas", "sarif-schema-2.1.0.json")
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			if _, err := os.Stat(p); err != nil {
				return "", fmt.Errorf("sarifcheck: schema not found at %s: %w", p, err)
			}
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("sarifcheck: no go.mod above " + filepath.Dir(file))
		}
		dir = parent
	}
}

var (
	schemaOnce sync.Once
	schema     *jsonschema.Schema
	schemaErr  error
)

func compiledSchema() (*jsonschema.Schema, error) {
	schemaOnce.Do(func() {
		p, err := SchemaPath()
		if err != nil {
			schemaErr = err
			return
		}
		fh, err := os.Open(p)
		if err != nil {
			schemaErr = fmt.Errorf("sarifcheck: %w", err)
			return
		}
		defer fh.Close()
		doc, err := jsonschema.UnmarshalJSON(fh)
		if err != nil {
			schemaErr = fmt.Errorf("sarifcheck: parse schema: %w", err)
			return
		}
		c := jsonschema.NewCompiler()
		if err := c.AddResource("sarif-schema-2.1.0.json", doc); err != nil {
			schemaErr = fmt.Errorf("sarifcheck: %w", err)
			return
		}
		schema, schemaErr = c.Compile("sarif-schema-2.1.0.json")
	})
	return schema, schemaErr
}

// Schema validates data against the SARIF 2.1.0 JSON schema.
func Schema(data []byte) error {
	sch, err := compiledSchema()
	if err != nil {
		return err
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("sarif is not JSON: %w", err)
	}
	if err := sch.Validate(inst); err != nil {
		return fmt.Errorf("sarif schema: %w", err)
	}
	return nil
}

// The subset of SARIF that code scanning reads, for the rule checks.
type (
	log struct {
		Schema  string `json:"$schema"`
		Version string `json:"version"`
		Runs    []run  `json:"runs"`
	}
	run struct {
		Tool struct {
			Driver struct {
				Name  string `json:"name"`
				Rules []rule `json:"rules"`
			} `json:"driver"`
		} `json:"tool"`
		Results           []result `json:"results"`
		AutomationDetails *struct {
			ID string `json:"id"`
		} `json:"automationDetails"`
	}
	text struct {
		Text string `json:"text"`
	}
	rule struct {
		ID                   string `json:"id"`
		Name                 string `json:"name"`
		ShortDescription     *text  `json:"shortDescription"`
		FullDescription      *text  `json:"fullDescription"`
		Help                 *text  `json:"help"`
		DefaultConfiguration *struct {
			Level string `json:"level"`
		} `json:"defaultConfiguration"`
		Properties struct {
			Tags             []string `json:"tags"`
			Precision        string   `json:"precision"`
			SecuritySeverity *string  `json:"security-severity"`
		} `json:"properties"`
	}
	result struct {
		RuleID              string            `json:"ruleId"`
		RuleIndex           *int              `json:"ruleIndex"`
		Level               string            `json:"level"`
		Message             text              `json:"message"`
		Locations           []location        `json:"locations"`
		PartialFingerprints map[string]string `json:"partialFingerprints"`
		Properties          map[string]any    `json:"properties"`
	}
	location struct {
		PhysicalLocation *struct {
			ArtifactLocation *struct {
				URI string `json:"uri"`
			} `json:"artifactLocation"`
			Region *struct {
				StartLine   int `json:"startLine"`
				StartColumn int `json:"startColumn"`
				EndLine     int `json:"endLine"`
				EndColumn   int `json:"endColumn"`
			} `json:"region"`
		} `json:"physicalLocation"`
	}
)

// CodeScanning checks the rules GitHub code scanning applies beyond the schema. It returns
// every problem found, nil when the file would be accepted and displayed.
func CodeScanning(data []byte) []error {
	var doc log
	if err := json.Unmarshal(data, &doc); err != nil {
		return []error{fmt.Errorf("not SARIF JSON: %w", err)}
	}
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if doc.Version != "2.1.0" {
		bad("version is %q, want 2.1.0", doc.Version)
	}
	if doc.Schema == "" {
		bad("$schema is empty")
	}
	if len(doc.Runs) == 0 || len(doc.Runs) > MaxRuns {
		bad("%d runs, want 1 to %d", len(doc.Runs), MaxRuns)
	}
	for ri, r := range doc.Runs {
		where := fmt.Sprintf("runs[%d]", ri)
		if r.Tool.Driver.Name == "" {
			bad("%s: tool.driver.name is empty", where)
		}
		if r.AutomationDetails != nil && !strings.Contains(r.AutomationDetails.ID, "/") {
			bad("%s: automationDetails.id %q has no category/ prefix", where, r.AutomationDetails.ID)
		}
		if len(r.Results) > MaxResultsPerRun {
			bad("%s: %d results, over %d", where, len(r.Results), MaxResultsPerRun)
		}
		if len(r.Tool.Driver.Rules) > MaxRulesPerRun {
			bad("%s: %d rules, over %d", where, len(r.Tool.Driver.Rules), MaxRulesPerRun)
		}
		errs = append(errs, checkRules(where, r.Tool.Driver.Rules)...)
		errs = append(errs, checkResults(where, r)...)
	}
	return errs
}

func checkRules(where string, rules []rule) []error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	ids := map[string]bool{}
	for i, r := range rules {
		w := fmt.Sprintf("%s.rules[%d] (%s)", where, i, r.ID)
		if r.ID == "" {
			bad("%s: id is empty", w)
		}
		if ids[r.ID] {
			bad("%s: duplicate rule id", w)
		}
		ids[r.ID] = true
		if len(r.Name) > 255 {
			bad("%s: name longer than 255", w)
		}
		for name, t := range map[string]*text{"shortDescription": r.ShortDescription,
			"fullDescription": r.FullDescription, "help": r.Help} {
			switch {
			case t == nil || strings.TrimSpace(t.Text) == "":
				bad("%s: %s.text is empty", w, name)
			case name != "help" && len(t.Text) > maxDescriptionText:
				bad("%s: %s.text longer than %d", w, name, maxDescriptionText)
			}
		}
		if dc := r.DefaultConfiguration; dc != nil && !validLevel(dc.Level) {
			bad("%s: defaultConfiguration.level %q", w, dc.Level)
		}
		if len(r.Properties.Tags) > MaxTagsPerRule {
			bad("%s: %d tags, over %d", w, len(r.Properties.Tags), MaxTagsPerRule)
		}
		if p := r.Properties.Precision; p != "" &&
			!slices.Contains([]string{"very-high", "high", "medium", "low"}, p) {
			bad("%s: precision %q", w, p)
		}
		if ss := r.Properties.SecuritySeverity; ss != nil {
			v, err := strconv.ParseFloat(*ss, 64)
			if err != nil || v <= 0 || v > 10 {
				bad("%s: security-severity %q is not a score in (0, 10]", w, *ss)
			} else if !slices.Contains(r.Properties.Tags, "security") {
				bad("%s: security-severity without the security tag", w)
			}
		}
	}
	return errs
}

func checkResults(where string, r run) []error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	rules := r.Tool.Driver.Rules
	for i, res := range r.Results {
		w := fmt.Sprintf("%s.results[%d] (%s)", where, i, res.RuleID)
		if strings.TrimSpace(res.Message.Text) == "" {
			bad("%s: message.text is empty", w)
		}
		if res.Level != "" && !validLevel(res.Level) {
			bad("%s: level %q", w, res.Level)
		}
		if res.RuleIndex != nil {
			if *res.RuleIndex < 0 || *res.RuleIndex >= len(rules) {
				bad("%s: ruleIndex %d out of range", w, *res.RuleIndex)
			} else if rules[*res.RuleIndex].ID != res.RuleID {
				bad("%s: ruleIndex points at %q", w, rules[*res.RuleIndex].ID)
			} else {
				errs = append(errs, checkSeverity(w, res, rules[*res.RuleIndex])...)
			}
		}
		if res.PartialFingerprints["primaryLocationLineHash"] == "" {
			bad("%s: partialFingerprints.primaryLocationLineHash is empty", w)
		}
		if len(res.Locations) == 0 || len(res.Locations) > MaxLocations {
			bad("%s: %d locations, want 1 to %d", w, len(res.Locations), MaxLocations)
			continue
		}
		pl := res.Locations[0].PhysicalLocation
		if pl == nil || pl.ArtifactLocation == nil || pl.ArtifactLocation.URI == "" {
			bad("%s: first location has no artifactLocation.uri", w)
			continue
		}
		uri := pl.ArtifactLocation.URI
		if strings.Contains(uri, "://") && !strings.HasPrefix(uri, "file://") {
			bad("%s: artifact uri %q is not a file", w, uri)
		}
		if pl.Region == nil || pl.Region.StartLine < 1 {
			bad("%s: region.startLine missing", w)
		} else if pl.Region.EndLine != 0 && pl.Region.EndLine < pl.Region.StartLine {
			bad("%s: region ends before it starts", w)
		}
	}
	return errs
}

// checkSeverity: the result's level must match its own severity's security-severity band,
// and the rule's security-severity must not be milder than any of its results.
func checkSeverity(w string, res result, r rule) []error {
	rs, ok := res.Properties["security-severity"].(string)
	if !ok {
		return nil
	}
	v, err := strconv.ParseFloat(rs, 64)
	if err != nil {
		return []error{fmt.Errorf("%s: security-severity %q", w, rs)}
	}
	var errs []error
	want := "note"
	switch {
	case v >= 7.0:
		want = "error"
	case v >= 4.0:
		want = "warning"
	}
	if res.Level != want {
		errs = append(errs, fmt.Errorf("%s: level %q but security-severity %s", w, res.Level, rs))
	}
	if r.Properties.SecuritySeverity == nil {
		errs = append(errs, fmt.Errorf("%s: rule %s has no security-severity", w, r.ID))
	} else if rv, err := strconv.ParseFloat(*r.Properties.SecuritySeverity, 64); err == nil &&
		band(rv) < band(v) {
		errs = append(errs, fmt.Errorf("%s: rule security-severity %s milder than result's %s",
			w, *r.Properties.SecuritySeverity, rs))
	}
	return errs
}

// band is GitHub's severity band for a security-severity score: 4 critical (over 9.0),
// 3 high (7.0-8.9), 2 medium (4.0-6.9), 1 low (0.1-3.9), 0 none.
func band(v float64) int {
	switch {
	case v > 9.0:
		return 4
	case v >= 7.0:
		return 3
	case v >= 4.0:
		return 2
	case v > 0:
		return 1
	}
	return 0
}

func validLevel(l string) bool {
	return l == "none" || l == "note" || l == "warning" || l == "error"
}

// All runs both checks and joins their errors.
func All(data []byte) error {
	errs := CodeScanning(data)
	if err := Schema(data); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
