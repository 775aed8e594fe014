package main

import (
	"strings"
	"testing"
)

// TestHelpCommand: `apigate help <command>` prints that command's flags on stdout, not
// the general help; the general help lists every command, demo serve included.
func TestHelpCommand(t *testing.T) {
	cases := []struct {
		args     []string
		code     int
		want     []string // on stdout
		wantNot  string   // not on stdout
		errWants string   // on stderr
	}{
		{[]string{"help"}, exitOK, []string{"apigate demo serve [--addr ADDR] [--hardened] [--ca-out FILE]",
			"apigate help <command>"}, "", ""},
		{[]string{"help", "scan"}, exitOK, []string{"Usage of apigate scan:", "-compose", "-openapi",
			"names no local file"}, "Exit codes", ""},
		{[]string{"help", "demo"}, exitOK, []string{"Usage of apigate demo:", "-hardened"}, "Exit codes", ""},
		{[]string{"help", "demo", "serve"}, exitOK, []string{"Usage of apigate demo serve:", "-addr",
			"-ca-out"}, "Exit codes", ""},
		{[]string{"help", "init"}, exitOK, []string{"Usage of apigate init:", "-force"}, "", ""},
		{[]string{"help", "bogus"}, exitUsage, nil, "Usage", `no help for "bogus"`},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, stdout, stderr, _ := runCLI(t, tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d; stderr %q", code, tc.code, stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(stdout, w) {
					t.Errorf("stdout does not say %q:\n%s", w, stdout)
				}
			}
			if tc.wantNot != "" && strings.Contains(stdout, tc.wantNot) {
				t.Errorf("stdout has %q (the general help?):\n%s", tc.wantNot, stdout)
			}
			if tc.errWants != "" {
				oneLine(t, stderr, tc.errWants)
			}
		})
	}
}

// TestDemoServeRefusesBadCAOut: --ca-out is checked before the demo starts listening.
func TestDemoServeRefusesBadCAOut(t *testing.T) {
	code, _, stderr, _ := runCLI(t, "demo", "serve", "--hardened", "--addr", "127.0.0.1:0",
		"--ca-out", "/nonexistent/qa/ca.pem")
	if code != exitUsage {
		t.Errorf("exit %d, want 2; stderr %q", code, stderr)
	}
	oneLine(t, stderr, "--ca-out /nonexistent/qa/ca.pem: directory /nonexistent/qa does not exist")
}
