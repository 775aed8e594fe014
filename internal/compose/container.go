package compose

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// self finds the container apigate runs in, when it runs in a container of the daemon it
// drives - the GitHub Actions case, where the runner mounts the host's Docker socket into
// the action's container. It returns nil on a host, or in a container the daemon does not
// know (a sandbox, or a remote daemon).
func (c *CLI) self(ctx context.Context) *container {
	if _, err := os.Stat("/.dockerenv"); err != nil {
		return nil
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		return nil
	}
	// Docker's default hostname is the short container ID, which inspect accepts.
	cs, err := c.inspect(ctx, host)
	if err != nil || len(cs) != 1 || !strings.HasPrefix(cs[0].ID, host) {
		return nil
	}
	return &cs[0]
}

// hostPath maps a path inside this container to the daemon's host path, through the bind
// mount that contains it (the longest match). ok is false when no mount contains it.
func (self *container) hostPath(p string) (host, mountSrc, mountDst string, ok bool) {
	best := -1
	for i, m := range self.Mounts {
		if m.Type != "" && m.Type != "bind" {
			continue
		}
		if p != m.Destination && !strings.HasPrefix(p, strings.TrimSuffix(m.Destination, "/")+"/") {
			continue
		}
		if best < 0 || len(m.Destination) > len(self.Mounts[best].Destination) {
			best = i
		}
	}
	if best < 0 {
		return "", "", "", false
	}
	m := self.Mounts[best]
	rel := strings.TrimPrefix(p, m.Destination)
	return filepath.Join(m.Source, rel), m.Source, m.Destination, true
}

// linkHostPath makes the host path src name the same directory inside this container as
// dst, so that paths compose reads on the client side (the compose file, env files, build
// contexts) and the bind sources the daemon resolves on the host are one and the same
// string. It returns the link it created, or "" when src already was that directory.
func linkHostPath(src, dst string) (string, error) {
	if fi, err := os.Stat(src); err == nil {
		di, err := os.Stat(dst)
		if err == nil && os.SameFile(fi, di) {
			return "", nil
		}
		return "", fmt.Errorf("the workspace's host path %s exists inside this container "+
			"and is not the workspace %s", src, dst)
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("check the workspace's host path: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(src), 0o755); err != nil {
		return "", fmt.Errorf("map the workspace to its host path: %w", err)
	}
	if err := os.Symlink(dst, src); err != nil {
		return "", fmt.Errorf("map the workspace to its host path: %w", err)
	}
	return src, nil
}
