// Command chorus-say speaks a text with a Piper voice into a WAV file,
// without any cloud service:
//
//	chorus-say -model x.onnx [-config x.onnx.json] [-speaker N] [-speed 1.0] -text "..." -out out.wav
//
// The ONNX Runtime library comes from -ort or CHORUS_ORT_LIBRARY
// (scripts/setup-ort.sh prints it). It prints the audio duration and the
// real-time factor (synthesis time / audio time).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"time"

	"github.com/chorus-voice/chorus/synth-job/engine"
	"github.com/chorus-voice/chorus/synth-job/voiceprep"
	"github.com/chorus-voice/chorus/synth-job/wav"
)

func main() {
	var (
		model    = flag.String("model", "", "voice model (.onnx), required")
		config   = flag.String("config", "", "voice config (default: MODEL.json)")
		speaker  = flag.Int("speaker", 0, "speaker id of a multi-speaker voice")
		speed    = flag.Float64("speed", 1, fmt.Sprintf("speaking rate, %v to %v", engine.ModelMinSpeed, engine.ModelMaxSpeed))
		text     = flag.String("text", "", "text to speak, required")
		out      = flag.String("out", "", "WAV file to write, required")
		ortLib   = flag.String("ort", os.Getenv("CHORUS_ORT_LIBRARY"), "ONNX Runtime shared library")
		provider = flag.String("provider", engine.ProviderAuto, "execution provider: auto, cuda or cpu")
	)
	flag.Parse()
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if *model == "" || *text == "" || *out == "" || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: chorus-say -model x.onnx [-config x.onnx.json] [-speaker N] [-speed 1.0] -text \"...\" -out out.wav")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, log, *ortLib, *provider, *model, *config, *text, *out, *speaker, *speed); err != nil {
		log.Error("chorus-say failed", "error", err.Error(), "permanent", engine.IsPermanent(err))
		fmt.Fprintln(os.Stderr, "chorus-say:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, log *slog.Logger, ortLib, provider, model, config, text, out string, speaker int, speed float64) error {
	// The voice's prepared graphs: those beside it, or made now (once).
	v, err := voiceprep.Open(ctx, ortLib, model, config, log)
	if err != nil {
		return err
	}
	e, err := engine.New(engine.Options{LibraryPath: ortLib, Provider: provider, SessionCache: 1, Logger: log})
	if err != nil {
		return err
	}
	defer e.Close()
	if err := e.Preload(ctx, v); err != nil {
		return err
	}
	start := time.Now()
	res, err := e.Synthesize(ctx, v, []engine.Request{{Text: text, SpeakerID: speaker, Speed: speed}})
	if err != nil {
		return err
	}
	elapsed := time.Since(start)
	r := res[0]
	if r.Err != nil {
		return r.Err
	}
	if r.Duration <= 0 {
		return errors.New("no audio produced")
	}
	file, err := wav.Encode(r.Samples, r.SampleRate)
	if err != nil {
		return err
	}
	if err := os.WriteFile(out, file, 0o644); err != nil {
		return err
	}
	demo := ""
	if v.Config.Chorus != nil && v.Config.Chorus.Demo {
		demo = " (demo voice)"
	}
	fmt.Printf("%s: %.2f s of audio at %d Hz, %d sentence(s), synthesised in %s on %s, RTF %.4f%s\n",
		out, r.Duration.Seconds(), r.SampleRate, r.Sentences, elapsed.Round(time.Microsecond),
		e.Provider(), elapsed.Seconds()/r.Duration.Seconds(), demo)
	return nil
}
