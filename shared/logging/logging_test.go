package logging

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"testing"
	"time"
)

func TestCloudLoggingShape(t *testing.T) {
	t.Setenv("GOOGLE_CLOUD_PROJECT", "demo-p")
	var buf bytes.Buffer
	log := New(&buf, slog.LevelDebug)
	tr, ok := ParseTraceParent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	if !ok {
		t.Fatal("valid traceparent refused")
	}
	ctx := WithTrace(context.Background(), tr)
	log.WarnContext(ctx, "careful", "n", 1)
	log.InfoContext(ctx, "request", HTTPRequest{Method: "POST", URL: "/api/synthesize", Status: 202, ResponseSize: 99,
		Latency: 1500 * time.Microsecond, RemoteIP: "203.0.113.7", UserAgent: "curl"}.Attr())
	log.Error("no trace")
	lines := bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n"))
	if len(lines) != 3 {
		t.Fatalf("%d lines", len(lines))
	}
	var warn, req, plain map[string]any
	for i, v := range []*map[string]any{&warn, &req, &plain} {
		if err := json.Unmarshal(lines[i], v); err != nil {
			t.Fatal(err)
		}
	}
	if warn["severity"] != "WARNING" || warn["message"] != "careful" ||
		warn["logging.googleapis.com/trace"] != "projects/demo-p/traces/4bf92f3577b34da6a3ce929d0e0e4736" ||
		warn["logging.googleapis.com/spanId"] != "00f067aa0ba902b7" || warn["logging.googleapis.com/trace_sampled"] != true {
		t.Errorf("warning line %s", lines[0])
	}
	hr, _ := req["httpRequest"].(map[string]any)
	if hr["requestMethod"] != "POST" || hr["status"] != float64(202) || hr["responseSize"] != "99" || hr["latency"] != "0.001500000s" ||
		hr["remoteIp"] != "203.0.113.7" || req["logging.googleapis.com/trace"] == nil {
		t.Errorf("access line %s", lines[1])
	}
	if plain["severity"] != "ERROR" || plain["logging.googleapis.com/trace"] != nil {
		t.Errorf("line without a trace %s", lines[2])
	}
}

func TestTraceFromRequest(t *testing.T) {
	for _, tt := range []struct {
		name    string
		headers map[string]string
		want    Trace
		ok      bool
	}{
		{"traceparent", map[string]string{"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"},
			Trace{ID: "4bf92f3577b34da6a3ce929d0e0e4736", SpanID: "00f067aa0ba902b7"}, true},
		{"cloud trace context", map[string]string{"X-Cloud-Trace-Context": "105445AA7843BC8BF206B12000100000/1;o=1"},
			Trace{ID: "105445aa7843bc8bf206b12000100000", SpanID: "0000000000000001", Sampled: true}, true},
		{"traceparent wins", map[string]string{"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
			"X-Cloud-Trace-Context": "105445aa7843bc8bf206b12000100000/1;o=1"},
			Trace{ID: "4bf92f3577b34da6a3ce929d0e0e4736", SpanID: "00f067aa0ba902b7", Sampled: true}, true},
		{"malformed", map[string]string{"traceparent": "00-xyz-00f067aa0ba902b7-01", "X-Cloud-Trace-Context": "nope"}, Trace{}, false},
		{"all zero", map[string]string{"traceparent": "00-00000000000000000000000000000000-00f067aa0ba902b7-01"}, Trace{}, false},
		{"none", nil, Trace{}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			for k, v := range tt.headers {
				h.Set(k, v)
			}
			got, ok := TraceFromRequest(h)
			if got != tt.want || ok != tt.ok {
				t.Errorf("got %+v %v, want %+v %v", got, ok, tt.want, tt.ok)
			}
			if ok {
				back, ok2 := ParseTraceParent(got.TraceParent())
				if !ok2 || back.ID != got.ID {
					t.Errorf("traceparent round trip: %q", got.TraceParent())
				}
			}
		})
	}
}
