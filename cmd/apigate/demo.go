package main

import (
	"errors"
	"io"
)

// cmdDemo starts the built-in demo API and scans it. PLACEHOLDER until the demo lands.
func cmdDemo(args []string, stdout, stderr io.Writer) (int, error) {
	return exitError, errors.New("demo: not implemented yet")
}
