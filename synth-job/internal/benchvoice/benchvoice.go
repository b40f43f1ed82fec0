// Package benchvoice finds the benchmark voices kept beside the checkout in
// ../shared/voices (Piper's own "medium" export with random weights: real
// cost, noise audio) and unpacks them into the local cache, once, with
// their prepared graphs, as an import would store them.
package benchvoice

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/chorus-voice/chorus/synth-job/voice"
	"github.com/chorus-voice/chorus/synth-job/voiceprep"
)

// The benchmark voices.
const (
	Medium     = "bench-medium"      // one speaker
	Medium4Spk = "bench-medium-4spk" // four speakers, sid declared [1]
)

// ErrMissing means the folder of benchmark voices is not there.
var ErrMissing = errors.New("benchmark voices not found")

// Dir returns the folder that holds the benchmark voices:
// CHORUS_BENCH_VOICES when set, else ../shared/voices beside the
// repository root (the folder holding go.mod, found from the working
// directory up).
func Dir() (string, error) {
	if d := os.Getenv("CHORUS_BENCH_VOICES"); d != "" {
		return d, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return filepath.Join(filepath.Dir(d), "shared", "voices"), nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("%w: no go.mod above %s", ErrMissing, wd)
		}
	}
}

// Open unpacks the named voice into cacheDir (Unpack) and opens it with
// its prepared graphs, made beside it the first time (voiceprep.Open) on
// the ONNX Runtime library at ortLibrary.
func Open(ctx context.Context, cacheDir, name, ortLibrary string) (*voice.Voice, error) {
	model, err := Unpack(cacheDir, name)
	if err != nil {
		return nil, err
	}
	return voiceprep.Open(ctx, ortLibrary, model, "", slog.New(slog.DiscardHandler))
}

// Unpack unpacks the named voice (NAME.onnx.xz + NAME.onnx.json) into
// cacheDir, unless an unpacked copy of the same archive is there already,
// and returns the model's path (its config beside it). It needs the xz
// command.
func Unpack(cacheDir, name string) (string, error) {
	dir, err := Dir()
	if err != nil {
		return "", err
	}
	xzPath := filepath.Join(dir, name+".onnx.xz")
	cfgPath := filepath.Join(dir, name+".onnx.json")
	for _, p := range []string{xzPath, cfgPath} {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("%w: %v", ErrMissing, err)
		}
	}
	sum, err := voiceprep.FileSHA256(xzPath)
	if err != nil {
		return "", err
	}
	dst := filepath.Join(cacheDir, "bench-voices", sum[:16])
	model := filepath.Join(dst, name+".onnx")
	if _, err := os.Stat(model); err != nil {
		if err := unpack(xzPath, dst, model); err != nil {
			return "", err
		}
	}
	cfg, err := os.ReadFile(cfgPath)
	if err != nil {
		return "", err
	}
	if old, err := os.ReadFile(model + ".json"); err != nil || !bytes.Equal(old, cfg) {
		if err := os.WriteFile(model+".json", cfg, 0o644); err != nil {
			return "", err
		}
	}
	return model, nil
}

// unpack decompresses xzPath into model through a temporary file and a
// rename, so that concurrent callers never see half a model.
func unpack(xzPath, dir, model string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".unpack-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	cmd := exec.Command("xz", "-dc", xzPath)
	cmd.Stdout = tmp
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		tmp.Close()
		return fmt.Errorf("unpack %s with xz: %w", xzPath, err)
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), model)
}

// CacheDir is CHORUS_CACHE, or ~/.cache/chorus as the Makefile sets it.
func CacheDir() string {
	if d := os.Getenv("CHORUS_CACHE"); d != "" {
		return d
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".cache", "chorus")
	}
	return filepath.Join(os.TempDir(), "chorus-cache")
}
