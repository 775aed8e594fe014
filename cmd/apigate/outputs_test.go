package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apigate/apigate/internal/finding"
	"github.com/apigate/apigate/internal/report"
)

// TestWriteFileNamesTheUserPath: a report that cannot be written at the end of a run names
// the path the user gave, never the temporary file it was written through.
func TestWriteFileNamesTheUserPath(t *testing.T) {
	dir := t.TempDir()
	gone := filepath.Join(dir, "gone")
	if err := os.Mkdir(filepath.Join(dir, "taken"), 0o755); err != nil {
		t.Fatal(err)
	}
	rep := &finding.Report{Tool: "apigate"}
	for _, path := range []string{filepath.Join(gone, "x.sarif"), filepath.Join(dir, "taken")} {
		err := writeFile(path, "sarif", rep, report.Options{})
		if err == nil {
			t.Fatalf("%s: written", path)
		}
		if !strings.Contains(err.Error(), "write sarif report to "+path+": ") ||
			strings.Contains(err.Error(), ".apigate-") {
			t.Errorf("%s: %v", path, err)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("temporary files left behind: %d entries", len(entries))
	}
}

// TestServedDocumentNotFound: an --openapi path that is no local file and that the API
// answers 404 for is the caller's typo (exit 2, naming it), not a failed scan.
func TestServedDocumentNotFound(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.NotFound(w, r)
	}))
	defer srv.Close()
	code, stdout, stderr, _ := runCLI(t, "scan", "--url", srv.URL, "--openapi", "/nonexistent.yaml")
	if code != exitUsage {
		t.Errorf("exit %d, want 2; stderr:\n%s", code, stderr)
	}
	if stdout != "" {
		t.Errorf("a report was printed:\n%.300s", stdout)
	}
	oneLine(t, stderr, `openapi "/nonexistent.yaml": no such local file, and the API answered 404`)
}
