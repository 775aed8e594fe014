package compose

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
