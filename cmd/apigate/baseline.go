package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/apigate/apigate/internal/config"
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
	if err := checkOutputPath("baseline --output", out); err != nil {
		return exitUsage, err
	}
	written := false
	if made := seedBaseline(rest); made != "" {
		// The config names the baseline being created; an empty one lets the scan start.
		// It goes again unless it is the file this run wrote.
		defer func() {
			if !written || !samePath(made, out) {
				os.Remove(made)
			}
		}()
	}
	tmp, err := os.CreateTemp(filepath.Dir(out), ".apigate-baseline-report-*.json")
	if err != nil {
		return exitUsage, usagef("baseline --output %s: %v", out, pathErr(err))
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
	if b.Findings == nil {
		b.Findings = []suppress.BaselineEntry{}
	}
	if err := b.WriteFile(out); err != nil {
		return exitError, fmt.Errorf("baseline: write %s: %w", out, pathErr(err))
	}
	written = true
	fmt.Fprintf(stderr, "apigate: recorded %d finding(s) in %s; set `baseline: %s` in the config "+
		"and commit both\n", len(b.Findings), out, filepath.ToSlash(out))
	return exitOK, nil
}

// seedBaseline writes an empty baseline where the config's baseline key points, when that
// file does not exist yet, and returns its path ("" when nothing was written).
func seedBaseline(scanArgs []string) string {
	path := ""
	for i, a := range scanArgs {
		switch {
		case (a == "--config" || a == "-config") && i+1 < len(scanArgs):
			path = scanArgs[i+1]
		case strings.HasPrefix(a, "--config=") || strings.HasPrefix(a, "-config="):
			path = a[strings.IndexByte(a, '=')+1:]
		}
	}
	if path == "" {
		path = config.Find(".")
	}
	if path == "" {
		return ""
	}
	cfg, err := config.Load(path, config.Options{})
	if err != nil || cfg.Baseline == "" {
		return "" // the scan reports a bad config itself
	}
	file := cfg.Baseline
	if !filepath.IsAbs(file) {
		file = filepath.Join(filepath.Dir(path), file)
	}
	if _, err := os.Stat(file); err == nil {
		return ""
	}
	empty := &suppress.Baseline{Version: 1, Tool: "apigate", Findings: []suppress.BaselineEntry{}}
	if err := empty.WriteFile(file); err != nil {
		return ""
	}
	return file
}

func samePath(a, b string) bool {
	x, err1 := filepath.Abs(a)
	y, err2 := filepath.Abs(b)
	return err1 == nil && err2 == nil && x == y
}
