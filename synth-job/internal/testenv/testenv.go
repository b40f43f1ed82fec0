// Package testenv gives tests what the machine must provide: the ONNX
// Runtime library and the benchmark voices. Locally a missing one skips
// the test; in CI (CI set) it fails it, because `make test` provides both.
package testenv

import (
	"os"
	"testing"

	"github.com/chorus-voice/chorus/synth-job/internal/benchvoice"
	"github.com/chorus-voice/chorus/synth-job/voice"
)

// missing skips the test locally and fails it in CI.
func missing(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}

// ORTLibrary returns CHORUS_ORT_LIBRARY.
func ORTLibrary(t testing.TB) string {
	t.Helper()
	lib := os.Getenv("CHORUS_ORT_LIBRARY")
	if lib == "" {
		missing(t, "CHORUS_ORT_LIBRARY is not set (run scripts/setup-ort.sh)")
	}
	return lib
}

// BenchVoice unpacks (once, into the cache) and opens one of the benchmark
// voices of ../shared/voices: benchvoice.Medium or benchvoice.Medium4Spk.
func BenchVoice(t testing.TB, name string) *voice.Voice {
	t.Helper()
	v, err := benchvoice.Open(benchvoice.CacheDir(), name)
	if err != nil {
		missing(t, "benchmark voice %s: %v", name, err)
	}
	return v
}
