package main

import (
	"fmt"
	"io"
	"runtime/debug"
)

// runGuarded is run with a crash turned into exit 3. An unrecovered panic makes the Go
// runtime exit with status 2, which apigate documents as a usage error: a CI system (or
// the action) would then blame the user's config for a bug in the scanner. Deferred
// cleanups, compose teardown included, have run by the time the panic reaches here.
func runGuarded(args []string, stdout, stderr io.Writer) (code int) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(stderr, "apigate: internal error (a bug in apigate; please report it): %v\n%s",
				r, debug.Stack())
			code = exitError
		}
	}()
	return run(args, stdout, stderr)
}
