// Package compose boots the API under test from its compose file with the real compose
// command line, waits until it answers, gives the scanner its URL and its logs, and tears
// everything down again - on success, failure, panic or interrupt.
//
// Inside a GitHub Actions container (the runner mounts the host's Docker socket and the
// checkout), it maps the workspace to its host path so relative bind mounts resolve on the
// host, and joins the project's network to reach the service by name.
package compose

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/apigate/apigate/internal/finding"
	"github.com/apigate/apigate/internal/httpx"
)

// Options configure a Stack. Zero values mean the defaults.
type Options struct {
	// File is the compose file.
	File string
	// Service and Port choose what to scan; see Load.
	Service string
	Port    int
	// Project is the compose project name; empty generates a unique apigate-<hex> name.
	Project string
	// BootTimeout bounds the wait for readiness after compose up. Default 3 minutes.
	BootTimeout time.Duration
	// Command forces the compose command line, e.g. ["docker-compose"]; nil finds one.
	Command []string
	// Logger receives progress; nil discards it.
	Logger *slog.Logger
}

// Stack is one run's compose project. Create it with New, start it with Up, and always call
// Down, whatever Up returned.
type Stack struct {
	// Spec is the loaded compose file and the chosen service and port.
	Spec *Spec
	// Project is the run's unique compose project name; everything compose creates carries
	// it in the com.docker.compose.project label.
	Project string
	// BaseURL is where the service answers, set once Up succeeds: a loopback published port
	// on a host, or http://<service>:<port> on the project's network inside a container.
	BaseURL *url.URL
	// PlainURL, when BaseURL is https, is another port of the service that answers plain
	// HTTP (typically a redirect to https), for the transport check; nil when there is none.
	PlainURL *url.URL
	// UpTook is how long compose up itself took; Ready is when the service first answered.
	UpTook time.Duration
	Ready  time.Time

	opts Options
	cli  *CLI
	log  *slog.Logger

	dir      string   // project directory as compose is given it
	files    []string // compose files as compose is given them
	override string   // generated override file, removed on Down
	self     *container
	link     string // symlink created to map the workspace, removed on Down
	network  string // project network apigate joined, left on Down

	mu      sync.Mutex
	started bool
	done    bool
}

// teardownTimeout bounds Down, which runs on its own context after the run's is cancelled.
const teardownTimeout = 2 * time.Minute

// New loads the compose file and finds the compose command. It starts nothing, so a Stack
// that New rejected needs no teardown.
func New(ctx context.Context, opts Options) (*Stack, error) {
	if opts.BootTimeout <= 0 {
		opts.BootTimeout = 3 * time.Minute
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	spec, err := Load(ctx, opts.File, opts.Service, opts.Port)
	if err != nil {
		return nil, err
	}
	cli, err := FindCLI(ctx, opts.Command)
	if err != nil {
		return nil, err
	}
	name := opts.Project
	if name == "" {
		name = NewProjectName()
	}
	s := &Stack{Spec: spec, Project: name, opts: opts, cli: cli, log: log,
		dir: spec.Dir, files: []string{spec.File}}
	return s, nil
}

// NewProjectName returns a fresh project name, unique per run.
func NewProjectName() string {
	b := make([]byte, 5)
	rand.Read(b)
	return "apigate-" + hex.EncodeToString(b)
}

// Location is the compose file line that defines the scanned service, relative to root.
func (s *Stack) Location(root string) finding.Location { return s.Spec.Location(root) }

// Up builds and starts the project and waits until the service answers HTTP (and reports
// healthy, when it has a healthcheck). On failure the error is an *Error that says what
// went wrong, with the output that shows it; call Down in any case.
func (s *Stack) Up(ctx context.Context) error {
	s.mu.Lock()
	s.started = true
	s.mu.Unlock()

	if s.self = s.cli.self(ctx); s.self != nil {
		if err := s.mapWorkspace(); err != nil {
			return err
		}
	} else if !s.Spec.Published {
		if err := s.publishPort(); err != nil {
			return err
		}
	}

	s.log.Info("compose up", "project", s.Project, "service", s.Spec.Service,
		"file", s.Spec.File, "in_container", s.self != nil)
	begin := time.Now()
	out, err := streamed(ctx, s.log, s.cli.Argv[0], s.args("up", "-d", "--build")...)
	s.UpTook = time.Since(begin)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("compose up: %w", ctx.Err())
		}
		return upError(out, err)
	}
	s.log.Info("compose up finished", "seconds", fmt.Sprintf("%.2f", s.UpTook.Seconds()))
	if err := s.waitReady(ctx); err != nil {
		return err
	}
	if s.BaseURL.Scheme == "https" {
		s.PlainURL = s.plainHTTPPort(ctx)
	}
	return nil
}

// plainHTTPPort looks for another port of the service that answers plain HTTP, so the
// transport check can test the http->https redirect. It publishes nothing: on a host only
// ports the compose file publishes are tried.
func (s *Stack) plainHTTPPort(ctx context.Context) *url.URL {
	for _, p := range s.Spec.OtherPorts {
		var u *url.URL
		if s.self != nil {
			u = &url.URL{Scheme: "http", Host: net.JoinHostPort(s.Spec.Service, strconv.Itoa(p))}
		} else {
			hp, err := s.hostPort(ctx, p)
			if err != nil {
				continue
			}
			u = &url.URL{Scheme: "http", Host: hp}
		}
		c, err := readinessClient(u)
		if err != nil {
			continue
		}
		ex, _ := c.Do(ctx, httpx.Request{Method: "GET", URL: u.String() + "/"})
		if ex.Status != 0 && !mayBeTLS(ex) {
			s.log.Info("the service also answers plain HTTP", "url", u.String(), "status", ex.Status)
			return u
		}
	}
	return nil
}

// args builds a compose command line for this project.
func (s *Stack) args(sub ...string) []string {
	args := append([]string{}, s.cli.Argv[1:]...)
	args = append(args, "--ansi", "never", "-p", s.Project, "--project-directory", s.dir)
	for _, f := range s.files {
		args = append(args, "-f", f)
	}
	return append(args, sub...)
}

// mapWorkspace makes relative bind mounts work from inside a container: compose resolves
// them against the project directory as the client sees it, but the daemon looks the
// result up on the host. Running compose at the directory's host path, made to exist here
// by a symlink, makes both sides agree.
func (s *Stack) mapWorkspace() error {
	host, src, dst, ok := s.self.hostPath(s.Spec.Dir)
	if !ok {
		s.log.Warn("the compose file is not on a bind mount of this container; "+
			"relative bind mounts in it will not resolve on the host", "dir", s.Spec.Dir)
		return nil
	}
	if host == s.Spec.Dir {
		return nil
	}
	link, err := linkHostPath(src, dst)
	if err != nil {
		return &Error{Kind: KindWorkspace, Msg: err.Error(), Err: err}
	}
	s.link = link
	s.dir = host
	s.files = []string{filepath.Join(host, strings.TrimPrefix(s.Spec.File, s.Spec.Dir))}
	s.log.Info("mapped the workspace to its host path", "container", dst, "host", src)
	return nil
}

// publishPort publishes the chosen container port on a random loopback port, with a
// generated override file, when the compose file itself does not publish it.
func (s *Stack) publishPort() error {
	f, err := os.CreateTemp("", "apigate-compose-*.yml")
	if err != nil {
		return &Error{Kind: KindUp, Msg: fmt.Sprintf("write compose override: %v", err), Err: err}
	}
	defer f.Close()
	fmt.Fprintf(f, "services:\n  %s:\n    ports:\n      - \"127.0.0.1::%d\"\n",
		strconv.Quote(s.Spec.Service), s.Spec.Port)
	s.override = f.Name()
	s.files = append(s.files, f.Name())
	return nil
}

// waitReady polls the project until the target answers, a container dies, the
// healthcheck fails or the boot timeout passes.
func (s *Stack) waitReady(ctx context.Context) error {
	deadline := time.Now().Add(s.opts.BootTimeout)
	var probe *httpx.Client
	state, lastHTTP := "no container yet", "not tried"
	for {
		cs, err := s.cli.projectContainers(ctx, s.Project)
		if err != nil && ctx.Err() == nil {
			s.log.Debug("list containers", "err", err)
		}
		var target *container
		for i := range cs {
			c := &cs[i]
			if c.Config.Labels[labelOneoff] == "True" {
				continue
			}
			isTarget := c.service() == s.Spec.Service
			if isTarget && target == nil {
				target = c
			}
			if dead(c) && (isTarget || c.State.ExitCode != 0) {
				return s.exitedError(ctx, c)
			}
		}
		if target != nil {
			state = target.State.Status
			if target.RestartCount >= 2 {
				return s.exitedError(ctx, target)
			}
			health := ""
			if h := target.State.Health; h != nil {
				health = h.Status
				state += ", health " + health
			}
			if health == "unhealthy" {
				return s.unhealthyError(ctx, target)
			}
			if target.State.Running && s.BaseURL == nil {
				if err := s.resolveURL(ctx, target); err != nil {
					return err
				}
				probe, err = readinessClient(s.BaseURL)
				if err != nil {
					return &Error{Kind: KindTarget, Msg: err.Error(), Err: err}
				}
			}
			if target.State.Running && probe != nil {
				// Readiness only needs an answer, so a certificate apigate cannot verify yet
				// (the CA may come from the service itself) does not matter here; the scan
				// verifies it.
				https := s.BaseURL.Scheme == "https"
				ex, _ := probe.Do(ctx, httpx.Request{Method: "GET", URL: s.BaseURL.String() + "/",
					Insecure: https})
				if !https && mayBeTLS(ex) && speaksTLS(ctx, s.BaseURL.Host) {
					s.BaseURL.Scheme = "https"
					s.log.Info("the service speaks TLS on its port; scanning over https",
						"url", s.BaseURL.String())
					continue
				}
				if ex.Status != 0 {
					lastHTTP = fmt.Sprintf("HTTP %d", ex.Status)
					if health == "" || health == "healthy" {
						s.Ready = time.Now()
						s.log.Info("service ready", "url", s.BaseURL.String(), "state", state)
						return nil
					}
				} else if ex.Err != nil {
					lastHTTP = ex.Err.Error()
				}
			}
		}
		if ctx.Err() != nil {
			return fmt.Errorf("waiting for %s: %w", s.Spec.Service, ctx.Err())
		}
		if time.Now().After(deadline) {
			return &Error{Kind: KindNotReady, Msg: fmt.Sprintf(
				"service %q never became ready within %s (state: %s; last HTTP attempt: %s); "+
					"its logs:", s.Spec.Service, s.opts.BootTimeout, state, lastHTTP),
				Output: s.serviceLogs(ctx, s.Spec.Service)}
		}
		select {
		case <-ctx.Done():
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// mayBeTLS reports whether a plain-HTTP attempt looks like it reached a TLS port: no HTTP
// answer at all, or the 400 that TLS servers give to plain HTTP ("Client sent an HTTP
// request to an HTTPS server", "The plain HTTP request was sent to HTTPS port").
func mayBeTLS(ex *httpx.Exchange) bool {
	if ex.Status == 0 {
		return ex.Err != nil
	}
	body := strings.ToLower(string(ex.Body))
	return ex.Status == 400 && (strings.Contains(body, "https") || strings.Contains(body, "ssl") ||
		strings.Contains(body, "tls"))
}

// speaksTLS reports whether host completes a TLS handshake. It only picks the scheme; the
// certificate is not judged here, the scan does that with the CAs the user trusts.
func speaksTLS(ctx context.Context, host string) bool {
	d := tls.Dialer{NetDialer: &net.Dialer{Timeout: 2 * time.Second},
		Config: &tls.Config{InsecureSkipVerify: true}} //nolint:gosec // scheme detection only
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	conn, err := d.DialContext(ctx, "tcp", host)
	if err != nil {
		return false
	}
	conn.Close()
	return true
}

func dead(c *container) bool {
	return c.State.Status == "exited" || c.State.Status == "dead"
}

// readinessClient is a client of its own for the readiness poll, so the scan's budget and
// statistics are untouched; it obeys the same host allow-list as the scanner.
func readinessClient(base *url.URL) (*httpx.Client, error) {
	return httpx.New(httpx.Config{
		AllowedHosts: []string{base.Host}, Timeout: 2 * time.Second, Budget: 1 << 20,
		UserAgent: "apigate-readiness",
	})
}

// resolveURL sets BaseURL: the published loopback port on a host, the service's name on
// the project's network inside a container (after joining that network).
func (s *Stack) resolveURL(ctx context.Context, target *container) error {
	port := strconv.Itoa(s.Spec.Port)
	if s.self != nil {
		if err := s.joinNetwork(ctx, target); err != nil {
			return err
		}
		s.BaseURL = &url.URL{Scheme: "http", Host: net.JoinHostPort(s.Spec.Service, port)}
		return nil
	}
	hp, err := s.hostPort(ctx, s.Spec.Port)
	if err != nil {
		return err
	}
	s.BaseURL = &url.URL{Scheme: "http", Host: hp}
	return nil
}

// hostPort finds where a container port of the service is published, as a loopback
// host:port.
func (s *Stack) hostPort(ctx context.Context, containerPort int) (string, error) {
	port := strconv.Itoa(containerPort)
	out, err := stdout(ctx, s.cli.Argv[0], s.args("port", s.Spec.Service, port)...)
	if err != nil {
		return "", &Error{Kind: KindTarget, Msg: fmt.Sprintf(
			"find the host port published for %s:%s: %v", s.Spec.Service, port, err), Err: err}
	}
	line, _, _ := strings.Cut(strings.TrimSpace(out), "\n")
	host, hostPort, err := net.SplitHostPort(strings.TrimSpace(line))
	if err != nil || hostPort == "0" || hostPort == "" {
		return "", &Error{Kind: KindTarget, Msg: fmt.Sprintf(
			"service %q does not publish container port %s (compose port said %q); "+
				"choose a published port with --port", s.Spec.Service, port, strings.TrimSpace(out))}
	}
	ip := net.ParseIP(host)
	switch {
	case host == "" || ip != nil && ip.IsUnspecified():
		host = "127.0.0.1"
	case ip == nil || !ip.IsLoopback():
		return "", &Error{Kind: KindTarget, Msg: fmt.Sprintf(
			"service %q publishes port %s on %s only, not on loopback; "+
				"apigate scans only what it can reach on this machine", s.Spec.Service, port, host)}
	}
	return net.JoinHostPort(host, hostPort), nil
}

// joinNetwork connects apigate's own container to the target's project network, where
// compose registers each service's name as a DNS alias.
func (s *Stack) joinNetwork(ctx context.Context, target *container) error {
	var names []string
	for n := range target.NetworkSettings.Networks {
		names = append(names, n)
	}
	slices.Sort(names)
	if len(names) == 0 {
		return &Error{Kind: KindNetwork, Msg: fmt.Sprintf(
			"service %q is on no network apigate could join (network_mode host or none?)",
			s.Spec.Service)}
	}
	net := names[0]
	if slices.Contains(names, s.Project+"_default") {
		net = s.Project + "_default"
	}
	if _, ok := s.self.NetworkSettings.Networks[net]; ok {
		return nil
	}
	if _, err := stdout(ctx, s.cli.Docker, "network", "connect", net, s.self.ID); err != nil {
		return &Error{Kind: KindNetwork, Msg: fmt.Sprintf(
			"join the project network %s to reach %q: %v", net, s.Spec.Service, err), Err: err}
	}
	s.network = net
	s.log.Info("joined the project network", "network", net)
	return nil
}

// serviceLogs returns the tail of a service's logs, for error messages.
func (s *Stack) serviceLogs(ctx context.Context, service string) string {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 20*time.Second)
	defer cancel()
	out, err := output(ctx, s.cli.Argv[0], s.args("logs", "--no-color", "--tail", "40", service)...)
	if err != nil && strings.TrimSpace(out) == "" {
		return fmt.Sprintf("(could not read the logs: %v)", err)
	}
	if strings.TrimSpace(out) == "" {
		return "(the service wrote no logs)"
	}
	return tail(out, 40)
}

func (s *Stack) exitedError(ctx context.Context, c *container) error {
	svc := c.service()
	what := fmt.Sprintf("exited with code %d", c.State.ExitCode)
	if !dead(c) {
		what = fmt.Sprintf("keeps restarting (%d restarts, last exit code %d)",
			c.RestartCount, c.State.ExitCode)
	}
	if c.State.Error != "" {
		what += ": " + c.State.Error
	}
	return &Error{Kind: KindExited,
		Msg:    fmt.Sprintf("service %q %s during boot; its logs:", svc, what),
		Output: s.serviceLogs(ctx, svc)}
}

func (s *Stack) unhealthyError(ctx context.Context, c *container) error {
	var check string
	if h := c.State.Health; h != nil && len(h.Log) > 0 {
		last := h.Log[len(h.Log)-1]
		check = fmt.Sprintf(" (last check exit code %d: %s)", last.ExitCode,
			strings.TrimSpace(last.Output))
	}
	return &Error{Kind: KindUnhealthy,
		Msg: fmt.Sprintf("service %q failed its healthcheck during boot%s; its logs:",
			c.service(), check),
		Output: s.serviceLogs(ctx, c.service())}
}

// upError classifies a failed compose up by what compose printed.
func upError(out string, err error) error {
	low := strings.ToLower(out)
	switch {
	case strings.Contains(low, "port is already allocated"),
		strings.Contains(low, "address already in use"):
		return &Error{Kind: KindPort, Err: err, Output: tail(out, 15), Msg: "a port the compose " +
			"file publishes is already in use on this machine; stop what holds it, or publish " +
			"the API on a random port (\"127.0.0.1::8080\"); compose said:"}
	case buildFailed(low):
		return &Error{Kind: KindBuild, Err: err, Output: tail(out, 30),
			Msg: "building an image of the compose project failed; the end of the build output:"}
	}
	return &Error{Kind: KindUp, Err: err, Output: tail(out, 30),
		Msg: fmt.Sprintf("compose up failed (%v); its output:", err)}
}

// buildFailed recognises image build failures in the output of compose up, from the
// classic builder and from BuildKit, as compose v2 and v1 print them.
func buildFailed(low string) bool {
	for _, s := range []string{
		"failed to solve", "failed to build", "build failed", "returned a non-zero code",
		"copy failed", "add failed", "dockerfile parse error", "unable to prepare context",
		"failed to compute cache key",
	} {
		if strings.Contains(low, s) {
			return true
		}
	}
	return false
}

// Down removes everything of the project: containers, networks, volumes and the images it
// built without a name of their own. It runs on its own context with a short timeout, so it
// works after the run's context is cancelled, and checks by label that nothing is left.
// Calling it more than once, or without Up, is harmless.
func (s *Stack) Down(ctx context.Context) error {
	s.mu.Lock()
	if !s.started || s.done {
		s.mu.Unlock()
		return nil
	}
	s.done = true
	s.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), teardownTimeout)
	defer cancel()
	begin := time.Now()
	var errs []error
	if s.network != "" {
		// Leave the network first: docker refuses to remove a network with a container on it.
		if _, err := stdout(ctx, s.cli.Docker, "network", "disconnect", "--force", s.network,
			s.self.ID); err != nil {
			s.log.Warn("leave the project network", "network", s.network, "err", err)
		}
	}
	out, err := output(ctx, s.cli.Argv[0],
		s.args("down", "--volumes", "--remove-orphans", "--rmi", "local", "--timeout", "5")...)
	if err != nil {
		s.log.Warn("compose down failed; removing by label", "err", err, "output", tail(out, 10))
	}
	if err := s.sweep(ctx); err != nil {
		errs = append(errs, err)
	}
	if s.override != "" {
		os.Remove(s.override)
	}
	if s.link != "" {
		os.Remove(s.link)
	}
	s.log.Info("compose down", "project", s.Project,
		"seconds", fmt.Sprintf("%.2f", time.Since(begin).Seconds()))
	return errors.Join(errs...)
}

// sweep removes whatever still carries the project label. compose down misses objects
// when compose up was killed half-way, or when a container appears just after down
// listed them; this catches both.
func (s *Stack) sweep(ctx context.Context) error {
	var left []string
	for attempt := 0; ; attempt++ {
		left = left[:0]
		byKind := map[string][]string{}
		for _, kind := range []string{"ps", "network", "volume"} {
			ids, err := s.cli.ids(ctx, kind, s.Project)
			if err != nil {
				return fmt.Errorf("check teardown of %s: %w", s.Project, err)
			}
			byKind[kind] = ids
			for _, id := range ids {
				left = append(left, kind+" "+id)
			}
		}
		if len(left) == 0 {
			return nil
		}
		if attempt == 3 {
			return fmt.Errorf("teardown of %s left %s behind", s.Project, strings.Join(left, ", "))
		}
		s.log.Warn("compose down left objects behind; removing them", "objects", left)
		if ids := byKind["ps"]; len(ids) > 0 {
			stdout(ctx, s.cli.Docker, append([]string{"rm", "--force", "--volumes"}, ids...)...)
		}
		if ids := byKind["network"]; len(ids) > 0 {
			stdout(ctx, s.cli.Docker, append([]string{"network", "rm"}, ids...)...)
		}
		if ids := byKind["volume"]; len(ids) > 0 {
			stdout(ctx, s.cli.Docker, append([]string{"volume", "rm", "--force"}, ids...)...)
		}
		time.Sleep(500 * time.Millisecond)
	}
}
