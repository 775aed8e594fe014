package compose

import (
	"bufio"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/apigate/apigate/internal/target"
)

// Logs returns what the project's services wrote since a moment, read with
// compose logs --timestamps; it makes a Stack a target.LogSource for the logging probe.
func (s *Stack) Logs(ctx context.Context, since time.Time) ([]target.LogLine, error) {
	args := s.args("logs", "--timestamps", "--no-color")
	if !s.cli.V1 {
		// v1 has no --since; its lines are filtered below like v2's.
		args = append(args, "--since", since.Add(-time.Second).UTC().Format(time.RFC3339Nano))
	}
	out, err := stdout(ctx, s.cli.Argv[0], args...)
	if err != nil {
		return nil, fmt.Errorf("read compose logs: %w", err)
	}
	return parseLogs(out, s.Project, since), nil
}

var _ target.LogSource = (*Stack)(nil)

// parseLogs reads lines of the form "api-1  | 2026-01-02T03:04:05.123456789Z text" (v2) or
// "project_api_1  | ..." (v1) and keeps those written at or after since.
func parseLogs(out, project string, since time.Time) []target.LogLine {
	var lines []target.LogLine
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		prefix, rest, ok := strings.Cut(sc.Text(), "|")
		if !ok {
			continue
		}
		stamp, text, _ := strings.Cut(strings.TrimPrefix(rest, " "), " ")
		t, err := time.Parse(time.RFC3339Nano, stamp)
		if err != nil {
			continue
		}
		if t.Before(since) {
			continue
		}
		lines = append(lines, target.LogLine{Time: t, Service: serviceOf(prefix, project), Text: text})
	}
	return lines
}

// serviceOf turns a log prefix (a container name, as compose prints it) into the service
// name: "api-1" and "project_api_1" both give "api".
func serviceOf(prefix, project string) string {
	name := strings.TrimSpace(prefix)
	for _, sep := range []string{"-", "_"} {
		name = strings.TrimPrefix(name, project+sep)
	}
	if i := strings.LastIndexAny(name, "-_"); i > 0 && isDigits(name[i+1:]) {
		name = name[:i]
	}
	return name
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
