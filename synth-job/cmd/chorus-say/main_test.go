package main

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/chorus-voice/chorus/synth-job/demovoice"
	"github.com/chorus-voice/chorus/synth-job/engine"
	"github.com/chorus-voice/chorus/synth-job/internal/testenv"
	"github.com/chorus-voice/chorus/synth-job/wav"
)

func TestSaysIntoWAV(t *testing.T) {
	lib := testenv.ORTLibrary(t)
	dir := t.TempDir()
	model, config, err := demovoice.Build(demovoice.English())
	if err != nil {
		t.Fatal(err)
	}
	mp := filepath.Join(dir, "en.onnx")
	os.WriteFile(mp, model, 0o644)
	os.WriteFile(mp+".json", config, 0o644)
	out := filepath.Join(dir, "out.wav")
	log := slog.New(slog.DiscardHandler)
	if err := run(context.Background(), log, lib, engine.ProviderCPU, mp, "", "Hello there.", out, 2, 1.5); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	a, err := wav.Decode(b)
	if err != nil || a.SampleRate != demovoice.SampleRate || len(a.Samples) == 0 {
		t.Fatalf("output WAV: %v", err)
	}
	err = run(context.Background(), log, lib, engine.ProviderCPU, mp, "", "Hello.", out, 9, 1)
	if !errors.Is(err, engine.ErrSpeaker) {
		t.Errorf("speaker 9 of 4: %v, want ErrSpeaker", err)
	}
}
