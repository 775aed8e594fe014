package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/apigate/apigate/internal/compose"
	"github.com/apigate/apigate/internal/scan"
	"github.com/apigate/apigate/internal/target"
)

// composeFlags are scan's flags for booting the API from its compose file.
type composeFlags struct {
	File        string
	Service     string
	Port        int
	BootTimeout time.Duration
}

func addComposeFlags(fs *flag.FlagSet) *composeFlags {
	var c composeFlags
	fs.StringVar(&c.File, "compose", "", "boot the API from this compose file, scan it, tear it down")
	fs.StringVar(&c.Service, "service", "", "compose service to scan (default: the only one publishing a port)")
	fs.IntVar(&c.Port, "port", 0, "the service's container port (default: its published or exposed port)")
	fs.DurationVar(&c.BootTimeout, "boot-timeout", 3*time.Minute,
		"how long the service may take to answer after compose up")
	return &c
}

// checkUnwanted refuses compose-only flags on a scan that boots nothing, instead of
// ignoring them.
func (c *composeFlags) checkUnwanted(fs *flag.FlagSet) error {
	var bad []string
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "service" || f.Name == "port" || f.Name == "boot-timeout" {
			bad = append(bad, "--"+f.Name)
		}
	})
	if len(bad) > 0 {
		return usagef("%s only apply with --compose (or target.compose in the config)",
			strings.Join(bad, " and "))
	}
	return nil
}

// wanted reports whether this scan boots a compose project: --compose, or target.compose
// in the config.
func (c *composeFlags) wanted(sc *scanConfig) bool {
	return c.File != "" || sc.cfg.Target.Compose != ""
}

// merge fills what the flags left unset from the config's target section, with paths
// relative to the config file. Flags win; --url and --compose together are a usage error.
func (c *composeFlags) merge(fs *flag.FlagSet, sc *scanConfig, o *scanOptions) error {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if set["url"] && set["compose"] {
		return usagef("--url and --compose are exclusive: scan a running API or boot one")
	}
	t := sc.cfg.Target
	if !set["compose"] {
		if set["url"] {
			return usagef("--url and the config's target.compose are exclusive")
		}
		c.File = t.Compose
		if !filepath.IsAbs(c.File) && sc.cfg.File != "" {
			c.File = filepath.Join(filepath.Dir(sc.cfg.File), c.File)
		}
	}
	if _, err := os.Stat(c.File); errors.Is(err, os.ErrNotExist) {
		// The caller's to fix, found before docker is asked anything.
		return usagef("compose file %s does not exist", c.File)
	}
	o.URL = "" // a target.url of the config yields to --compose
	if !set["service"] {
		c.Service = t.Service
	}
	if !set["port"] && t.Port != 0 {
		c.Port = t.Port
	}
	if c.BootTimeout <= 0 {
		return usagef("--boot-timeout must be positive")
	}
	return o.validate()
}

// scanCompose boots the compose project, scans the service and tears the project down,
// whatever happens: errors, panics, SIGINT and SIGTERM included. Its host - a loopback
// published port, or the service's name on the project's network - is allowed without
// --allow-host: apigate started it.
func scanCompose(fs *flag.FlagSet, o scanOptions, c *composeFlags, sc *scanConfig,
	stdout, stderr io.Writer) (code int, err error) {
	if err := c.merge(fs, sc, &o); err != nil {
		return exitUsage, err
	}
	ctx, stop := signalContext(o.Timeout)
	defer stop()
	log := newLogger(stderr, o.Verbose)
	o.Tracker = newTracker(ctx)
	o.Tracker.Enter(scan.PhaseBoot)

	st, err := compose.New(ctx, compose.Options{File: c.File, Service: c.Service, Port: c.Port,
		BootTimeout: c.BootTimeout, Logger: log})
	if err != nil {
		if errors.Is(ctx.Err(), context.Canceled) {
			return exitInterrupted, errors.New("interrupted before the compose project started")
		}
		var ce *compose.Error
		if errors.As(err, &ce) && ce.Kind == compose.KindTarget {
			return exitUsage, usageError{err}
		}
		return exitError, err
	}
	// The project name goes to stderr first, so a user (or a test) can find what a killed
	// run left: docker ps -a --filter label=com.docker.compose.project=<name>.
	fmt.Fprintf(stderr, "apigate: booting compose project %s (service %s, port %d)\n",
		st.Project, st.Spec.Service, st.Spec.Port)
	o.Tracker = newTracker(ctx)
	o.Tracker.Enter(scan.PhaseBoot)
	defer func() {
		// Runs on return and while a panic unwinds; Down has its own context.
		o.Tracker.Enter(scan.PhaseTeardown)
		if derr := st.Down(ctx); derr != nil {
			err = errors.Join(err, derr)
			if code != exitInterrupted {
				code = exitError
			}
		}
	}()

	if err := st.Up(ctx); err != nil {
		if code, serr, ok := stopped(ctx, o.Tracker, o.Timeout); ok {
			return code, fmt.Errorf("%w; the compose project was torn down", serr)
		}
		return exitError, fmt.Errorf("boot failed: %w", err)
	}
	loc := st.Location(sc.root)
	o.SourceFallback = &loc
	t := &target.Target{Base: st.BaseURL, Logs: st}
	if o.CACert != "" {
		pem, err := readServiceCA(ctx, o.CACert)
		if err != nil {
			return exitUsage, usagef("read --ca-cert: %w", err)
		}
		if err := checkCAPEM(o.CACert, pem); err != nil {
			return exitUsage, err
		}
		t.TLS = &target.TLSInfo{RootCAs: pem}
	}
	if st.PlainURL != nil {
		if t.TLS == nil {
			t.TLS = &target.TLSInfo{}
		}
		t.TLS.HTTPSBase, t.TLS.HTTPBase = st.BaseURL, st.PlainURL
	}
	return discoverAndScan(ctx, t, sc, o, log, stdout)
}

// readServiceCA reads the --ca-cert file after boot: a service with a throwaway CA (a test
// environment) may write it into a bind mount as it starts, so a missing file gets a few
// seconds to appear.
func readServiceCA(ctx context.Context, path string) ([]byte, error) {
	deadline := time.Now().Add(5 * time.Second)
	for {
		pem, err := os.ReadFile(path)
		if err == nil || !errors.Is(err, os.ErrNotExist) || time.Now().After(deadline) {
			return pem, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}
