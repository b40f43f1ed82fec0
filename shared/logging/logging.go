// Package logging sets up structured JSON logs on stderr in the shape
// Cloud Logging reads (https://cloud.google.com/logging/docs/structured-logging):
//
//   - "severity" with Cloud Logging's names (DEBUG, INFO, WARNING, ERROR)
//     and "message", instead of slog's "level" (WARN) and "msg";
//   - on every line logged with a request's context, the request's trace
//     ("logging.googleapis.com/trace": "projects/P/traces/T", with its span
//     and sampling flag), taken from X-Cloud-Trace-Context or traceparent;
//   - access logs as an "httpRequest" object (see HTTPRequest).
package logging

import (
	"context"
	"io"
	"log/slog"
	"os"
	"time"
)

// New returns a JSON logger writing to w. The project of trace names is
// GOOGLE_CLOUD_PROJECT, which every Chorus service has.
func New(w io.Writer, level slog.Leveler) *slog.Logger {
	h := slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level, ReplaceAttr: cloudKeys})
	return slog.New(&traceHandler{Handler: h, project: os.Getenv("GOOGLE_CLOUD_PROJECT")})
}

func cloudKeys(groups []string, a slog.Attr) slog.Attr {
	if len(groups) > 0 {
		return a
	}
	switch a.Key {
	case slog.LevelKey:
		a.Key = "severity"
		if l, ok := a.Value.Any().(slog.Level); ok {
			a.Value = slog.StringValue(Severity(l))
		}
	case slog.MessageKey:
		a.Key = "message"
	}
	return a
}

// Severity is Cloud Logging's name for a slog level.
func Severity(l slog.Level) string {
	switch {
	case l >= slog.LevelError:
		return "ERROR"
	case l >= slog.LevelWarn:
		return "WARNING"
	case l >= slog.LevelInfo:
		return "INFO"
	}
	return "DEBUG"
}

// traceHandler adds the trace of the record's context.
type traceHandler struct {
	slog.Handler
	project string
}

func (h *traceHandler) Handle(ctx context.Context, r slog.Record) error {
	if t, ok := TraceFrom(ctx); ok {
		r.AddAttrs(t.Attrs(h.project)...)
	}
	return h.Handler.Handle(ctx, r)
}

func (h *traceHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &traceHandler{Handler: h.Handler.WithAttrs(attrs), project: h.project}
}

func (h *traceHandler) WithGroup(name string) slog.Handler {
	return &traceHandler{Handler: h.Handler.WithGroup(name), project: h.project}
}

// HTTPRequest is one served request, logged as Cloud Logging's
// httpRequest object (LogEntry.httpRequest), which the console shows as a
// request line and aggregates.
type HTTPRequest struct {
	Method, URL, UserAgent, RemoteIP, Referer, Protocol string
	Status                                              int
	ResponseSize                                        int64
	Latency                                             time.Duration
}

// Attr is the request as the "httpRequest" attribute.
func (r HTTPRequest) Attr() slog.Attr {
	attrs := []slog.Attr{
		slog.String("requestMethod", r.Method),
		slog.String("requestUrl", r.URL),
		slog.Int("status", r.Status),
		// Cloud Logging wants int64 fields as strings and the latency as
		// a duration in seconds with an "s" suffix.
		slog.String("responseSize", formatInt(r.ResponseSize)),
		slog.String("latency", formatSeconds(r.Latency)),
	}
	for _, kv := range [][2]string{{"userAgent", r.UserAgent}, {"remoteIp", r.RemoteIP}, {"referer", r.Referer}, {"protocol", r.Protocol}} {
		if kv[1] != "" {
			attrs = append(attrs, slog.String(kv[0], kv[1]))
		}
	}
	return slog.Attr{Key: "httpRequest", Value: slog.GroupValue(attrs...)}
}
