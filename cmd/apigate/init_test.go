package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/apigate/apigate/internal/config"
)

func TestInitFillsFromComposeAndOpenAPI(t *testing.T) {
	dir := t.TempDir()
	putFile(t, dir, "docker-compose.yml", `services:
  db:
    image: local/postgres
    expose: ["5432"]
  api:
    build: .
    ports:
      - "127.0.0.1:8081:8080/tcp"
  worker:
    build: .
    ports: ["9000"]
`)
	spec, err := os.ReadFile("../../internal/openapi/testdata/petstore-3.0.yaml")
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(dir, "api"), 0o755)
	putFile(t, dir, "api/openapi.yaml", string(spec))

	var stdout, stderr bytes.Buffer
	if code := run([]string{"init", "--dir", dir}, &stdout, &stderr); code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	cfgPath := filepath.Join(dir, ".apigate.yml")
	env := func(string) (string, bool) { return "x", true }
	c, err := config.Load(cfgPath, config.Options{Getenv: env})
	if err != nil {
		t.Fatalf("the starter config does not load: %v", err)
	}
	if c.Target.Compose != "docker-compose.yml" || c.Target.Service != "api" || c.Target.Port != 8080 ||
		c.Target.OpenAPI != "api/openapi.yaml" {
		t.Errorf("target %+v", c.Target)
	}
	if len(c.Identities) != 2 || c.Identities[0].Username != "alice" || c.Identities[1].Password != "x" {
		t.Errorf("identities %+v", c.Identities)
	}
	if !strings.Contains(string(mustRead(t, cfgPath)), "declares its login (POST /api/v1/login)") {
		t.Errorf("the config does not say where the login comes from")
	}
	wf := mustRead(t, filepath.Join(dir, ".github/workflows/apigate.yml"))
	var w struct {
		Jobs map[string]struct {
			Steps []struct {
				Uses string            `yaml:"uses"`
				With map[string]string `yaml:"with"`
				Env  map[string]string `yaml:"env"`
			} `yaml:"steps"`
		} `yaml:"jobs"`
	}
	if err := yaml.Unmarshal(wf, &w); err != nil {
		t.Fatalf("workflow is not YAML: %v", err)
	}
	step := w.Jobs["api-security"].Steps[1]
	if step.With["compose-file"] != "docker-compose.yml" || step.Env["BOB_PASSWORD"] == "" {
		t.Errorf("workflow step %+v", step)
	}

	// Existing files are kept without --force.
	os.WriteFile(cfgPath, []byte("fail-on: low\n"), 0o644)
	stderr.Reset()
	if code := run([]string{"init", "--dir", dir}, &stdout, &stderr); code != exitUsage ||
		!strings.Contains(stderr.String(), "exists; keep it, or overwrite with --force") {
		t.Errorf("second init: exit %d %s", code, stderr.String())
	}
	if string(mustRead(t, cfgPath)) != "fail-on: low\n" {
		t.Error("init overwrote the config without --force")
	}
	if code := run([]string{"init", "--dir", dir, "--force"}, &stdout, &stderr); code != exitOK ||
		string(mustRead(t, cfgPath)) == "fail-on: low\n" {
		t.Errorf("--force did not overwrite")
	}
}

func TestInitWithNothingToGoOn(t *testing.T) {
	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	if code := run([]string{"init", "--dir", dir}, &stdout, &stderr); code != exitOK {
		t.Fatalf("exit %d", code)
	}
	env := func(string) (string, bool) { return "x", true }
	c, err := config.Load(filepath.Join(dir, ".apigate.yml"), config.Options{Getenv: env})
	if err != nil {
		t.Fatal(err)
	}
	if c.Target.URL != "http://127.0.0.1:8080" || c.Identities[0].Login == nil || c.Identities[1].Token != "x" {
		t.Errorf("%+v", c)
	}
	if !strings.Contains(stderr.String(), "no compose file found, so the config scans "+
		"http://127.0.0.1:8080") || strings.Contains(stderr.String(), "apigate:") {
		t.Errorf("stderr is not an informational note: %q", stderr.String())
	}
	if stdout.Len() != 0 {
		t.Errorf("init printed on stdout: %q", stdout.String())
	}
	// The workflow scans what the config names: no compose file it does not have.
	var w struct {
		Jobs map[string]struct {
			Steps []struct {
				Uses string            `yaml:"uses"`
				With map[string]string `yaml:"with"`
			} `yaml:"steps"`
		} `yaml:"jobs"`
	}
	wf := mustRead(t, filepath.Join(dir, ".github/workflows/apigate.yml"))
	if err := yaml.Unmarshal(wf, &w); err != nil {
		t.Fatalf("workflow is not YAML: %v", err)
	}
	step := w.Jobs["api-security"].Steps[1]
	if _, ok := step.With["compose-file"]; ok || step.With["config"] != ".apigate.yml" {
		t.Errorf("workflow step %+v does not match the config's target.url", step)
	}
}
