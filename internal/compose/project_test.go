package compose

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apigate/apigate/internal/httpx"
)

func fixtureFile(name string) string {
	return filepath.Join("..", "..", "testdata", "compose", name, "compose.yml")
}

func TestLoadChoosesTheService(t *testing.T) {
	tests := []struct {
		what, fixture, service string
		port                   int
		wantService            string
		wantPort               int
		wantPublished          bool
		wantHealth             bool
		wantLine               int
	}{
		{what: "only publishing service", fixture: "healthy", wantService: "api", wantPort: 8080,
			wantPublished: true, wantHealth: true, wantLine: 4},
		{what: "unpublished, exposed", fixture: "plain", service: "api", wantService: "api",
			wantPort: 8080, wantLine: 5},
		{what: "named among several", fixture: "multi", service: "admin", wantService: "admin",
			wantPort: 8080, wantPublished: true, wantLine: 7},
		{what: "port named", fixture: "plain", service: "sidecar", port: 9000,
			wantService: "sidecar", wantPort: 9000, wantLine: 9},
	}
	for _, tt := range tests {
		t.Run(tt.what, func(t *testing.T) {
			s, err := Load(context.Background(), fixtureFile(tt.fixture), tt.service, tt.port)
			if err != nil {
				t.Fatal(err)
			}
			if s.Service != tt.wantService || s.Port != tt.wantPort || s.Published != tt.wantPublished ||
				s.Healthcheck != tt.wantHealth || s.Line != tt.wantLine {
				t.Errorf("got service %q port %d published %v health %v line %d", s.Service, s.Port,
					s.Published, s.Healthcheck, s.Line)
			}
			loc := s.Location(filepath.Join("..", ".."))
			want := "testdata/compose/" + tt.fixture + "/compose.yml"
			if !strings.HasSuffix(loc.File, want) || loc.Kind != "compose" || loc.Line != tt.wantLine {
				t.Errorf("location %+v, want %s:%d kind compose", loc, want, tt.wantLine)
			}
		})
	}
}

func TestLoadLocationIsRelativeToTheRoot(t *testing.T) {
	s, err := Load(context.Background(), fixtureFile("healthy"), "", 0)
	if err != nil {
		t.Fatal(err)
	}
	root, _ := filepath.Abs(filepath.Join("..", ".."))
	if loc := s.Location(root); loc.File != "testdata/compose/healthy/compose.yml" {
		t.Errorf("file %q, want testdata/compose/healthy/compose.yml", loc.File)
	}
	if loc := s.Location(t.TempDir()); !filepath.IsAbs(loc.File) {
		t.Errorf("a file outside the root should stay absolute, got %q", loc.File)
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		what, file, service string
		port                int
		kind                Kind
		want                []string
	}{
		{what: "missing file", file: filepath.Join(dir, "nope.yml"), kind: KindFile,
			want: []string{"nope.yml does not exist"}},
		{what: "schema error", file: fixtureFile("invalid"), kind: KindFile,
			want: []string{"invalid compose file", "compose.yml:5", "ports"}},
		{what: "yaml syntax", file: write("syntax.yml", "services:\n  api:\n    image: x\n   ports: [\n"),
			kind: KindFile, want: []string{"invalid compose file", "line"}},
		{what: "several publish", file: fixtureFile("multi"), kind: KindTarget,
			want: []string{"2 services", "--service", "admin, web"}},
		{what: "unknown service", file: fixtureFile("multi"), service: "db", kind: KindTarget,
			want: []string{`no service "db"`, "admin, web"}},
		{what: "none publishes", file: fixtureFile("plain"), kind: KindTarget,
			want: []string{"no service", "publishes a port", "api, sidecar"}},
		{what: "no port at all", file: fixtureFile("plain"), service: "sidecar", kind: KindTarget,
			want: []string{"--port"}},
		{what: "several ports", file: write("ports.yml",
			"services:\n  api:\n    image: x\n    ports: [\"127.0.0.1::80\", \"127.0.0.1::443\"]\n"),
			kind: KindTarget, want: []string{"80, 443", "--port"}},
		{what: "no services", file: write("empty.yml", "services: {}\n"), kind: KindFile,
			want: []string{"no service"}},
	}
	for _, tt := range tests {
		t.Run(tt.what, func(t *testing.T) {
			_, err := Load(context.Background(), tt.file, tt.service, tt.port)
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("got %v, want a *compose.Error", err)
			}
			if ce.Kind != tt.kind {
				t.Errorf("kind %s, want %s (%v)", ce.Kind, tt.kind, err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestFindCLIReportsWhatItTried(t *testing.T) {
	_, err := FindCLI(context.Background(), []string{"apigate-no-such-compose"})
	var ce *Error
	if !errors.As(err, &ce) || ce.Kind != KindCLI {
		t.Fatalf("got %v, want a compose-cli error", err)
	}
	if !strings.Contains(err.Error(), "docker compose") {
		t.Errorf("error %q does not say what to install", err)
	}
	if _, lookErr := exec.LookPath("docker"); lookErr == nil &&
		!strings.Contains(err.Error(), "apigate-no-such-compose") {
		t.Errorf("error %q does not say what was tried", err)
	}
}

func TestParseLogs(t *testing.T) {
	since := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	out := strings.Join([]string{
		"api-1  | 2026-01-02T03:04:04.999999999Z before the window",
		"api-1  | 2026-01-02T03:04:05.000000001Z GET /x | with a pipe",
		"worker-12  | 2026-01-02T03:04:06Z job done",
		"proj_api_1  | 2026-01-02T03:04:07.5Z v1 style",
		"proj-db-1 | 2026-01-02T03:04:08Z v2 long prefix",
		"garbage line",
		"api-1  | not-a-time text",
	}, "\n")
	got := parseLogs(out, "proj", since)
	want := []struct{ service, text string }{
		{"api", "GET /x | with a pipe"}, {"worker", "job done"}, {"api", "v1 style"},
		{"db", "v2 long prefix"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d lines %+v, want %d", len(got), got, len(want))
	}
	for i, w := range want {
		if got[i].Service != w.service || got[i].Text != w.text || got[i].Time.Before(since) {
			t.Errorf("line %d = %+v, want %s %q", i, got[i], w.service, w.text)
		}
	}
}

func TestUpErrorClassifies(t *testing.T) {
	tests := []struct {
		out  string
		kind Kind
	}{
		{"Error response from daemon: driver failed programming external connectivity: " +
			"Bind for 127.0.0.1:8080 failed: port is already allocated", KindPort},
		{"Error starting userland proxy: listen tcp4 127.0.0.1:8080: bind: address already in use", KindPort},
		{"COPY failed: file not found in build context", KindBuild},
		{"The command '/bin/sh -c make' returned a non-zero code: 2", KindBuild},
		{"failed to solve: process \"/bin/sh -c false\" did not complete successfully", KindBuild},
		{"Service 'api' failed to build : Build failed", KindBuild},
		{"Error response from daemon: No such image: nothing:latest", KindUp},
	}
	for _, tt := range tests {
		err := upError("step 1\n"+tt.out+"\n", errors.New("exit status 1"))
		var ce *Error
		if !errors.As(err, &ce) || ce.Kind != tt.kind {
			t.Errorf("%q: got %v, want kind %s", tt.out, err, tt.kind)
			continue
		}
		if !strings.Contains(err.Error(), tt.out) {
			t.Errorf("%q: the error does not carry compose's output: %v", tt.out, err)
		}
	}
}

func TestMayBeTLS(t *testing.T) {
	tests := []struct {
		ex   httpx.Exchange
		want bool
	}{
		{httpx.Exchange{Status: 400, Body: []byte("Client sent an HTTP request to an HTTPS server.\n")}, true},
		{httpx.Exchange{Status: 400, Body: []byte("<h1>The plain HTTP request was sent to HTTPS port</h1>")}, true},
		{httpx.Exchange{Err: errors.New("malformed HTTP response \"\\x15\\x03\\x01\"")}, true},
		{httpx.Exchange{Status: 400, Body: []byte(`{"error":"bad request"}`)}, false},
		{httpx.Exchange{Status: 200, Body: []byte("https://example.test")}, false},
		{httpx.Exchange{Status: 301}, false},
	}
	for _, tt := range tests {
		if got := mayBeTLS(&tt.ex); got != tt.want {
			t.Errorf("mayBeTLS(%d %q %v) = %v", tt.ex.Status, tt.ex.Body, tt.ex.Err, got)
		}
	}
}

func TestOtherPorts(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "c.yml")
	os.WriteFile(p, []byte("services:\n  api:\n    image: x\n    ports: [\"127.0.0.1::8443\", "+
		"\"127.0.0.1::8080\"]\n    expose: [\"9090\"]\n"), 0o644)
	s, err := Load(context.Background(), p, "", 8443)
	if err != nil {
		t.Fatal(err)
	}
	if s.Port != 8443 || !s.Published || !slices.Equal(s.OtherPorts, []int{8080, 9090}) {
		t.Errorf("port %d published %v others %v", s.Port, s.Published, s.OtherPorts)
	}
}
