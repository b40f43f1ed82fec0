package logging

import (
	"context"
	"encoding/hex"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Trace is the W3C trace context of a request: Cloud Run's front end sends
// it as traceparent and as X-Cloud-Trace-Context.
type Trace struct {
	ID      string // 32 lower-case hex digits
	SpanID  string // 16 lower-case hex digits, may be empty
	Sampled bool
}

type traceKey struct{}

// WithTrace returns ctx carrying t: every line logged with it names t.
func WithTrace(ctx context.Context, t Trace) context.Context {
	return context.WithValue(ctx, traceKey{}, t)
}

// TraceFrom returns the trace ctx carries.
func TraceFrom(ctx context.Context) (Trace, bool) {
	t, ok := ctx.Value(traceKey{}).(Trace)
	return t, ok && t.ID != ""
}

// TraceFromRequest reads the trace of an incoming request: traceparent
// when present and well formed, else X-Cloud-Trace-Context
// ("TRACE_ID/SPAN_ID;o=1", the span id in decimal).
func TraceFromRequest(h http.Header) (Trace, bool) {
	if t, ok := ParseTraceParent(h.Get("traceparent")); ok {
		return t, true
	}
	v := h.Get("X-Cloud-Trace-Context")
	id, rest, _ := strings.Cut(v, "/")
	id = strings.ToLower(id)
	if !isHex(id, 32) || allZero(id) {
		return Trace{}, false
	}
	t := Trace{ID: id}
	span, opts, _ := strings.Cut(rest, ";")
	if n, err := strconv.ParseUint(span, 10, 64); err == nil && n != 0 {
		t.SpanID = strconv.FormatUint(n, 16)
		t.SpanID = strings.Repeat("0", 16-len(t.SpanID)) + t.SpanID
	}
	t.Sampled = opts == "o=1"
	return t, true
}

// ParseTraceParent reads a W3C traceparent ("00-TRACE-SPAN-FLAGS").
func ParseTraceParent(v string) (Trace, bool) {
	parts := strings.Split(strings.TrimSpace(v), "-")
	if len(parts) < 4 || len(parts[0]) != 2 || parts[0] == "ff" || !isHex(parts[1], 32) || !isHex(parts[2], 16) ||
		!isHex(parts[3], 2) || allZero(parts[1]) || allZero(parts[2]) {
		return Trace{}, false
	}
	flags, _ := hex.DecodeString(parts[3])
	return Trace{ID: parts[1], SpanID: parts[2], Sampled: flags[0]&1 == 1}, true
}

// TraceParent writes t as a W3C traceparent, to pass it on (Pub/Sub
// messages carry it as an attribute so the worker logs the same trace).
func (t Trace) TraceParent() string {
	if t.ID == "" {
		return ""
	}
	span := t.SpanID
	if span == "" {
		span = "0000000000000001"
	}
	flags := "00"
	if t.Sampled {
		flags = "01"
	}
	return "00-" + t.ID + "-" + span + "-" + flags
}

// Attrs are the trace's fields for a log line of project's.
func (t Trace) Attrs(project string) []slog.Attr {
	name := t.ID
	if project != "" {
		name = "projects/" + project + "/traces/" + t.ID
	}
	attrs := []slog.Attr{slog.String("logging.googleapis.com/trace", name)}
	if t.SpanID != "" {
		attrs = append(attrs, slog.String("logging.googleapis.com/spanId", t.SpanID))
	}
	return append(attrs, slog.Bool("logging.googleapis.com/trace_sampled", t.Sampled))
}

func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

func allZero(s string) bool { return strings.Trim(s, "0") == "" }

func formatInt(n int64) string { return strconv.FormatInt(n, 10) }

func formatSeconds(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', 9, 64) + "s"
}
