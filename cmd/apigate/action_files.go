package main

import (
	"errors"
	"os"
	"path/filepath"
	"time"

	"github.com/sethvargo/go-githubactions"

	"github.com/apigate/apigate/internal/finding"
	"github.com/apigate/apigate/internal/report"
	"github.com/apigate/apigate/internal/scan"
)

// checkActionOutputs checks the report files the action writes before anything starts, as
// checkOutputs does for the CLI: a bad path costs a second, not a scan whose findings are
// then thrown away. The parent directory of a relative path inside the workspace is created
// first: a workflow names results/apigate.json long before any step could make results/.
// An absolute path, or one that leaves the workspace, must name an existing directory.
func checkActionOutputs(in actionInputs, workspace string) error {
	type output struct{ name, path string }
	outs := []output{{"sarif-file", in.SARIFFile}}
	if in.PublishReport == "" {
		outs = append(outs, output{"json-file", in.JSONFile})
	}
	seen := map[string]string{}
	for _, o := range outs {
		if o.path == "" {
			continue
		}
		abs, err := filepath.Abs(o.path)
		if err != nil {
			return usagef("input %s %s: %v", o.name, o.path, err)
		}
		if !filepath.IsAbs(o.path) && repoRelative(abs, workspace) != "" {
			if err := os.MkdirAll(filepath.Dir(abs), 0o755); err != nil {
				return usagef("input %s %s: create its directory: %v", o.name, o.path,
					pathErr(err))
			}
		}
		if err := checkOutputPath("input "+o.name, o.path); err != nil {
			return err
		}
		if prev, ok := seen[abs]; ok {
			return usagef("inputs %s and %s both name %s: give each report its own file",
				prev, o.name, o.path)
		}
		seen[abs] = o.name
	}
	return nil
}

// leaveActionFailureReports writes a failed run's report to the sarif-file and json-file,
// as leaveFailureReports does for the CLI, so neither keeps an earlier run's result. The
// report is the scan's own when it wrote one (it names the checks that did not run, and
// the scan leaves a failed report even when it stopped before probing); otherwise it is
// made here from the error. It is written, never uploaded. It returns the outputs of a
// failed run: result=error, and sarif-file once that file holds the failed report.
func leaveActionFailureReports(a *githubactions.Action, in actionInputs, rep *finding.Report,
	msg, sarifPath, workspace string, ropts report.Options) map[string]string {
	outs := map[string]string{"result": "error"}
	switch {
	case rep == nil:
		target := in.TargetURL
		for _, alt := range []string{in.ComposeFile, in.PublishReport} {
			if target == "" {
				target = alt
			}
		}
		rep = scan.FailedReport(target, version, time.Now(), errors.New(msg))
	case rep.Complete():
		// A complete report from a run that failed afterwards is still not this run's
		// verdict; marking it failed keeps it from being read as one.
		rep.Error = msg
	}
	relativizeLocations(rep, workspace)
	if err := writeFile(sarifPath, "sarif", rep, ropts); err != nil {
		a.Warningf("apigate: %v", err)
	} else {
		outs["sarif-file"] = sarifPath
	}
	if in.JSONFile != "" && in.PublishReport == "" {
		if err := writeFile(in.JSONFile, "json", rep, report.Options{}); err != nil {
			a.Warningf("apigate: %v", err)
		}
	}
	return outs
}
