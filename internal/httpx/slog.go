package httpx

import (
	"context"
	"log/slog"
)

// RedactHandler wraps h so that no log record carries a secret known to r: the message and
// every attribute value (groups included) are redacted before h sees them. Verbose logs
// print URLs, errors and panics, any of which may hold a token.
func RedactHandler(h slog.Handler, r *Redactor) slog.Handler {
	return &redactHandler{h: h, r: r}
}

type redactHandler struct {
	h slog.Handler
	r *Redactor
}

func (rh *redactHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return rh.h.Enabled(ctx, l)
}

func (rh *redactHandler) Handle(ctx context.Context, rec slog.Record) error {
	out := slog.NewRecord(rec.Time, rec.Level, rh.r.Redact(rec.Message), rec.PC)
	rec.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(rh.attr(a))
		return true
	})
	return rh.h.Handle(ctx, out)
}

func (rh *redactHandler) WithAttrs(as []slog.Attr) slog.Handler {
	red := make([]slog.Attr, len(as))
	for i, a := range as {
		red[i] = rh.attr(a)
	}
	return &redactHandler{h: rh.h.WithAttrs(red), r: rh.r}
}

func (rh *redactHandler) WithGroup(name string) slog.Handler {
	return &redactHandler{h: rh.h.WithGroup(name), r: rh.r}
}

func (rh *redactHandler) attr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	if v.Kind() == slog.KindGroup {
		g := v.Group()
		red := make([]any, len(g))
		for i, ga := range g {
			red[i] = rh.attr(ga)
		}
		return slog.Group(a.Key, red...)
	}
	if v.Kind() == slog.KindString {
		return slog.String(a.Key, rh.r.Redact(v.String()))
	}
	if v.Kind() == slog.KindAny {
		// Errors, panics, structs: render them once and redact the text.
		return slog.String(a.Key, rh.r.Redact(v.String()))
	}
	return slog.Attr{Key: a.Key, Value: v}
}
