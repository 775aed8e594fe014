package compose

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// CLI runs the real compose command line, so the user's compose semantics are exactly the
// ones they run locally. It prefers the v2 plugin (docker compose) and falls back to the
// standalone docker-compose, which may be v2 or the old v1.
type CLI struct {
	// Argv starts every compose command: ["docker", "compose"] or ["docker-compose"].
	Argv []string
	// V1 is set for docker-compose 1.x, which lacks a few v2 flags.
	V1 bool
	// Docker is the docker CLI, for inspect and network commands.
	Docker string
}

// FindCLI finds a working compose command. argv, when set, is used instead of looking
// (tests use it to force the v1 fallback).
func FindCLI(ctx context.Context, argv []string) (*CLI, error) {
	// Containers are inspected and networks joined with the docker CLI, whichever compose runs.
	if _, err := exec.LookPath("docker"); err != nil {
		return nil, &Error{Kind: KindCLI, Err: err, Msg: "the docker CLI is not on PATH; " +
			"apigate needs it and the Docker Compose v2 plugin (docker compose) to boot a compose file"}
	}
	candidates := [][]string{{"docker", "compose"}, {"docker-compose"}}
	if len(argv) > 0 {
		candidates = [][]string{argv}
	}
	var tried []string
	for _, c := range candidates {
		args := append(append([]string{}, c[1:]...), "version")
		out, err := output(ctx, c[0], args...)
		if err != nil {
			tried = append(tried, fmt.Sprintf("%s: %s", strings.Join(c, " "), firstLine(out, err)))
			continue
		}
		v1 := strings.HasPrefix(strings.TrimSpace(out), "docker-compose version 1.")
		return &CLI{Argv: c, V1: v1, Docker: "docker"}, nil
	}
	return nil, &Error{Kind: KindCLI, Msg: "no compose command works; install the Docker Compose v2 " +
		"plugin (docker compose) or docker-compose (tried " + strings.Join(tried, "; ") + ")"}
}

func firstLine(out string, err error) string {
	if s := strings.TrimSpace(out); s != "" {
		line, _, _ := strings.Cut(s, "\n")
		return line
	}
	return err.Error()
}

// command builds a command in its own process group, so a Ctrl-C in the terminal reaches
// apigate only, and apigate stops compose in order (SIGTERM, then SIGKILL after a grace
// period) before tearing the project down.
func command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
	}
	cmd.WaitDelay = 15 * time.Second
	return cmd
}

// output runs a command and returns its combined output.
func output(ctx context.Context, name string, args ...string) (string, error) {
	cmd := command(ctx, name, args...)
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	err := cmd.Run()
	if err != nil && ctx.Err() != nil {
		err = errors.Join(ctx.Err(), err)
	}
	return buf.String(), err
}

// stdout runs a command and returns its standard output; on failure the error carries the
// standard error.
func stdout(ctx context.Context, name string, args ...string) (string, error) {
	cmd := command(ctx, name, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return out.String(), errors.Join(ctx.Err(), err)
		}
		return out.String(), fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err,
			strings.TrimSpace(errb.String()))
	}
	return out.String(), nil
}

// streamed runs a command, logs each output line at debug level as it comes, and returns
// the whole output.
func streamed(ctx context.Context, log *slog.Logger, name string, args ...string) (string, error) {
	cmd := command(ctx, name, args...)
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	var all bytes.Buffer
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		for sc.Scan() {
			all.Write(sc.Bytes())
			all.WriteByte('\n')
			log.Debug("compose", "out", sc.Text())
		}
		io.Copy(io.Discard, pr)
	}()
	err := cmd.Run()
	pw.Close()
	wg.Wait()
	if err != nil && ctx.Err() != nil {
		err = errors.Join(ctx.Err(), err)
	}
	return all.String(), err
}
