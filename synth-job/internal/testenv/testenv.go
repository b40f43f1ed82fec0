// Package testenv gives tests what the machine must provide: the ONNX
// Runtime library and the benchmark voices. Locally a missing one skips
// the test; in CI (CI set) it fails it, because `make test` provides both.
package testenv

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/chorus-voice/chorus/synth-job/internal/benchvoice"
	"github.com/chorus-voice/chorus/synth-job/voice"
	"github.com/chorus-voice/chorus/synth-job/voiceprep"
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

// BenchVoice unpacks and prepares (once, into the cache) and opens one of
// the benchmark voices of ../shared/voices: benchvoice.Medium or
// benchvoice.Medium4Spk.
func BenchVoice(t testing.TB, name string) *voice.Voice {
	t.Helper()
	lib := ORTLibrary(t)
	if _, err := benchvoice.Dir(); err != nil {
		missing(t, "benchmark voice %s: %v", name, err)
	}
	model, err := benchvoice.Unpack(benchvoice.CacheDir(), name)
	if errors.Is(err, benchvoice.ErrMissing) {
		missing(t, "benchmark voice %s: %v", name, err)
	}
	if err != nil {
		t.Fatalf("benchmark voice %s: %v", name, err)
	}
	v, err := voiceprep.Open(context.Background(), lib, model, "", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("benchmark voice %s: %v", name, err)
	}
	if !v.Prepared {
		t.Fatalf("benchmark voice %s: not prepared", name)
	}
	return v
}

// BenchModel unpacks (once, into the cache) one of the benchmark voices
// and returns its model file as exported (the config beside it).
func BenchModel(t testing.TB, name string) string {
	t.Helper()
	model, err := benchvoice.Unpack(benchvoice.CacheDir(), name)
	if err != nil {
		missing(t, "benchmark voice %s: %v", name, err)
	}
	return model
}

// PythonONNX returns Debian's python3 that imports onnx (python3-onnx,
// which scripts/setup-system.sh installs): onnx.checker is the independent
// check of the ONNX files Chorus writes.
func PythonONNX(t testing.TB) string {
	t.Helper()
	const python = "/usr/bin/python3"
	if out, err := exec.Command(python, "-c", "import onnx").CombinedOutput(); err != nil {
		missing(t, "%s cannot import onnx (python3-onnx; run scripts/setup-system.sh): %v\n%s", python, err, out)
	}
	return python
}

// CheckONNX runs onnx.checker (full check, shapes inferred) on the model
// file at path and fails the test with its report. The model is loaded
// first: given a path, onnx 1.12's full check writes the inferred shapes
// back into the file.
func CheckONNX(t testing.TB, path string) {
	t.Helper()
	py := PythonONNX(t)
	out, err := exec.Command(py, "-c",
		"import onnx,sys; onnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True)", path).CombinedOutput()
	if err != nil {
		t.Fatalf("onnx.checker %s: %v\n%s", path, err, out)
	}
}

// FFmpeg returns the path of the ffmpeg command (Debian's, installed by
// scripts/setup-system.sh), the independent tool tests measure audio with.
func FFmpeg(t testing.TB) string {
	t.Helper()
	path, err := exec.LookPath("ffmpeg")
	if err != nil {
		missing(t, "ffmpeg is not installed (run scripts/setup-system.sh)")
	}
	return path
}

// EBUR128 is what ffmpeg's ebur128 filter reports for a file: integrated
// loudness (LUFS) and true peak (dBTP), each printed to 0.1.
type EBUR128 struct {
	Integrated, TruePeak float64
}

var (
	summaryI    = regexp.MustCompile(`(?m)^\s+I:\s+(-?[\d.]+|-inf) LUFS`)
	summaryPeak = regexp.MustCompile(`(?m)^\s+Peak:\s+(-?[\d.]+|-inf) dBFS`)
)

// MeasureEBUR128 measures audio (any format ffmpeg reads) with
// `ffmpeg -af ebur128=peak=true` and returns its summary. With loops > 1
// the file is played that many times over (-stream_loop): a clip shorter
// than one 400 ms block has no integrated loudness of its own, and looped
// it reads the loudness of the clip itself.
func MeasureEBUR128(t testing.TB, audio []byte, loops int) EBUR128 {
	t.Helper()
	ff := FFmpeg(t)
	f, err := os.CreateTemp(t.TempDir(), "measure-*")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(audio); err != nil {
		t.Fatal(err)
	}
	f.Close()
	cmd := exec.Command(ff, "-hide_banner", "-nostats", "-stream_loop", strconv.Itoa(max(loops, 1)-1), "-i", f.Name(),
		"-af", "ebur128=peak=true:framelog=verbose", "-f", "null", "-")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("ffmpeg ebur128: %v\n%s", err, out)
	}
	summary := string(out)
	if i := strings.LastIndex(summary, "Summary:"); i >= 0 {
		summary = summary[i:]
	}
	num := func(re *regexp.Regexp) float64 {
		m := re.FindStringSubmatch(summary)
		if m == nil {
			t.Fatalf("ffmpeg ebur128: no %s in\n%s", re, summary)
		}
		if m[1] == "-inf" {
			return math.Inf(-1)
		}
		v, err := strconv.ParseFloat(m[1], 64)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	return EBUR128{Integrated: num(summaryI), TruePeak: num(summaryPeak)}
}

// DecodePCM decodes audio (any format ffmpeg reads) to mono 16-bit PCM at
// rate with ffmpeg, so tests can check what a player would hear.
func DecodePCM(t testing.TB, audio []byte, rate int) []int16 {
	t.Helper()
	ff := FFmpeg(t)
	f, err := os.CreateTemp(t.TempDir(), "decode-*")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(audio); err != nil {
		t.Fatal(err)
	}
	f.Close()
	cmd := exec.Command(ff, "-hide_banner", "-v", "error", "-i", f.Name(), "-f", "s16le", "-ac", "1", "-ar", strconv.Itoa(rate), "-")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ffmpeg decode: %v\n%s", err, stderr.String())
	}
	pcm := make([]int16, len(out)/2)
	for i := range pcm {
		pcm[i] = int16(uint16(out[2*i]) | uint16(out[2*i+1])<<8)
	}
	return pcm
}
