package demo

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"unicode/utf8"
)

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeProblem answers an RFC 9457 problem detail with a generic, client-safe detail.
func writeProblem(w http.ResponseWriter, status int, title, detail string) {
	writeProblemExt(w, status, title, detail, "about:blank", nil)
}

func writeProblemExt(w http.ResponseWriter, status int, title, detail, typ string, ext map[string]any) {
	body := map[string]any{"type": typ, "title": title, "status": status, "detail": detail}
	for k, v := range ext {
		body[k] = v
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

// maxBody caps request bodies in hardened mode.
const maxBody = 64 << 10

// decodeLoose is the vulnerable mode's body parsing: read everything, and panic on bad JSON
// (the panic's text and stack then reach the client through recoverPanics).
func decodeLoose(r *http.Request) map[string]any {
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		panic(fmt.Errorf("read request body: %w", err))
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		panic(fmt.Errorf("decode request body: %w", err))
	}
	return m
}

// fieldError is a validation failure of one field, reported as 422.
type fieldError struct {
	field  string
	reason string
}

func (e *fieldError) Error() string { return e.field + ": " + e.reason }

// body is a hardened request body: the fields it may set, nothing else.
type body map[string]json.RawMessage

// decodeStrict reads a JSON object of at most maxBody bytes. Properties in readOnly are
// dropped (the server owns them), any other property not in writable is refused. It writes
// the error response itself and returns ok=false on failure.
func (a *app) decodeStrict(w http.ResponseWriter, r *http.Request, writable, readOnly []string) (body, bool) {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "application/json" {
		a.invalid(w, r, http.StatusUnsupportedMediaType, "Unsupported Media Type",
			"Send the body as application/json.")
		return nil, false
	}
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			a.invalid(w, r, http.StatusRequestEntityTooLarge, "Content Too Large",
				"The body is larger than this operation accepts.")
			return nil, false
		}
		a.invalid(w, r, http.StatusBadRequest, "Bad Request", "The body could not be read.")
		return nil, false
	}
	var b body
	if err := json.Unmarshal(raw, &b); err != nil || b == nil {
		a.invalid(w, r, http.StatusBadRequest, "Bad Request", "The body is not a JSON object.")
		return nil, false
	}
	for k := range b {
		switch {
		case slices.Contains(readOnly, k):
			delete(b, k)
		case !slices.Contains(writable, k):
			a.invalid(w, r, http.StatusUnprocessableEntity, "Unprocessable Content",
				"The body has a property this operation does not accept.")
			return nil, false
		}
	}
	return b, true
}

// str reads a string property of at most maxLen characters (at least minLen when present).
// It returns ok=false when the property is absent.
func (b body) str(name string, minLen, maxLen int) (string, bool, error) {
	raw, ok := b[name]
	if !ok {
		return "", false, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", true, &fieldError{name, "must be a string"}
	}
	n := utf8.RuneCountInString(s)
	if n < minLen || n > maxLen {
		return "", true, &fieldError{name, fmt.Sprintf("must be %d to %d characters long", minLen, maxLen)}
	}
	for _, c := range s {
		if c < 0x20 && c != '\t' {
			return "", true, &fieldError{name, "must not contain control characters"}
		}
	}
	return s, true, nil
}

// integer reads an integer property within [lo, hi]; ok=false when absent.
func (b body) integer(name string, lo, hi int64) (int64, bool, error) {
	raw, ok := b[name]
	if !ok {
		return 0, false, nil
	}
	var n json.Number
	// json.Number also accepts a quoted number; the schema says integer, so refuse "5".
	if len(raw) == 0 || raw[0] == '"' || json.Unmarshal(raw, &n) != nil {
		return 0, true, &fieldError{name, "must be an integer"}
	}
	v, err := strconv.ParseInt(n.String(), 10, 64)
	if err != nil || v < lo || v > hi {
		return 0, true, &fieldError{name, fmt.Sprintf("must be an integer from %d to %d", lo, hi)}
	}
	return v, true, nil
}

// invalid logs an input validation failure and answers it.
func (a *app) invalid(w http.ResponseWriter, r *http.Request, status int, title, detail string) {
	a.log.event(r, slog.LevelWarn, "input_validation_fail", "request rejected",
		slog.Int("status", status))
	writeProblem(w, status, title, detail)
}

// invalidField answers a 422 for a field error.
func (a *app) invalidField(w http.ResponseWriter, r *http.Request, err error) {
	var fe *fieldError
	if !errors.As(err, &fe) {
		a.invalid(w, r, http.StatusUnprocessableEntity, "Unprocessable Content", "The body is invalid.")
		return
	}
	a.log.event(r, slog.LevelWarn, "input_validation_fail", "request rejected",
		slog.String("field", fe.field))
	writeProblemExt(w, http.StatusUnprocessableEntity, "Unprocessable Content",
		"The request is invalid: "+fe.Error()+".", "about:blank",
		map[string]any{"errors": []map[string]string{{"field": fe.field, "reason": fe.reason}}})
}
