package main

import (
	"bytes"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A scan that fails before probing must not leave an earlier run's report files in place:
// a workflow uploading apigate.sarif would otherwise publish stale results as this run's.
func TestFailureBeforeProbingReplacesReportFiles(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there any more: connections are refused

	dir := t.TempDir()
	sarifPath := filepath.Join(dir, "apigate.sarif")
	jsonPath := filepath.Join(dir, "apigate.json")
	for _, p := range []string{sarifPath, jsonPath} {
		if err := os.WriteFile(p, []byte(`{"stale": true}`), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	var stdout, stderr bytes.Buffer
	code := run([]string{"scan", "--url", "http://" + addr, "--request-timeout", "1s",
		"--sarif", sarifPath, "--json", jsonPath}, &stdout, &stderr)
	if code != exitError {
		t.Fatalf("exit %d, want %d; stderr: %s", code, exitError, stderr.String())
	}

	var rep struct {
		Complete bool   `json:"complete"`
		Error    string `json:"error"`
		Checks   []struct {
			Status string `json:"status"`
		} `json:"checks"`
	}
	b, _ := os.ReadFile(jsonPath)
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatalf("JSON report: %v\n%s", err, b)
	}
	if rep.Complete || !strings.Contains(rep.Error, "unreachable") {
		t.Errorf("JSON complete=%v error=%q, want an incomplete report saying why", rep.Complete, rep.Error)
	}
	for _, c := range rep.Checks {
		if c.Status == "pass" {
			t.Errorf("a check passed in the report of a scan that never probed")
		}
	}

	var sarif struct {
		Runs []struct {
			Invocations []struct {
				ExecutionSuccessful bool `json:"executionSuccessful"`
			} `json:"invocations"`
			Results []json.RawMessage `json:"results"`
		} `json:"runs"`
	}
	b, _ = os.ReadFile(sarifPath)
	if err := json.Unmarshal(b, &sarif); err != nil || len(sarif.Runs) != 1 {
		t.Fatalf("SARIF report: %v\n%s", err, b)
	}
	run := sarif.Runs[0]
	if len(run.Invocations) == 0 || run.Invocations[0].ExecutionSuccessful {
		t.Errorf("SARIF invocations %+v, want executionSuccessful false", run.Invocations)
	}
	if len(run.Results) != 0 {
		t.Errorf("SARIF of a failed scan carries %d results", len(run.Results))
	}
}

// Bad input is caught before anything runs, and no report file is written for it.
func TestUsageErrorWritesNoReport(t *testing.T) {
	dir := t.TempDir()
	jsonPath := filepath.Join(dir, "apigate.json")
	var stdout, stderr bytes.Buffer
	code := run([]string{"scan", "--url", "http://127.0.0.1:1", "--fail-on", "severe",
		"--json", jsonPath}, &stdout, &stderr)
	if code != exitUsage {
		t.Fatalf("exit %d, want %d", code, exitUsage)
	}
	if _, err := os.Stat(jsonPath); !os.IsNotExist(err) {
		t.Errorf("a usage error wrote %s (%v)", jsonPath, err)
	}
}
