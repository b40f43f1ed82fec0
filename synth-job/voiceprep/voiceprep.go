// Package voiceprep makes a voice's prepared graphs (see voice.Prepared):
// once, when the voice is imported, instead of at every session open. It
// rewrites the model (Rewrite: Piper's per-id durations as an output, the
// decoder lifted to 2-D convolutions for one-thread CPU sessions), runs
// every rewritten graph against the model with noise off (Check), and
// writes the graphs and their manifest beside the model (Prepare).
package voiceprep

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/chorus-voice/chorus/synth-job/voice"
)

// Prepare makes, checks and writes the prepared graphs of the model at
// modelPath (whose config is cfg) beside it, and the manifest last, so
// that a manifest never names a file that is not complete. ortLibrary is
// the ONNX Runtime library the check runs on. It returns the manifest.
func Prepare(ctx context.Context, ortLibrary, modelPath string, cfg *voice.Config, log *slog.Logger) (*voice.Prepared, error) {
	if log == nil {
		log = slog.Default()
	}
	start := time.Now()
	model, err := os.ReadFile(modelPath)
	if err != nil {
		return nil, fmt.Errorf("read model: %w", err)
	}
	sum := sha256.Sum256(model)
	// The config must fit the model before anything is run.
	ins, outs, err := voice.ModelPortsFromBytes(model)
	if err != nil {
		return nil, err
	}
	if _, err := voice.CheckModel(cfg, ins, outs); err != nil {
		return nil, err
	}
	g, err := Rewrite(model)
	if err != nil {
		return nil, err
	}
	model = nil // the rewritten graphs are copies; let the original go
	p := &voice.Prepared{Version: voice.PreparedVersion, Source: hex.EncodeToString(sum[:]), Durations: g.Durations}

	var graphPath, liftedPath string
	if g.Graph != nil {
		graphPath = modelPath + voice.PreparedGraphSuffix
		if p.Graph, err = writeGraph(graphPath, g.Graph); err != nil {
			return nil, err
		}
	}
	if g.Lifted != nil {
		liftedPath = modelPath + voice.LiftedGraphSuffix
		if p.Lifted, err = writeGraph(liftedPath, g.Lifted); err != nil {
			return nil, err
		}
		p.Lifted.LiftedConvs = g.LiftedConvs
	}
	g = nil
	if err := Check(ctx, ortLibrary, modelPath, graphPath, liftedPath, cfg); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if !errors.Is(err, ErrMismatch) {
			return nil, fmt.Errorf("%s: %w", modelPath, err)
		}
		// A rewrite that does not hold for this model must not change its
		// audio: the model serves as exported, and the operator hears why.
		log.Warn("prepared graphs differ from the model; the model will run as exported",
			"model", filepath.Base(modelPath), "error", err.Error())
		for _, path := range []string{graphPath, liftedPath} {
			if path != "" {
				os.Remove(path)
			}
		}
		p.Graph, p.Lifted, p.Durations = nil, nil, voice.HasDurations(outs)
	}
	manifest, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := writeFile(modelPath+voice.PreparedManifestSuffix, manifest); err != nil {
		return nil, err
	}
	log.Info("voice graphs prepared", "model", filepath.Base(modelPath), "durations", p.Durations,
		"graph", p.Graph != nil, "lifted_convs", liftedConvs(p.Lifted), "ms", time.Since(start).Milliseconds())
	return p, nil
}

func liftedConvs(g *voice.PreparedGraph) int {
	if g == nil {
		return 0
	}
	return g.LiftedConvs
}

func writeGraph(path string, data []byte) (*voice.PreparedGraph, error) {
	sum := sha256.Sum256(data)
	if err := writeFile(path, data); err != nil {
		return nil, err
	}
	return &voice.PreparedGraph{SHA256: hex.EncodeToString(sum[:]), Size: int64(len(data))}, nil
}

// writeFile writes data to path through a temporary file and a rename.
func writeFile(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".prepare-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// FileSHA256 returns the hex sha256 of the file at path.
func FileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("hash %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Open opens the voice at modelPath (config beside it unless configPath is
// given) with its prepared graphs: those beside it when their manifest is
// current for this model, else prepared now (and written beside it). It is
// what local tools use (chorus-say, benchmarks); the worker's voice cache
// downloads the graphs that import stored.
func Open(ctx context.Context, ortLibrary, modelPath, configPath string, log *slog.Logger) (*voice.Voice, error) {
	v, err := voice.Open(modelPath, configPath)
	if err != nil {
		return nil, err
	}
	sum, err := FileSHA256(v.ModelPath)
	if err != nil {
		return nil, err
	}
	if p, err := voice.ReadPrepared(v.ModelPath + voice.PreparedManifestSuffix); err == nil && p.Current(sum) {
		if v.UsePrepared(p, sum) == nil {
			return v, nil
		}
		// A graph it names is missing or changed: make them again.
	}
	p, err := Prepare(ctx, ortLibrary, v.ModelPath, v.Config, log)
	switch {
	case errors.Is(err, voice.ErrInvalid) || ctx.Err() != nil:
		return nil, err
	case err != nil: // e.g. a folder it may not write to
		if log == nil {
			log = slog.Default()
		}
		log.Warn("cannot prepare the voice's graphs; its model runs as exported", "model", v.ModelPath, "error", err.Error())
		return v, nil
	}
	if err := v.UsePrepared(p, sum); err != nil {
		return nil, err
	}
	return v, nil
}
