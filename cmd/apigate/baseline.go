package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/apigate/apigate/internal/finding"
	"github.com/apigate/apigate/internal/suppress"
)

// defaultBaseline is the file 'apigate baseline' writes and the config's baseline key names.
const defaultBaseline = ".apigate-baseline.json"

// cmdBaseline runs a scan with the given scan flags and records its findings' fingerprints,
// so that later scans with `baseline:` in the config fail only on new findings. It exits 0
// when the baseline was written, whatever the findings were.
func cmdBaseline(args []string, stdout, stderr io.Writer) (int, error) {
	out := defaultBaseline
	var rest []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--output" || a == "-output" || a == "-o":
			if i+1 >= len(args) {
				return exitUsage, usagef("baseline: %s needs a file name", a)
			}
			out = args[i+1]
			i++
		case strings.HasPrefix(a, "--output=") || strings.HasPrefix(a, "-output="):
			out = a[strings.IndexByte(a, '=')+1:]
		case a == "-h" || a == "--help" || a == "-help":
			fmt.Fprintf(stderr, "Usage: apigate baseline [--output %s] <scan flags>\n"+
				"Scans as 'apigate scan' does and records the findings in the baseline file.\n",
				defaultBaseline)
			return exitOK, nil
		default:
			rest = append(rest, a)
		}
	}
	tmp, err := os.CreateTemp(filepath.Dir(out), ".apigate-baseline-report-*.json")
	if err != nil {
		return exitUsage, usagef("baseline: %v", err)
	}
	tmp.Close()
	defer os.Remove(tmp.Name())

	code, err := cmdScan(append(rest, "--json", tmp.Name()), stdout, stderr)
	if err != nil || (code != exitOK && code != exitFindings) {
		return code, err
	}
	data, err := os.ReadFile(tmp.Name())
	if err != nil {
		return exitError, fmt.Errorf("baseline: read the scan's report: %w", err)
	}
	var rep finding.Report
	if err := json.Unmarshal(data, &rep); err != nil {
		return exitError, fmt.Errorf("baseline: read the scan's report: %w", err)
	}
	b := suppress.NewBaseline(&rep, time.Now())
	if err := b.WriteFile(out); err != nil {
		return exitError, err
	}
	fmt.Fprintf(stderr, "apigate: recorded %d finding(s) in %s; set `baseline: %s` in the config "+
		"and commit both\n", len(b.Findings), out, filepath.ToSlash(out))
	return exitOK, nil
}
