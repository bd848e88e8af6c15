// Package logging builds the process logger. Its handler redacts anything
// shaped like a resident ID number, a mobile number or a bearer token from
// every message and string attribute: code paths are written never to log
// them, and this catches the ones that slip (an error string quoting input).
package logging

import (
	"context"
	"io"
	"log/slog"
	"regexp"
)

var patterns = []struct {
	re   *regexp.Regexp
	repl string
}{
	// 18-character resident ID numbers (and 15-digit old ones).
	{regexp.MustCompile(`\b(\d{6})\d{8}(\d{3}[\dXx])\b`), "${1}********${2}"},
	{regexp.MustCompile(`\b\d{15}\b`), "***************"},
	// Mainland mobile numbers.
	{regexp.MustCompile(`\b(1[3-9]\d)\d{4}(\d{4})\b`), "${1}****${2}"},
	// Bearer tokens and long opaque secrets.
	{regexp.MustCompile(`(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{16,}`), "${1}[redacted]"},
	{regexp.MustCompile(`\b[A-Za-z0-9_-]{43}\b`), "[redacted-token]"},
}

// Redact masks personal numbers and tokens in s.
func Redact(s string) string {
	for _, p := range patterns {
		s = p.re.ReplaceAllString(s, p.repl)
	}
	return s
}

// New returns a logger writing text or JSON to w at level, with redaction.
func New(w io.Writer, format string, level slog.Level) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level, ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Value.Kind() == slog.KindString {
			return slog.String(a.Key, Redact(a.Value.String()))
		}
		if a.Value.Kind() == slog.KindAny {
			if err, ok := a.Value.Any().(error); ok {
				return slog.String(a.Key, Redact(err.Error()))
			}
		}
		return a
	}}
	var h slog.Handler
	if format == "json" {
		h = slog.NewJSONHandler(w, opts)
	} else {
		h = slog.NewTextHandler(w, opts)
	}
	return slog.New(redactMessage{h})
}

// redactMessage applies Redact to the record's message (ReplaceAttr sees attributes only).
type redactMessage struct{ slog.Handler }

func (r redactMessage) Handle(ctx context.Context, rec slog.Record) error {
	rec.Message = Redact(rec.Message)
	return r.Handler.Handle(ctx, rec)
}

func (r redactMessage) WithAttrs(as []slog.Attr) slog.Handler {
	return redactMessage{r.Handler.WithAttrs(as)}
}

func (r redactMessage) WithGroup(name string) slog.Handler {
	return redactMessage{r.Handler.WithGroup(name)}
}
