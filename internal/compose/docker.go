package compose

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// container is the part of docker inspect's output apigate reads.
type container struct {
	ID     string
	Name   string
	Config struct {
		Labels map[string]string
	}
	State struct {
		Status     string // created, running, restarting, exited, dead
		Running    bool
		Restarting bool
		ExitCode   int
		Error      string
		StartedAt  time.Time
		Health     *struct {
			Status string // starting, healthy, unhealthy
			Log    []struct {
				ExitCode int
				Output   string
			}
		}
	}
	RestartCount    int
	Mounts          []mount
	NetworkSettings struct {
		Networks map[string]struct {
			Aliases   []string
			IPAddress string
		}
	}
}

// mount is a bind mount or volume of a container: Source on the daemon's host, Destination
// inside the container.
type mount struct {
	Type        string
	Source      string
	Destination string
}

func (c *container) service() string { return c.Config.Labels[labelService] }

// Labels compose puts on everything it creates.
const (
	labelProject = "com.docker.compose.project"
	labelService = "com.docker.compose.service"
	labelOneoff  = "com.docker.compose.oneoff"
)

// inspect runs docker inspect on containers; ids may be names.
func (c *CLI) inspect(ctx context.Context, ids ...string) ([]container, error) {
	out, err := stdout(ctx, c.Docker, append([]string{"container", "inspect"}, ids...)...)
	if err != nil {
		return nil, err
	}
	var cs []container
	if err := json.Unmarshal([]byte(out), &cs); err != nil {
		return nil, fmt.Errorf("parse docker inspect: %w", err)
	}
	return cs, nil
}

// projectContainers lists the containers of a project, stopped ones included.
func (c *CLI) projectContainers(ctx context.Context, project string) ([]container, error) {
	ids, err := c.ids(ctx, "ps", project)
	if err != nil || len(ids) == 0 {
		return nil, err
	}
	return c.inspect(ctx, ids...)
}

// ids lists the IDs of a project's objects of one kind: "ps" (containers, all of them),
// "network" or "volume", by the project label compose sets on each.
func (c *CLI) ids(ctx context.Context, kind, project string) ([]string, error) {
	filter := "label=" + labelProject + "=" + project
	var args []string
	switch kind {
	case "ps":
		args = []string{"ps", "-a", "-q", "--no-trunc", "--filter", filter}
	default:
		args = []string{kind, "ls", "-q", "--filter", filter}
	}
	out, err := stdout(ctx, c.Docker, args...)
	if err != nil {
		return nil, err
	}
	return strings.Fields(out), nil
}
