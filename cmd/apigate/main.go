// Command apigate scans an HTTP API against the API security checklist. See README.md.
package main

import (
	"os"
)

func main() {
	os.Exit(runGuarded(os.Args[1:], os.Stdout, os.Stderr))
}
