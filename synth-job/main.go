// Command synth-job is the Chorus worker: it pulls synthesis requests from
// Pub/Sub, runs the voices on ONNX Runtime (CUDA when present) and writes
// WAV files to Cloud Storage.
//
//	synth-job --drain   # Cloud Run job: work until the queue stays empty, exit 0
//	synth-job --serve   # long-running (make dev): work until SIGTERM
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/storage"

	"github.com/chorus-voice/chorus/shared/config"
	"github.com/chorus-voice/chorus/shared/logging"
	"github.com/chorus-voice/chorus/shared/store"
	"github.com/chorus-voice/chorus/synth-job/engine"
	"github.com/chorus-voice/chorus/synth-job/voicecache"
	"github.com/chorus-voice/chorus/synth-job/worker"
)

func main() {
	drain := flag.Bool("drain", false, "process until the subscription stays empty for CHORUS_IDLE_TIMEOUT, then exit")
	serve := flag.Bool("serve", false, "process until SIGTERM")
	flag.Parse()
	slog.SetDefault(logging.New(os.Stderr, slog.LevelInfo))
	if *drain == *serve {
		fmt.Fprintln(os.Stderr, "synth-job: give exactly one of --drain or --serve")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	mode := worker.Serve
	if *drain {
		mode = worker.Drain
	}
	if err := realMain(ctx, mode); err != nil {
		slog.Error("synth-job failed", "error", err.Error())
		os.Exit(1)
	}
}

func realMain(ctx context.Context, mode worker.Mode) error {
	cfg, err := config.Load[config.Worker](ctx)
	if err != nil {
		return err
	}
	eng, err := engine.New(engine.Options{LibraryPath: cfg.ORTLibrary, Provider: cfg.ExecutionProvider,
		IntraOpThreads: cfg.IntraOpThreads, SessionCache: cfg.SessionCache,
		MaxRunItems: cfg.RunMaxItems, MaxRunIDs: cfg.RunMaxIDs, ConcurrentRuns: cfg.ConcurrentRuns,
		GPUMemLimit: int64(cfg.GPUMemLimit), CPUOffloadIDs: cfg.CPUOffloadIDs, MaxTextRunes: cfg.MaxTextChars})
	if err != nil {
		return err
	}
	defer eng.Close()

	gcs, err := storage.NewClient(ctx)
	if err != nil {
		return fmt.Errorf("storage client: %w", err)
	}
	defer gcs.Close()
	voices, err := voicecache.New(cfg.VoiceCacheDir, voicecache.GCS{Bucket: gcs.Bucket(cfg.ModelsBucket)}, slog.Default())
	if err != nil {
		return err
	}
	st, err := store.Open(ctx, cfg.ProjectID, cfg.AudioRetention)
	if err != nil {
		return err
	}
	defer st.Close()
	ps, err := pubsub.NewClient(ctx, cfg.ProjectID)
	if err != nil {
		return fmt.Errorf("pubsub client: %w", err)
	}
	defer ps.Close()

	w := worker.New(worker.Deps{Config: cfg, Store: st, PubSub: ps, Audio: gcs.Bucket(cfg.AudioBucket),
		Synth: NewEngineSynth(eng, voices)})
	err = w.Run(ctx, mode)
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}
