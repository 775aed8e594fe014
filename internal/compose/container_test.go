package compose

import (
	"os"
	"path/filepath"
	"testing"
)

func TestHostPathUsesTheLongestBindMount(t *testing.T) {
	self := &container{}
	self.Mounts = append(self.Mounts,
		mount{"bind", "/home/runner/work/_temp", "/github/runner_temp"},
		mount{"bind", "/home/runner/work/repo/repo", "/github/workspace"},
		mount{"bind", "/srv/conf", "/github/workspace/deploy/conf"},
		mount{"volume", "/var/lib/docker/volumes/x", "/github/workspace/api"},
	)
	tests := []struct {
		in, host, src string
		ok            bool
	}{
		{"/github/workspace", "/home/runner/work/repo/repo", "/home/runner/work/repo/repo", true},
		{"/github/workspace/deploy", "/home/runner/work/repo/repo/deploy", "/home/runner/work/repo/repo", true},
		{"/github/workspace/deploy/conf/x", "/srv/conf/x", "/srv/conf", true},
		{"/github/workspace/api", "/home/runner/work/repo/repo/api", "/home/runner/work/repo/repo", true},
		{"/github/workspace2", "", "", false},
		{"/app", "", "", false},
	}
	for _, tt := range tests {
		host, src, _, ok := self.hostPath(tt.in)
		if host != tt.host || src != tt.src || ok != tt.ok {
			t.Errorf("hostPath(%s) = %q %q %v, want %q %q %v", tt.in, host, src, ok, tt.host, tt.src, tt.ok)
		}
	}
}

func TestLinkHostPath(t *testing.T) {
	root := t.TempDir()
	ws := filepath.Join(root, "github", "workspace")
	if err := os.MkdirAll(ws, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ws, "compose.yml"), []byte("services: {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	hostPath := filepath.Join(root, "home", "runner", "work", "repo", "repo")

	link, err := linkHostPath(hostPath, ws)
	if err != nil || link != hostPath {
		t.Fatalf("link = %q, %v", link, err)
	}
	if b, err := os.ReadFile(filepath.Join(hostPath, "compose.yml")); err != nil || len(b) == 0 {
		t.Errorf("the workspace is not readable at its host path: %v", err)
	}
	// Already mapped (a second run, or a runner that mounts the same path on both sides).
	if link, err := linkHostPath(hostPath, ws); err != nil || link != "" {
		t.Errorf("second link = %q, %v; want no new link", link, err)
	}
	// Something else already lives at the host path: refuse rather than guess.
	other := filepath.Join(root, "other")
	if err := os.MkdirAll(other, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := linkHostPath(other, ws); err == nil {
		t.Error("an unrelated directory at the host path was accepted")
	}
}
