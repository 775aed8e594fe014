package compose

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apigate/apigate/internal/compose/composetest"
)

// boot brings a fixture up and registers its teardown and the check that nothing is left.
func boot(t *testing.T, fixture string, opts Options) (*Stack, error) {
	t.Helper()
	composetest.ServerImageFor(t)
	opts.File = composetest.Fixture(t, fixture)
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	s, err := New(context.Background(), opts)
	if err != nil {
		t.Fatalf("new: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Down(context.Background()); err != nil {
			t.Errorf("down: %v", err)
		}
		composetest.AssertGone(t, s.Project)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	return s, s.Up(ctx)
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func get(t *testing.T, s *Stack, path string) (int, string) {
	t.Helper()
	resp, err := http.Get(s.BaseURL.String() + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestUpWaitsForTheHealthcheck(t *testing.T) {
	s, err := boot(t, "healthy", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if h := s.BaseURL.Hostname(); h != "127.0.0.1" {
		t.Errorf("base URL %s: want a loopback published port", s.BaseURL)
	}
	cs, err := s.cli.projectContainers(context.Background(), s.Project)
	if err != nil || len(cs) != 1 {
		t.Fatalf("containers: %v %d", err, len(cs))
	}
	if h := cs[0].State.Health; h == nil || h.Status != "healthy" {
		t.Errorf("Up returned before the service was healthy: %+v", h)
	}
	if code, _ := get(t, s, "/"); code != 200 {
		t.Errorf("GET / = %d", code)
	}
}

func TestUpPublishesAnUnpublishedPortOnLoopback(t *testing.T) {
	s, err := boot(t, "plain", Options{Service: "api"})
	if err != nil {
		t.Fatal(err)
	}
	if h := s.BaseURL.Hostname(); h != "127.0.0.1" {
		t.Errorf("base URL %s: want 127.0.0.1", s.BaseURL)
	}
	if code, body := get(t, s, "/"); code != 200 || !strings.Contains(body, "ok") {
		t.Errorf("GET / = %d %q", code, body)
	}
	out, err := exec.Command("docker", "ps", "--filter", "label=com.docker.compose.project="+s.Project,
		"--format", "{{.Ports}}").Output()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "127.0.0.1:") || strings.Contains(string(out), "0.0.0.0:") {
		t.Errorf("ports %q: the generated override must bind loopback only", out)
	}
}

func TestUpResolvesRelativeBindMountsAndBuildContexts(t *testing.T) {
	s, err := boot(t, "bindmount", Options{})
	if err != nil {
		t.Fatal(err)
	}
	code, body := get(t, s, "/mounted")
	if code != 200 || !strings.Contains(body, "hello from the bind-mounted config") {
		t.Errorf("GET /mounted = %d %q: the bind mount did not resolve", code, body)
	}
}

func TestLogsReadsTheScanWindow(t *testing.T) {
	s, err := boot(t, "healthy", Options{})
	if err != nil {
		t.Fatal(err)
	}
	since := time.Now()
	marker := "/marker-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	get(t, s, marker)
	var lines []string
	ok := composetest.WaitFor(10*time.Second, func() bool {
		ll, err := s.Logs(context.Background(), since)
		if err != nil {
			t.Fatal(err)
		}
		lines = lines[:0]
		for _, l := range ll {
			if l.Time.Before(since) {
				t.Errorf("line from before the window: %+v", l)
			}
			if l.Service != "api" {
				t.Errorf("service %q, want api", l.Service)
			}
			lines = append(lines, l.Text)
		}
		return strings.Contains(strings.Join(lines, "\n"), marker)
	})
	if !ok {
		t.Errorf("the request to %s is not in the logs: %q", marker, lines)
	}
	for _, l := range lines {
		if strings.Contains(l, "listening on") {
			t.Errorf("boot line %q is older than the window", l)
		}
	}
}

func TestBootFailures(t *testing.T) {
	holder, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	t.Setenv("APIGATE_FIXTURE_PORT", strconv.Itoa(holder.Addr().(*net.TCPAddr).Port))

	tests := []struct {
		fixture string
		opts    Options
		kind    Kind
		want    []string
	}{
		{"crash", Options{}, KindExited, []string{`service "api" exited with code 1`,
			"cannot open database"}},
		{"never", Options{BootTimeout: 4 * time.Second}, KindNotReady, []string{
			`"api" never became ready within 4s`, "state: running", "last HTTP attempt: Get",
			"waiting forever without listening"}},
		{"unhealthy", Options{}, KindUnhealthy, []string{`service "api" failed its healthcheck`,
			"last check exit code 1", "connection refused", "listening on"}},
		{"buildfail", Options{}, KindBuild, []string{"building an image", "does-not-exist"}},
		{"portclash", Options{}, KindPort, []string{"already in use",
			strconv.Itoa(holder.Addr().(*net.TCPAddr).Port)}},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			_, err := boot(t, tt.fixture, tt.opts)
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("got %v, want a *compose.Error", err)
			}
			if ce.Kind != tt.kind {
				t.Errorf("kind %s, want %s: %v", ce.Kind, tt.kind, err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not mention %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestV1Fallback(t *testing.T) {
	if _, err := exec.LookPath("docker-compose"); err != nil {
		t.Skip("no docker-compose on PATH")
	}
	s, err := boot(t, "bindmount", Options{Command: []string{"docker-compose"}})
	if err != nil {
		t.Fatal(err)
	}
	if !s.cli.V1 {
		t.Skip("docker-compose here is v2, not the v1 fallback")
	}
	if code, body := get(t, s, "/mounted"); code != 200 || !strings.Contains(body, "hello") {
		t.Errorf("GET /mounted = %d %q", code, body)
	}
	since := time.Now()
	get(t, s, "/v1-log-check")
	ok := composetest.WaitFor(10*time.Second, func() bool {
		ll, err := s.Logs(context.Background(), since)
		return err == nil && len(ll) > 0 && ll[len(ll)-1].Service == "api" &&
			strings.Contains(ll[len(ll)-1].Text, "/v1-log-check")
	})
	if !ok {
		t.Error("v1 logs: the request is not in the scan window's logs")
	}
}

func TestCancelDuringBootStillTearsDown(t *testing.T) {
	composetest.ServerImageFor(t)
	s, err := New(context.Background(), Options{File: composetest.Fixture(t, "never")})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		composetest.WaitFor(60*time.Second, func() bool {
			return len(composetest.Leftovers(t, s.Project)) > 0
		})
		cancel()
	}()
	err = s.Up(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Up = %v, want context.Canceled", err)
	}
	if err := s.Down(ctx); err != nil { // Down must work on the cancelled context
		t.Errorf("down: %v", err)
	}
	composetest.AssertGone(t, s.Project)
}
