package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

// Exit codes. A broken scan never exits 0: it is exitError, not exitOK.
const (
	exitOK       = 0 // nothing at or above --fail-on
	exitFindings = 1 // findings at or above --fail-on
	exitUsage    = 2 // bad flags, config or input
	exitError    = 3 // the scan itself failed
	// exitInterrupted is the conventional 128+SIGINT; teardown still ran.
	exitInterrupted = 130
)

// usageError marks errors that are the caller's to fix (exit 2).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

const usageText = `apigate scans an HTTP API against the API security checklist.

Usage:
  apigate demo [--hardened] [flags]   start the built-in demo API and scan it
  apigate demo serve [--addr ADDR] [--hardened] [--ca-out FILE]
                                      only run the demo API (until Ctrl-C), to scan it yourself
  apigate scan --url URL [flags]      scan an API that is already running
  apigate scan --compose FILE [flags] boot the API from its compose file, scan it, tear it down
  apigate baseline [--output FILE] [scan flags]
                                      scan and record the findings as accepted
  apigate init [--force]              write a starter .apigate.yml and workflow
  apigate rules                       list every rule
  apigate action                      run as the GitHub Action (reads INPUT_* variables)
  apigate version                     print the version

Run 'apigate help <command>' (or 'apigate <command> -h') for a command's flags.
Exit codes: 0 pass, 1 findings at or above --fail-on, 2 usage error, 3 scan failed.
`

// helpTopics are the commands `apigate help <command>` describes.
var helpTopics = map[string]bool{"scan": true, "demo": true, "baseline": true, "init": true,
	"rules": true, "action": true}

// run is the whole program; main only connects it to the process.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usageText)
		return exitUsage
	}
	cmd, rest := args[0], args[1:]
	var err error
	code := exitOK
	switch cmd {
	case "scan":
		code, err = cmdScan(rest, stdout, stderr)
	case "demo":
		code, err = cmdDemo(rest, stdout, stderr)
	case "baseline":
		code, err = cmdBaseline(rest, stdout, stderr)
	case "init":
		code, err = cmdInit(rest, stdout, stderr)
	case "rules":
		err = cmdRules(rest, stdout, stderr)
	case "action":
		code, err = cmdAction(rest, stdout, stderr)
	case "version", "--version":
		fmt.Fprintf(stdout, "apigate %s\n", version)
	case "help", "-h", "--help":
		if len(rest) > 0 && cmd == "help" && helpTopics[rest[0]] {
			// `help scan`, `help demo serve`: that command's flags, on stdout as asked.
			return run(append(append([]string{}, rest...), "-h"), stdout, stdout)
		}
		if len(rest) > 0 && cmd == "help" {
			err = usagef("no help for %q (want demo, scan, baseline, init, rules or action)", rest[0])
			break
		}
		fmt.Fprint(stdout, usageText)
	default:
		err = usagef("unknown command %q (want demo, scan, baseline, init, rules or version)", cmd)
	}
	if err == nil {
		return code
	}
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(stderr, "apigate: %v\n", err)
		return exitUsage
	}
	fmt.Fprintf(stderr, "apigate: %v\n", err)
	if code == exitOK || code == exitFindings {
		code = exitError
	}
	return code
}

// newLogger logs to stderr, so stdout stays clean for machine-readable reports.
func newLogger(stderr io.Writer, verbose bool) *slog.Logger {
	level := slog.LevelWarn
	if verbose {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
}

// flagSet returns a flag set that reports errors instead of exiting. The flag package's own
// printing is silenced, so a bad flag gives the one "apigate: ..." line run prints; -h
// prints the flags (see parseFlags).
func flagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(&helpWriter{w: stderr})
	fs.Usage = func() {}
	return fs
}

// helpWriter passes writes through only once help was asked for.
type helpWriter struct {
	w    io.Writer
	open bool
}

func (h *helpWriter) Write(p []byte) (int, error) {
	if !h.open {
		return len(p), nil
	}
	return h.w.Write(p)
}

// parseFlags parses args and turns a flag error into a usage error.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			if hw, ok := fs.Output().(*helpWriter); ok {
				hw.open = true
				fmt.Fprintf(hw, "Usage of apigate %s:\n", fs.Name())
				fs.PrintDefaults()
			}
			return err
		}
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", strings.Join(fs.Args(), " "))
	}
	return nil
}
