package demo

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/apigate/apigate/internal/target"
)

// maxLogLines bounds the in-memory log; the oldest lines go first.
const maxLogLines = 20000

// LogBuffer keeps the lines the API wrote, like a container's log, for target.LogSource.
// A write is split at newlines exactly as a log collector would split a stream, so a CR/LF
// smuggled into a log message becomes a separate, forged line. It is safe for concurrent
// use.
type LogBuffer struct {
	mu      sync.Mutex
	lines   []target.LogLine
	partial []byte
	out     io.Writer
}

var _ target.LogSource = (*LogBuffer)(nil)

func newLogBuffer(out io.Writer) *LogBuffer { return &LogBuffer{out: out} }

// Write records p, one line per newline.
func (b *LogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.out != nil {
		_, _ = b.out.Write(p)
	}
	now := time.Now()
	data := append(b.partial, p...)
	for {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			break
		}
		line := strings.TrimSuffix(string(data[:i]), "\r")
		b.lines = append(b.lines, target.LogLine{Time: now, Service: "demo", Text: line})
		data = data[i+1:]
	}
	b.partial = append([]byte(nil), data...)
	if over := len(b.lines) - maxLogLines; over > 0 {
		b.lines = append([]target.LogLine(nil), b.lines[over:]...)
	}
	return len(p), nil
}

// Logs returns the lines written at or after since.
func (b *LogBuffer) Logs(_ context.Context, since time.Time) ([]target.LogLine, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []target.LogLine
	for _, l := range b.lines {
		if !l.Time.Before(since) {
			out = append(out, l)
		}
	}
	return out, nil
}

// Text returns every line so far, joined by newlines (for tests and debugging).
func (b *LogBuffer) Text() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var sb strings.Builder
	for _, l := range b.lines {
		sb.WriteString(l.Text)
		sb.WriteByte('\n')
	}
	return sb.String()
}

// auditLog is the API's application log. The vulnerable one is the kind of log that fails
// item 10 of the checklist; the hardened one is what the OWASP logging cheat sheets ask for.
type auditLog struct {
	hardened bool
	// plain is the vulnerable mode's printf-style log: one line of free text per call.
	plain io.Writer
	// json is the hardened mode's structured log.
	json *slog.Logger
}

func newAuditLog(hardened bool, w io.Writer) *auditLog {
	l := &auditLog{hardened: hardened, plain: w}
	if hardened {
		l.json = slog.New(slog.NewJSONHandler(w, nil))
	}
	return l
}

// printf writes one free-text line in the vulnerable style. Values go in raw: a CR/LF in a
// user-supplied value starts a new, forged line.
func (l *auditLog) printf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	fmt.Fprintf(l.plain, "%s INFO %s\n", time.Now().UTC().Format(time.RFC3339Nano), msg)
}

// request logs the start of a request, vulnerable mode only: it writes down the raw
// Authorization header and, for login and signup, the raw body, i.e. passwords and tokens.
func (l *auditLog) request(r *http.Request, body []byte) {
	if l.hardened {
		return
	}
	line := fmt.Sprintf("request %s %s from %s ua=%q authorization=%q",
		r.Method, r.URL.RequestURI(), r.RemoteAddr, r.UserAgent(), r.Header.Get("Authorization"))
	if body != nil {
		line += " body=" + string(body)
	}
	l.printf("%s", line)
}

// access logs a finished request, hardened mode only: method, path (never the query, which
// may carry secrets), route, status and duration, with the caller's X-Request-ID.
func (l *auditLog) access(r *http.Request, route string, status int, d time.Duration) {
	if !l.hardened {
		return
	}
	l.json.LogAttrs(r.Context(), slog.LevelInfo, "request", withRequestID(r,
		slog.String("event", "http_request"),
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
		slog.String("route", route),
		slog.Int("status", status),
		slog.Int64("duration_us", d.Microseconds()),
		slog.String("client_ip", clientIP(r)),
	)...)
}

// event logs a security event named with the OWASP logging vocabulary (authn_login_fail,
// authz_fail, ...). The vulnerable mode writes only successes: failures, the events an
// operator most needs, leave no trace.
func (l *auditLog) event(r *http.Request, level slog.Level, name, msg string, attrs ...slog.Attr) {
	if !l.hardened {
		if level == slog.LevelInfo {
			l.printf("%s", msg)
		}
		return
	}
	all := withRequestID(r,
		slog.String("event", name),
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
		slog.String("client_ip", clientIP(r)),
	)
	l.json.LogAttrs(r.Context(), level, msg, append(all, attrs...)...)
}

// withRequestID adds the caller's X-Request-ID, when it sent one, so that an operator can
// find the lines of one request. It is cut to 128 bytes; JSON encoding escapes the rest.
func withRequestID(r *http.Request, attrs ...slog.Attr) []slog.Attr {
	id := r.Header.Get("X-Request-ID")
	if id == "" {
		return attrs
	}
	if len(id) > 128 {
		id = id[:128]
	}
	return append(attrs, slog.String("request_id", id))
}
