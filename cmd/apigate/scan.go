package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/apigate/apigate/internal/finding"
	"github.com/apigate/apigate/internal/httpx"
	"github.com/apigate/apigate/internal/report"
	"github.com/apigate/apigate/internal/scan"
	"github.com/apigate/apigate/internal/target"
)

// scanOptions is everything the scan pipeline needs, from flags, config and action inputs.
type scanOptions struct {
	URL        string
	OpenAPI    string
	ConfigFile string
	FailOn     string
	Format     string
	Output     string
	SARIFFile  string
	JSONFile   string
	MDFile     string
	Timeout    time.Duration
	ReqTimeout time.Duration
	AllowHosts []string
	CACert     string
	Budget     int
	Verbose    bool
	Color      bool
	// Accept anchors, suppresses and baselines findings before the exit code is decided
	// (set by prepareTarget, scan_config.go); SourceFallback anchors findings nothing else
	// locates, e.g. the compose service's line.
	Accept         func(*finding.Report)
	SourceFallback *finding.Location
	// Tracker follows the run's phases, for timeout and interrupt messages (phase.go).
	Tracker *scan.Tracker
	// reported is set once report writing starts, so a run that fails before it knows to
	// leave failure reports instead (failed_report.go). Copies of the options share it.
	reported *bool
}

// multiFlag collects a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// addCommonFlags registers the flags shared by scan and demo.
func addCommonFlags(fs interface {
	StringVar(*string, string, string, string)
	DurationVar(*time.Duration, string, time.Duration, string)
	IntVar(*int, string, int, string)
	BoolVar(*bool, string, bool, string)
}, o *scanOptions) {
	fs.StringVar(&o.FailOn, "fail-on", "high", "exit 1 on findings at or above: critical, high, medium, low, info or none")
	fs.StringVar(&o.Format, "format", "text", "report format on stdout: text, json, sarif or markdown")
	fs.StringVar(&o.Output, "output", "", "write the --format report to this file instead of stdout")
	fs.StringVar(&o.SARIFFile, "sarif", "", "also write a SARIF report to this file")
	fs.StringVar(&o.JSONFile, "json", "", "also write a JSON report to this file")
	fs.StringVar(&o.MDFile, "markdown", "", "also write a Markdown report to this file")
	fs.DurationVar(&o.Timeout, "timeout", 10*time.Minute, "deadline for the whole run")
	fs.DurationVar(&o.ReqTimeout, "request-timeout", 10*time.Second, "deadline for one request")
	fs.IntVar(&o.Budget, "max-requests", 5000, "request budget for the whole scan")
	fs.BoolVar(&o.Verbose, "v", false, "log progress to stderr")
}

func cmdScan(args []string, stdout, stderr io.Writer) (code int, err error) {
	o := scanOptions{reported: new(bool)}
	var cf *composeFlags
	defer func() { leaveFailureReports(o, cf, code, err, stdout) }()
	var allow multiFlag
	fs := flagSet("scan", stderr)
	fs.StringVar(&o.URL, "url", "", "base URL of a running API to scan")
	fs.StringVar(&o.OpenAPI, "openapi", "", "OpenAPI document: a local file, or a path the API "+
		"serves: one starting with / that names no local file and no path under a local "+
		"directory, e.g. /openapi.json (a missing ./x, x.yaml or /tmp/x.yaml is an error)")
	fs.StringVar(&o.ConfigFile, "config", "", "config file (default .apigate.yml if present)")
	fs.StringVar(&o.CACert, "ca-cert", "", "PEM file of a CA to trust for an https target")
	fs.Var(&allow, "allow-host", "allow scanning this non-loopback host (repeatable)")
	addCommonFlags(fs, &o)
	cf = addComposeFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return exitUsage, err
	}
	o.AllowHosts = allow
	sc, err := applyConfig(fs, &o)
	if err != nil {
		return exitUsage, err
	}
	if cf.wanted(sc) {
		return scanCompose(fs, o, cf, sc, stdout, stderr)
	}
	if err := cf.checkUnwanted(fs); err != nil {
		return exitUsage, err
	}
	if o.URL == "" {
		return exitUsage, usagef("scan needs --url or --compose")
	}
	if err := o.validate(); err != nil {
		return exitUsage, err
	}

	ctx, stop := signalContext(o.Timeout)
	defer stop()
	log := newLogger(stderr, o.Verbose)

	base, err := parseTarget(o.URL, o.AllowHosts)
	if err != nil {
		return exitUsage, err
	}
	t := &target.Target{Base: base}
	if o.CACert != "" {
		pem, err := os.ReadFile(o.CACert)
		if err != nil {
			return exitUsage, usagef("read --ca-cert: %w", err)
		}
		if err := checkCAPEM(o.CACert, pem); err != nil {
			return exitUsage, err
		}
		t.TLS = &target.TLSInfo{RootCAs: pem}
	}
	o.Tracker = newTracker(ctx)
	return discoverAndScan(ctx, t, sc, o, log, stdout)
}

// discoverAndScan is what every kind of target shares once it answers: discovery (the
// document, endpoints, identities), then the scan and its reports.
func discoverAndScan(ctx context.Context, t *target.Target, sc *scanConfig, o scanOptions,
	log *slog.Logger, stdout io.Writer) (int, error) {
	o.Tracker.Enter(scan.PhaseDiscover)
	if code, err := prepareTarget(ctx, t, sc, &o, log); err != nil {
		if code, serr, ok := stopped(ctx, o.Tracker, o.Timeout); ok {
			return code, serr
		}
		return code, err
	}
	return executeScan(ctx, t, o, log, stdout)
}

// validate checks the options that need no I/O, so bad input fails before anything starts.
func (o *scanOptions) validate() error {
	if _, err := failThreshold(o.FailOn); err != nil {
		return err
	}
	if !report.ValidFormat(o.Format) {
		return usagef("unknown --format %q (want %s)", o.Format, strings.Join(report.Formats, ", "))
	}
	if o.Timeout <= 0 {
		return usagef("--timeout must be positive")
	}
	if o.ReqTimeout <= 0 {
		return usagef("--request-timeout must be positive")
	}
	if o.Budget <= 0 {
		return usagef("--max-requests must be positive")
	}
	if err := checkAllowHosts(o.AllowHosts); err != nil {
		return err
	}
	return o.checkOutputs()
}

// failThreshold parses --fail-on; "none" gives a threshold no finding reaches.
func failThreshold(name string) (finding.Severity, error) {
	if strings.EqualFold(name, "none") {
		return finding.SeverityCritical + 1, nil
	}
	s, err := finding.ParseSeverity(name)
	if err != nil {
		return 0, usagef("unknown --fail-on %q (want critical, high, medium, low, info or none)", name)
	}
	return s, nil
}

// parseTarget checks a target URL and the safety rule: loopback, or a host the user named.
func parseTarget(raw string, allow []string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, usagef("malformed --url %q: %v", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, usagef("malformed --url %q: scheme must be http or https", raw)
	}
	if u.Hostname() == "" {
		return nil, usagef("malformed --url %q: no host", raw)
	}
	if u.User != nil {
		return nil, usagef("--url %q: put credentials in the config, not in the URL", u.Redacted())
	}
	if err := checkPort(raw, u.Port()); err != nil {
		return nil, err
	}
	if err := checkAllowHosts(allow); err != nil {
		return nil, err
	}
	switch {
	case neverScanned(u.Hostname()):
		return nil, usagef("refusing to scan %s: link-local and cloud metadata addresses are "+
			"never scanned, whatever --allow-host says", u.Host)
	case shortIPv4(u.Hostname()):
		return nil, usagef("refusing to scan %s: %s", u.Host, shortIPv4Advice)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawQuery, u.Fragment = "", ""
	if !hostAllowed(u.Hostname(), allow) {
		return nil, usagef("refusing to scan %s: it is not a loopback address; "+
			"scan only APIs you own, and name the host with --allow-host %s", u.Host, u.Hostname())
	}
	return u, nil
}

// hostAllowed: loopback names and addresses always, anything else only by name. A
// link-local address (cloud metadata) is never allowed.
func hostAllowed(host string, allow []string) bool {
	if ip := net.ParseIP(host); ip != nil {
		if ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() {
			return false
		}
		if ip.IsLoopback() {
			return true
		}
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	for _, a := range allow {
		if strings.EqualFold(a, host) {
			return true
		}
	}
	return false
}

// signalContext is cancelled by SIGINT, SIGTERM or the run's deadline.
func signalContext(timeout time.Duration) (context.Context, context.CancelFunc) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	return ctx, func() { cancel(); stop() }
}

// executeScan runs the probes against t and writes every requested report. It returns the
// exit code: findings decide 0 or 1, a failed scan is 3, an interrupted one 130.
func executeScan(ctx context.Context, t *target.Target, o scanOptions, log *slog.Logger,
	stdout io.Writer) (int, error) {
	threshold, err := failThreshold(o.FailOn)
	if err != nil {
		return exitUsage, err
	}
	red := httpx.NewRedactor()
	for _, id := range t.Identities {
		for i, s := range id.Secrets {
			red.Add(s, secretLabel(id.Name, i))
		}
	}
	hosts := []string{t.Base.Host, t.Base.Hostname()}
	var roots []byte
	if t.TLS != nil {
		roots = t.TLS.RootCAs
		for _, u := range []*url.URL{t.TLS.HTTPSBase, t.TLS.HTTPBase} {
			if u != nil {
				hosts = append(hosts, u.Host)
			}
		}
	}
	client, err := httpx.New(httpx.Config{
		AllowedHosts: hosts, Timeout: o.ReqTimeout, Budget: int64(o.Budget),
		RootCAs: roots, Redactor: red, UserAgent: "apigate/" + version,
	})
	if err != nil {
		return exitUsage, usagef("%v", err)
	}

	log = slog.New(httpx.RedactHandler(log.Handler(), red))
	tr := o.Tracker
	if tr == nil {
		tr = newTracker(ctx)
	}

	rep, scanErr := scan.Run(ctx, t, client, scan.Options{Version: version, Logger: log, Tracker: tr})
	if o.Accept != nil {
		o.Accept(rep)
	}
	tr.Enter(scan.PhaseReport)
	if err := writeReports(rep, o, stdout); err != nil {
		return exitError, err
	}
	if code, err, ok := stopped(ctx, tr, o.Timeout); ok {
		return code, withIncomplete(fmt.Errorf("%w; the report is incomplete", err), scanErr)
	}
	if scanErr != nil {
		return exitError, fmt.Errorf("scan failed: %w", scanErr)
	}
	if rep.AtOrAbove(threshold) > 0 {
		return exitFindings, nil
	}
	return exitOK, nil
}

// secretLabel names a secret for redaction: ALICE_SECRET_1 and so on.
func secretLabel(identity string, i int) string {
	name := strings.ToUpper(strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, identity))
	if i == 0 {
		return name + "_TOKEN"
	}
	return fmt.Sprintf("%s_SECRET_%d", name, i)
}

// writeReports writes the main report (stdout or --output) and every extra report file.
// Files are written whole or not at all.
func writeReports(rep *finding.Report, o scanOptions, stdout io.Writer) error {
	if o.reported != nil {
		*o.reported = true
	}
	opts := report.Options{Color: o.Color && o.Output == ""}
	if o.Output != "" {
		if err := writeFile(o.Output, o.Format, rep, opts); err != nil {
			return err
		}
	} else if err := report.Write(stdout, o.Format, rep, opts); err != nil {
		return fmt.Errorf("write %s report: %w", o.Format, err)
	}
	extra := []struct{ path, format string }{
		{o.SARIFFile, "sarif"}, {o.JSONFile, "json"}, {o.MDFile, "markdown"},
	}
	for _, e := range extra {
		if e.path == "" {
			continue
		}
		if err := writeFile(e.path, e.format, rep, report.Options{}); err != nil {
			return err
		}
	}
	return nil
}

func writeFile(path, format string, rep *finding.Report, opts report.Options) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, ".apigate-*")
	if err != nil {
		return reportErr(format, path, err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return reportErr(format, path, err)
	}
	if err := report.Write(tmp, format, rep, opts); err != nil {
		tmp.Close()
		return reportErr(format, path, err)
	}
	if err := tmp.Close(); err != nil {
		return reportErr(format, path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return reportErr(format, path, err)
	}
	return nil
}
