package main

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/apigate/apigate/internal/config"
	"github.com/apigate/apigate/internal/openapi"
)

// starterURL is the target.url of a starter config written without a compose file.
const starterURL = "http://127.0.0.1:8080"

// composeNames are the compose file names docker compose itself looks for, in its order.
var composeNames = []string{"compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml"}

// cmdInit writes a commented starter config and an example workflow, filled from the
// compose file and API document it finds in the working directory. Existing files are
// kept unless --force.
func cmdInit(args []string, stdout, stderr io.Writer) (int, error) {
	fs := flagSet("init", stderr)
	force := fs.Bool("force", false, "overwrite existing files")
	dir := fs.String("dir", ".", "repository root to write into")
	if err := parseFlags(fs, args); err != nil {
		return exitUsage, err
	}
	facts := inspectRepo(*dir)
	files := []struct{ path, body string }{
		{filepath.Join(*dir, config.DefaultFile), starterConfig(facts)},
		{filepath.Join(*dir, ".github", "workflows", "apigate.yml"), starterWorkflow(facts)},
	}
	for _, f := range files {
		if _, err := os.Stat(f.path); err == nil && !*force {
			return exitUsage, usagef("%s exists; keep it, or overwrite with --force", f.path)
		}
	}
	for _, f := range files {
		if err := os.MkdirAll(filepath.Dir(f.path), 0o755); err != nil {
			return exitError, fmt.Errorf("init: %w", err)
		}
		if err := os.WriteFile(f.path, []byte(f.body), 0o644); err != nil {
			return exitError, fmt.Errorf("init: %w", err)
		}
		fmt.Fprintf(stderr, "wrote %s\n", f.path)
	}
	if facts.compose == "" {
		// A note, not an error: the files were written and target.url was set.
		fmt.Fprintf(stderr, "note: no compose file found, so the config scans %s (target.url);\n"+
			"start the API there in the workflow, or set target.compose instead\n", starterURL)
	}
	return exitOK, nil
}

// repoFacts is what init learnt from the repository.
type repoFacts struct {
	compose  string // compose file, relative to the root
	service  string // the service that publishes a port
	port     int    // its container port
	openapi  string // API document, relative to the root
	login    string // "POST /api/login" when the document declares one
	userFld  string
	passFld  string
	multiple []string // services publishing ports, when more than one does
}

func inspectRepo(root string) repoFacts {
	var f repoFacts
	for _, name := range composeNames {
		if isFile(filepath.Join(root, name)) {
			f.compose = name
			break
		}
	}
	if f.compose != "" {
		f.service, f.port, f.multiple = publishedService(filepath.Join(root, f.compose))
	}
	if doc := findOpenAPI(root, ""); doc != nil {
		f.openapi = doc.Source
		if op := doc.LoginOperation(); op != nil {
			f.login = op.Method + " " + op.Path
			f.userFld, f.passFld = openapi.CredentialFields(op)
		}
	}
	return f
}

// publishedService finds the services with published ports; when exactly one has them,
// it returns that service and its first container port.
func publishedService(path string) (string, int, []string) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", 0, nil
	}
	var doc struct {
		Services map[string]struct {
			Ports []yaml.Node `yaml:"ports"`
		} `yaml:"services"`
	}
	if yaml.Unmarshal(data, &doc) != nil {
		return "", 0, nil
	}
	var names []string
	ports := map[string]int{}
	for name, svc := range doc.Services {
		for _, p := range svc.Ports {
			if cp := containerPort(p); cp > 0 {
				names = append(names, name)
				ports[name] = cp
				break
			}
		}
	}
	sort.Strings(names)
	if len(names) != 1 {
		return "", 0, names
	}
	return names[0], ports[names[0]], nil
}

// containerPort reads the container side of "8080:80", "127.0.0.1:8080:80/tcp", 80 or the
// long form {target: 80, published: 8080}. An unpublished bare port gives 0.
func containerPort(n yaml.Node) int {
	if n.Kind == yaml.MappingNode {
		var long struct {
			Target    int `yaml:"target"`
			Published any `yaml:"published"`
		}
		if n.Decode(&long) == nil && long.Published != nil {
			return long.Target
		}
		return 0
	}
	s, _, _ := strings.Cut(n.Value, "/")
	parts := strings.Split(s, ":")
	if len(parts) < 2 {
		return 0 // a bare container port is not published on the host
	}
	last := parts[len(parts)-1]
	if lo, _, ok := strings.Cut(last, "-"); ok {
		last = lo
	}
	p, _ := strconv.Atoi(last)
	return p
}

// findOpenAPI returns the first API document found near the root, nil when none.
func findOpenAPI(root, basePath string) *openapi.Document {
	if docs := openAPIFiles(root, basePath); len(docs) > 0 {
		return docs[0]
	}
	return nil
}

// openAPIFiles loads the API documents near the root (files named like openapi or swagger,
// three levels deep), shortest path first.
func openAPIFiles(root, basePath string) []*openapi.Document {
	var found []string
	_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		if d.IsDir() {
			if rel != "." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "node_modules" ||
				d.Name() == "vendor" || strings.Count(rel, string(filepath.Separator)) >= 3) {
				return filepath.SkipDir
			}
			return nil
		}
		name := strings.ToLower(d.Name())
		ext := filepath.Ext(name)
		if (ext == ".yaml" || ext == ".yml" || ext == ".json") &&
			(strings.Contains(name, "openapi") || strings.Contains(name, "swagger")) {
			found = append(found, p)
		}
		return nil
	})
	sort.Slice(found, func(i, j int) bool { return len(found[i]) < len(found[j]) })
	var docs []*openapi.Document
	for _, p := range found {
		if doc, err := openapi.LoadFile(p, openapi.Options{Root: root, BasePath: basePath}); err == nil {
			docs = append(docs, doc)
		}
	}
	return docs
}

func starterConfig(f repoFacts) string {
	var b strings.Builder
	b.WriteString(`# apigate configuration. Every key is optional; docs/config.md describes them all.
# Values may use ${ENV_VAR}; keep passwords and tokens in CI secrets, never in this file.

target:
`)
	switch {
	case f.compose != "":
		fmt.Fprintf(&b, "  compose: %s\n", f.compose)
		if f.service != "" {
			fmt.Fprintf(&b, "  service: %s\n  port: %d\n", f.service, f.port)
		} else if len(f.multiple) > 1 {
			fmt.Fprintf(&b, "  # several services publish ports (%s): name the API's\n  service: %s\n",
				strings.Join(f.multiple, ", "), f.multiple[0])
		}
	default:
		fmt.Fprintf(&b, "  url: %s\n", starterURL)
	}
	if f.openapi != "" {
		fmt.Fprintf(&b, "  openapi: %s\n", f.openapi)
	} else {
		b.WriteString("  # openapi: api/openapi.yaml   # or a path the API serves, e.g. /openapi.json\n")
	}
	b.WriteString(`
# Paths anyone may call without logging in.
public: [/health]

# Two users let apigate test that one cannot read or change the other's objects.
identities:
`)
	if f.login != "" {
		fmt.Fprintf(&b, "  # The API document declares its login (%s), so credentials are enough.\n", f.login)
		b.WriteString("  alice:\n    username: alice\n    password: ${ALICE_PASSWORD}\n")
		b.WriteString("  bob:\n    username: bob\n    password: ${BOB_PASSWORD}\n")
	} else {
		b.WriteString(`  alice:
    login:
      method: POST
      path: /api/login
      body: {username: alice, password: "${ALICE_PASSWORD}"}
      token: $.access_token
  bob:
    token: ${BOB_TOKEN}
`)
	}
	b.WriteString(`
# Fail the job on findings at or above this severity: critical, high, medium, low, info, none.
fail-on: high

# Accepted findings. Each needs a reason; 'until' makes it expire.
# suppress:
#   - rule: cors-reflected-origin
#     path: /public/*
#     reason: the catalogue is public and carries no credentials
#     until: 2027-06-30

# Findings recorded with 'apigate baseline' count only when new.
# baseline: .apigate-baseline.json
`)
	return b.String()
}

// starterWorkflow matches the starter config: with a compose file the action boots it;
// without one, the config's target.url is scanned and the job must start the API first.
func starterWorkflow(f repoFacts) string {
	secrets := "          ALICE_PASSWORD: ${{ secrets.ALICE_PASSWORD }}\n" +
		"          BOB_PASSWORD: ${{ secrets.BOB_PASSWORD }}\n"
	if f.login == "" {
		secrets = "          ALICE_PASSWORD: ${{ secrets.ALICE_PASSWORD }}\n" +
			"          BOB_TOKEN: ${{ secrets.BOB_TOKEN }}\n"
	}
	head := "# Scans the API booted from the compose file on every pull request.\n"
	start, with := "", "          compose-file: "+f.compose+"\n"
	if f.compose == "" {
		head = "# Scans the API at the config's target.url on every pull request.\n"
		start = "      # Start the API here so that it listens on " + starterURL + " (target.url in\n" +
			"      # .apigate.yml), e.g. run: ./start-api.sh &\n"
		with = ""
	}
	return head + `name: apigate
on:
  pull_request:
  push:
    branches: [main]
permissions:
  contents: read
  security-events: write   # upload SARIF to code scanning
  pull-requests: write     # the sticky PR comment
jobs:
  api-security:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
` + start + `      - uses: apigate/apigate@v1
        with:
` + with + `          config: .apigate.yml
        env:
` + secrets
}
