package main

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/sethvargo/go-githubactions"
	"gopkg.in/yaml.v3"
)

// actionMetadata is the part of action.yml the runner reads.
type actionMetadata struct {
	Inputs map[string]struct {
		Default *string `yaml:"default"`
	} `yaml:"inputs"`
	Outputs map[string]any `yaml:"outputs"`
	Runs    struct {
		Using string   `yaml:"using"`
		Image string   `yaml:"image"`
		Args  []string `yaml:"args"`
	} `yaml:"runs"`
	Branding struct{ Icon, Color string } `yaml:"branding"`
}

func readActionMetadata(t *testing.T) actionMetadata {
	t.Helper()
	data, err := os.ReadFile("../../action.yml")
	if err != nil {
		t.Fatal(err)
	}
	var m actionMetadata
	if err := yaml.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestActionMetadataMatchesCode keeps action.yml and the code in step: every declared input
// is read (and nothing undeclared is), every output the code sets is declared.
func TestActionMetadataMatchesCode(t *testing.T) {
	m := readActionMetadata(t)
	if m.Runs.Using != "docker" || m.Runs.Image != "Dockerfile" ||
		!slices.Equal(m.Runs.Args, []string{"action"}) {
		t.Errorf("runs = %+v", m.Runs)
	}
	if m.Branding.Icon == "" || m.Branding.Color == "" {
		t.Error("no branding")
	}

	read := map[string]bool{}
	a := githubactions.New(githubactions.WithWriter(&strings.Builder{}),
		githubactions.WithGetenv(func(k string) string {
			if name, ok := strings.CutPrefix(k, "INPUT_"); ok {
				read[strings.ToLower(name)] = true
			}
			if k == "INPUT_TARGET-URL" {
				return "http://127.0.0.1:1"
			}
			return ""
		}))
	if _, err := readActionInputs(a); err != nil {
		t.Fatal(err)
	}
	for name := range m.Inputs {
		if !read[name] {
			t.Errorf("input %q is declared but never read", name)
		}
	}
	for name := range read {
		if _, ok := m.Inputs[name]; !ok {
			t.Errorf("input %q is read but not declared in action.yml", name)
		}
	}
	for _, name := range actionOutputs {
		if _, ok := m.Outputs[name]; !ok {
			t.Errorf("output %q is set but not declared", name)
		}
	}
	if len(m.Outputs) != len(actionOutputs) {
		t.Errorf("action.yml declares %d outputs, the code sets %d", len(m.Outputs), len(actionOutputs))
	}
	if d := m.Inputs["token"].Default; d == nil || *d != "${{ github.token }}" {
		t.Error("token must default to the workflow's GITHUB_TOKEN")
	}
}

// TestDockerfileLayout checks what the runner and the compose e2e image rely on.
func TestDockerfileLayout(t *testing.T) {
	data, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	df := string(data)
	if regexp.MustCompile(`(?mi)^\s*(USER|WORKDIR)\b`).MatchString(df) {
		t.Error("Dockerfile sets USER or WORKDIR; the runner needs root and its own workdir")
	}
	for _, want := range []string{
		" /usr/local/bin/apigate\n",
		" /usr/local/lib/docker/cli-plugins/docker-compose\n",
		"CGO_ENABLED=0",
		`ENTRYPOINT ["/usr/local/bin/apigate"]`,
		"/etc/ssl/certs/ca-certificates.crt",
	} {
		if !strings.Contains(df, want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
}
