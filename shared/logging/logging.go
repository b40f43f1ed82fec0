// Package logging sets up structured JSON logs on stderr in the shape
// Cloud Logging reads: "severity" and "message" instead of slog's "level"
// and "msg", so levels and messages show up properly in the console.
package logging

import (
	"io"
	"log/slog"
)

// New returns a JSON logger writing to w.
func New(w io.Writer, level slog.Leveler) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level, ReplaceAttr: cloudKeys}))
}

func cloudKeys(groups []string, a slog.Attr) slog.Attr {
	if len(groups) > 0 {
		return a
	}
	switch a.Key {
	case slog.LevelKey:
		a.Key = "severity"
	case slog.MessageKey:
		a.Key = "message"
	}
	return a
}
