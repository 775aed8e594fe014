// Package composetest builds the compose fixtures' images and checks that a compose project
// left nothing behind. Only tests import it.
//
// Images are built FROM scratch from static binaries (no registry can be reached), tagged
// apigate-fixture/<name>:test, and reused across tests and runs: docker's build cache makes
// a rebuild of an unchanged binary a no-op.
package composetest

import (
	"bytes"
	"debug/elf"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// Image tags of the fixtures.
const (
	ServerImage  = "apigate-fixture/server:test"
	ApigateImage = "apigate-fixture/apigate:test"
	ActionImage  = "apigate-fixture/action:test"
)

// RequireDocker skips the test when no Docker Engine is reachable, except under CI=true,
// where a missing engine fails the test: CI must never pass by skipping the compose tests.
func RequireDocker(t testing.TB) {
	t.Helper()
	out, err := exec.Command("docker", "info", "--format", "{{.ServerVersion}}").CombinedOutput()
	if err == nil {
		return
	}
	msg := fmt.Sprintf("docker engine not reachable: %v: %s", err, bytes.TrimSpace(out))
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// Root is the module's root directory.
func Root(t testing.TB) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", "..", ".."))
}

var (
	buildMu sync.Mutex
	built   = map[string]string{}
)

// Binary builds a static binary of a main package (a path relative to the module root),
// with optional build tags, once per test process and returns its path. Binaries live in
// one fixed directory, so runs do not pile them up; each is renamed into place, so parallel
// test processes never see a half-written file.
func Binary(t testing.TB, pkg string, tags ...string) string {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	key := pkg + " " + strings.Join(tags, ",")
	if p, ok := built[key]; ok {
		return p
	}
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("apigate-fixture-bin-%d", os.Getuid()))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	name := strings.ReplaceAll(strings.Trim(pkg, "./"), "/", "_")
	if len(tags) > 0 {
		name += "_" + strings.Join(tags, "_")
	}
	out := filepath.Join(dir, name)
	tmp := fmt.Sprintf("%s.%d.tmp", out, os.Getpid())
	cmd := exec.Command("go", "build", "-trimpath", "-tags", strings.Join(tags, ","), "-o", tmp,
		"./"+strings.TrimPrefix(pkg, "./"))
	cmd.Dir = Root(t)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", pkg, err, b)
	}
	if err := os.Rename(tmp, out); err != nil {
		t.Fatal(err)
	}
	built[key] = out
	return out
}

// ServerBinary is the fixture server (testdata/compose/server).
func ServerBinary(t testing.TB) string { return Binary(t, "testdata/compose/server") }

// FixtureLabel marks every image the tests build, so CI can prune the dangling ones that
// rebuilds leave without touching anyone else's images.
const FixtureLabel = "dev.apigate.fixture=true"

// BuildImage builds a FROM-scratch image whose context holds the given files (context path
// -> file on disk) and the given Dockerfile text, labelled with FixtureLabel.
func BuildImage(t testing.TB, tag, dockerfile string, files map[string]string) {
	t.Helper()
	dockerfile = strings.TrimRight(dockerfile, "\n") + "\nLABEL " + FixtureLabel + "\n"
	ctx := t.TempDir()
	if err := os.WriteFile(filepath.Join(ctx, "Dockerfile"), []byte(dockerfile), 0o644); err != nil {
		t.Fatal(err)
	}
	for dst, src := range files {
		p := filepath.Join(ctx, dst)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		copyFile(t, src, p, 0o755)
	}
	cmd := exec.Command("docker", "build", "-q", "-t", tag, ctx)
	cmd.Env = append(os.Environ(), "DOCKER_BUILDKIT=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("docker build %s: %v\n%s", tag, err, b)
	}
}

var images sync.Map // tag -> *sync.Once

func once(tag string) *sync.Once {
	o, _ := images.LoadOrStore(tag, new(sync.Once))
	return o.(*sync.Once)
}

// ServerImageFor builds apigate-fixture/server:test once per test process.
func ServerImageFor(t testing.TB) string {
	t.Helper()
	RequireDocker(t)
	bin := ServerBinary(t)
	once(ServerImage).Do(func() {
		df, err := os.ReadFile(filepath.Join(Root(t), "testdata/compose/server/Dockerfile"))
		if err != nil {
			t.Fatal(err)
		}
		BuildImage(t, ServerImage, string(df), map[string]string{"server": bin})
	})
	return ServerImage
}

// ApigateImageFor builds apigate-fixture/apigate:test once per test process: the apigate
// binary alone, which the demo fixtures run as `apigate demo serve`.
func ApigateImageFor(t testing.TB) string {
	t.Helper()
	RequireDocker(t)
	bin := Binary(t, "cmd/apigate")
	once(ApigateImage).Do(func() {
		BuildImage(t, ApigateImage, "FROM scratch\nCOPY apigate /apigate\nENTRYPOINT [\"/apigate\"]\n",
			map[string]string{"apigate": bin})
	})
	return ApigateImage
}

// Fixture copies testdata/compose/<name> into a fresh directory, adds the fixture server
// binary to every build context that asks for one (a Dockerfile copying "server"), and
// returns the path of its compose.yml.
func Fixture(t testing.TB, name string) string {
	t.Helper()
	src := filepath.Join(Root(t), "testdata", "compose", name)
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		copyFile(t, p, target, 0o644)
		if d.Name() == "Dockerfile" {
			df, _ := os.ReadFile(p)
			if bytes.Contains(df, []byte("COPY server ")) {
				copyFile(t, ServerBinary(t), filepath.Join(filepath.Dir(target), "server"), 0o755)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dst, "compose.yml")
}

func copyFile(t testing.TB, src, dst string, mode os.FileMode) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, mode); err != nil {
		t.Fatal(err)
	}
}

// Leftovers lists what of a compose project still exists: containers, networks, volumes.
func Leftovers(t testing.TB, project string) []string {
	t.Helper()
	filter := "label=com.docker.compose.project=" + project
	var left []string
	for _, args := range [][]string{
		{"ps", "-a", "-q", "--filter", filter},
		{"network", "ls", "-q", "--filter", filter},
		{"volume", "ls", "-q", "--filter", filter},
	} {
		out, err := exec.Command("docker", args...).Output()
		if err != nil {
			t.Fatalf("docker %s: %v", strings.Join(args, " "), err)
		}
		for _, id := range strings.Fields(string(out)) {
			left = append(left, args[0]+" "+id)
		}
	}
	return left
}

// AssertGone fails the test if anything of the project is left, and removes it so a
// failing test does not leak. An empty project name is an error in the test itself.
func AssertGone(t testing.TB, project string) {
	t.Helper()
	if project == "" {
		t.Error("no compose project name to check teardown of")
		return
	}
	left := Leftovers(t, project)
	if len(left) == 0 {
		return
	}
	t.Errorf("project %s left behind: %s", project, strings.Join(left, ", "))
	ForceRemove(project)
}

// ForceRemove removes every object of a project, for a test's own cleanup.
func ForceRemove(project string) {
	filter := "label=com.docker.compose.project=" + project
	run := func(args ...string) []string {
		out, _ := exec.Command("docker", args...).Output()
		return strings.Fields(string(out))
	}
	if ids := run("ps", "-a", "-q", "--filter", filter); len(ids) > 0 {
		run(append([]string{"rm", "-f", "-v"}, ids...)...)
	}
	if ids := run("network", "ls", "-q", "--filter", filter); len(ids) > 0 {
		run(append([]string{"network", "rm"}, ids...)...)
	}
	if ids := run("volume", "ls", "-q", "--filter", filter); len(ids) > 0 {
		run(append([]string{"volume", "rm", "-f"}, ids...)...)
	}
}

// Static reports whether an executable is statically linked (has no ELF interpreter), so
// it can run in a FROM-scratch image.
func Static(path string) (bool, error) {
	f, err := elf.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return false, nil
		}
	}
	return true, nil
}

// WaitFor polls cond every 100ms until it holds or the timeout passes.
func WaitFor(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		time.Sleep(100 * time.Millisecond)
	}
	return cond()
}

// StaticTool finds a statically linked build of the docker CLI ("docker") or of the compose
// plugin ("compose"), for the FROM-scratch action image. .ci/install-compose.sh builds both.
// Without one the test is skipped, or failed under CI=true.
func StaticTool(t testing.TB, tool string) string {
	t.Helper()
	home, _ := os.UserHomeDir()
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		cache = filepath.Join(home, ".cache")
	}
	config := os.Getenv("DOCKER_CONFIG")
	if config == "" {
		config = filepath.Join(home, ".docker")
	}
	var candidates []string
	switch tool {
	case "docker":
		candidates = []string{os.Getenv("APIGATE_STATIC_DOCKER"),
			filepath.Join(cache, "apigate", "docker-static")}
		if p, err := exec.LookPath("docker"); err == nil {
			candidates = append(candidates, p)
		}
	case "compose":
		candidates = []string{os.Getenv("APIGATE_STATIC_COMPOSE"),
			filepath.Join(cache, "apigate", "compose-static"),
			filepath.Join(config, "cli-plugins", "docker-compose"),
			"/usr/local/lib/docker/cli-plugins/docker-compose",
			"/usr/libexec/docker/cli-plugins/docker-compose"}
	default:
		t.Fatalf("unknown tool %q", tool)
	}
	for _, c := range candidates {
		if c == "" {
			continue
		}
		if ok, err := Static(c); err == nil && ok {
			return c
		}
	}
	msg := fmt.Sprintf("no statically linked %s among %q; run .ci/install-compose.sh", tool, candidates)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// ActionImageFor builds apigate-fixture/action:test once per test process: apigate, the
// docker CLI and the compose plugin in a FROM-scratch image, laid out like the action's
// real image (binaries on PATH, the plugin where the docker CLI looks for system plugins).
func ActionImageFor(t testing.TB) string {
	t.Helper()
	RequireDocker(t)
	docker, plugin := StaticTool(t, "docker"), StaticTool(t, "compose")
	apigate := Binary(t, "cmd/apigate")
	once(ActionImage).Do(func() {
		keep := filepath.Join(t.TempDir(), "keep")
		if err := os.WriteFile(keep, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		BuildImage(t, ActionImage, `FROM scratch
COPY apigate docker /usr/local/bin/
COPY docker-compose /usr/local/lib/docker/cli-plugins/
COPY tmp /tmp/
ENV PATH=/usr/local/bin
ENTRYPOINT ["/usr/local/bin/apigate"]
`, map[string]string{"apigate": apigate, "docker": docker, "docker-compose": plugin,
			"tmp/.keep": keep})
	})
	return ActionImage
}
