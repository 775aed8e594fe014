package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/apigate/apigate/internal/demo"
	"github.com/apigate/apigate/internal/finding"
	"github.com/apigate/apigate/internal/httpx"
	"github.com/apigate/apigate/internal/identity"
	"github.com/apigate/apigate/internal/locate"
	"github.com/apigate/apigate/internal/openapi"
	"github.com/apigate/apigate/internal/scan"
	"github.com/apigate/apigate/internal/target"
)

// cmdDemo starts the built-in demo API on free loopback ports, scans it like any other
// target and stops it. `apigate demo serve` only runs the API.
func cmdDemo(args []string, stdout, stderr io.Writer) (int, error) {
	if len(args) > 0 && args[0] == "serve" {
		return cmdDemoServe(args[1:], stdout, stderr)
	}
	var o scanOptions
	var hardened bool
	fs := flagSet("demo", stderr)
	fs.BoolVar(&hardened, "hardened", false,
		"scan the fixed twin of the demo API instead; it must pass with no finding")
	addCommonFlags(fs, &o)
	if err := parseFlags(fs, args); err != nil {
		return exitUsage, err
	}
	if err := o.validate(); err != nil {
		return exitUsage, err
	}

	ctx, stop := signalContext(o.Timeout)
	defer stop()
	log := newLogger(stderr, o.Verbose)

	srv, err := demo.Start(demo.Options{Hardened: hardened})
	if err != nil {
		return exitError, err
	}
	defer func() {
		if err := srv.Close(); err != nil {
			log.Warn("demo API did not stop cleanly", "error", err)
		}
	}()
	o.Tracker = newTracker(ctx)
	o.Tracker.Enter(scan.PhaseDiscover)
	t, doc, err := demoTarget(ctx, srv, o)
	if err != nil {
		if code, serr, ok := stopped(ctx, o.Tracker, o.Timeout); ok {
			return code, serr
		}
		return exitError, err
	}
	// Findings point at the demo's document in this repository, as a scan of any project
	// with a committed document would.
	o.Accept = func(rep *finding.Report) {
		locate.Fill(rep, locate.Options{Operations: t.Operations, Document: doc.Location()})
	}
	fmt.Fprint(stderr, demoIntro(srv))
	return executeScan(ctx, t, o, log, stdout)
}

// demoIntro tells the user what they are looking at, on stderr so stdout stays a report.
func demoIntro(srv *demo.Server) string {
	if srv.Hardened() {
		return fmt.Sprintf("apigate demo: scanning the hardened demo shop API at %s.\n"+
			"It fixes every flaw of the vulnerable twin, so a correct scan finds nothing.\n\n",
			srv.BaseURL())
	}
	return fmt.Sprintf("apigate demo: scanning the deliberately vulnerable demo shop API at %s.\n"+
		"Every finding below is planted on purpose; each says why it matters and how to fix it.\n"+
		"Run 'apigate demo --hardened' to scan its fixed twin.\n"+
		"This server stops when the scan ends; to run the reproduce lines, keep one running\n"+
		"with 'apigate demo serve' (users %s)\n"+
		"and scan it as the README shows.\n\n", srv.BaseURL(), demoUsers())
}

// demoUsers lists the demo's two users and their passwords, which are public test data.
func demoUsers() string {
	return fmt.Sprintf("%s/%s and %s/%s", demo.Alice.Username, demo.Alice.Password,
		demo.Bob.Username, demo.Bob.Password)
}

// demoTarget describes the running demo as a scan target: its operations from its own
// OpenAPI document (anchored to internal/demo/openapi.yaml), alice and bob logged in
// through the document's login operation, its in-memory log, and its TLS side.
func demoTarget(ctx context.Context, srv *demo.Server, o scanOptions) (*target.Target,
	*openapi.Document, error) {
	spec, _ := srv.OpenAPI()
	doc, err := openapi.Load(spec, demo.SpecFile, openapi.Options{})
	if err != nil {
		return nil, nil, fmt.Errorf("demo: %w", err)
	}
	t := &target.Target{Base: srv.BaseURL(), Operations: doc.Operations, Logs: srv.Logs()}
	if srv.Hardened() {
		t.TLS = &target.TLSInfo{
			HTTPSBase: srv.HTTPSURL(), HTTPBase: srv.HTTPURL(), RootCAs: srv.RootCAs(),
		}
	}

	red := httpx.NewRedactor()
	users := []demo.Credential{demo.Alice, demo.Bob}
	specs := make([]identity.Spec, 0, len(users))
	for _, u := range users {
		red.Add(u.Password, secretLabel(u.Username, 1))
		specs = append(specs, identity.Spec{
			Name:        u.Username,
			Credentials: &identity.Basic{Username: u.Username, Password: u.Password},
		})
	}
	// Logins (and re-logins during the scan) use their own client, outside the scan's
	// request budget, with the same safety rules.
	login, err := httpx.New(httpx.Config{
		AllowedHosts: []string{t.Base.Host}, Timeout: o.ReqTimeout,
		RootCAs: srv.RootCAs(), Redactor: red, UserAgent: "apigate/" + version,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("demo: %w", err)
	}
	t.Identities, err = identity.Build(ctx, specs, identity.Options{
		Client: login, Target: t,
		LoginOperation: doc.LoginOperation(), SignupOperation: doc.SignupOperation(),
	})
	if err != nil {
		return nil, nil, fmt.Errorf("demo: log in: %w", err)
	}
	return t, doc, nil
}

// cmdDemoServe runs the demo API alone until SIGINT or SIGTERM, logging its requests to
// stdout: the compose tests package it into a container image.
func cmdDemoServe(args []string, stdout, stderr io.Writer) (int, error) {
	var hardened bool
	var addr, tlsAddr, caOut string
	var names multiFlag
	fs := flagSet("demo serve", stderr)
	fs.BoolVar(&hardened, "hardened", false, "serve the fixed twin instead of the vulnerable API")
	fs.StringVar(&addr, "addr", "127.0.0.1:8080",
		"plain-HTTP listen address (in hardened mode it only redirects to HTTPS)")
	fs.StringVar(&tlsAddr, "tls-addr", "",
		"HTTPS listen address of the hardened mode (default: the host of --addr, port 8443)")
	fs.Var(&names, "tls-name", "extra host name or IP address for the certificate (repeatable)")
	fs.StringVar(&caOut, "ca-out", "", "also write the hardened mode's CA certificate (PEM) here")
	if err := parseFlags(fs, args); err != nil {
		return exitUsage, err
	}
	if caOut != "" {
		if err := checkOutputPath("--ca-out", caOut); err != nil {
			return exitUsage, err
		}
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return exitUsage, usagef("malformed --addr %q: %v", addr, err)
	}
	if tlsAddr == "" {
		tlsAddr = net.JoinHostPort(host, "8443")
	}
	if h, err := os.Hostname(); err == nil && h != "" {
		names = append(names, h)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return serveDemo(ctx, demo.Options{
		Hardened: hardened, Addr: addr, TLSAddr: tlsAddr, TLSNames: names, LogOutput: stdout,
	}, caOut, stderr)
}

// serveDemo runs the demo API until ctx ends, announcing its URLs (and the hardened mode's
// CA certificate, which clients need to trust it) on stderr.
func serveDemo(ctx context.Context, opts demo.Options, caOut string, stderr io.Writer) (int, error) {
	log := newLogger(stderr, true)
	srv, err := demo.Start(opts)
	if err != nil {
		return exitError, err
	}
	if opts.Hardened {
		log.Info("demo API listening", "mode", "hardened", "https", srv.HTTPSURL().String(),
			"http_redirect", srv.HTTPURL().String())
		if caOut != "" {
			if err := os.WriteFile(caOut, srv.RootCAs(), 0o644); err != nil {
				srv.Close()
				return exitError, fmt.Errorf("write --ca-out: %w", err)
			}
		}
		// The CA certificate is public; clients of this run need it to trust the server.
		fmt.Fprintf(stderr, "%s", srv.RootCAs())
	} else {
		log.Info("demo API listening", "mode", "vulnerable", "http", srv.HTTPURL().String())
	}
	// The demo's users are public test data, printed so that a user can log in by hand.
	log.Info("demo users", "credentials", demoUsers())
	waitErr := srv.Wait(ctx)
	log.Info("demo API stopping")
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		return exitError, fmt.Errorf("demo: %w", err)
	}
	if waitErr != nil {
		return exitError, waitErr
	}
	return exitOK, nil
}
