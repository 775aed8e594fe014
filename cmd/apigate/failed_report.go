package main

import (
	"io"
	"time"

	"github.com/apigate/apigate/internal/scan"
)

// leaveFailureReports writes the report of a failed scan to every report file the run was
// asked for, when the run failed (exit 3) or was interrupted (130) before any report was
// written: a compose project that never booted, a target that never answered, a login that
// failed. Without it a report file from an earlier run would be left in place and read, or
// uploaded to code scanning, as this run's result. Machine formats on stdout get it too; a
// text report on stdout would only repeat the error line.
func leaveFailureReports(o scanOptions, cf *composeFlags, code int, err error, stdout io.Writer) {
	if err == nil || (code != exitError && code != exitInterrupted) {
		return
	}
	if o.reported == nil || *o.reported {
		return
	}
	name := o.URL
	if name == "" && cf != nil {
		name = cf.File
	}
	rep := scan.FailedReport(name, version, time.Now(), err)
	if o.Format == "text" {
		stdout = io.Discard // on a terminal it would only repeat the error line
	}
	// Paths were validated before the run; an error now cannot be reported better than
	// the failure that is already on its way to the user.
	_ = writeReports(rep, o, stdout)
}
