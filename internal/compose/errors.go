package compose

import (
	"strings"
)

// Kind says which step of booting a compose project failed.
type Kind string

// The ways a boot fails; each gets its own message so the user knows where to look.
const (
	KindFile      Kind = "compose-file"   // the file is missing or invalid
	KindTarget    Kind = "target"         // the service or port to scan cannot be chosen
	KindCLI       Kind = "compose-cli"    // neither docker compose nor docker-compose works
	KindBuild     Kind = "build"          // an image build failed
	KindPort      Kind = "port-allocated" // a published host port is taken
	KindUp        Kind = "up"             // compose up failed for another reason
	KindExited    Kind = "exited"         // a service exited during boot
	KindUnhealthy Kind = "unhealthy"      // the service's healthcheck failed
	KindNotReady  Kind = "not-ready"      // the service never answered in time
	KindWorkspace Kind = "workspace"      // the action container's mounts could not be mapped
	KindNetwork   Kind = "network"        // joining the project's network failed
)

// Error is a boot failure with the part of compose's or the service's output that explains
// it. Its message is meant to be shown to the user as is.
type Error struct {
	Kind Kind
	Msg  string
	// Output is the tail of the relevant output (build, up or service logs), may be empty.
	Output string
	// Err is the underlying error, if any.
	Err error
}

func (e *Error) Error() string {
	if strings.TrimSpace(e.Output) == "" {
		return e.Msg
	}
	var b strings.Builder
	b.WriteString(e.Msg)
	for _, line := range strings.Split(strings.TrimRight(e.Output, "\n"), "\n") {
		b.WriteString("\n  | ")
		b.WriteString(line)
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
