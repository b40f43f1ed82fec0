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
	"sync"
	"syscall"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/storage"
	"golang.org/x/sync/errgroup"

	"github.com/chorus-voice/chorus/shared/config"
	"github.com/chorus-voice/chorus/shared/logging"
	"github.com/chorus-voice/chorus/shared/store"
	"github.com/chorus-voice/chorus/synth-job/engine"
	"github.com/chorus-voice/chorus/synth-job/voice"
	"github.com/chorus-voice/chorus/synth-job/voicecache"
	"github.com/chorus-voice/chorus/synth-job/voiceprep"
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
	// The engine proves CUDA first (seconds on a GPU); the cloud clients
	// and the voices' downloads need no engine: they go on meanwhile.
	var (
		eng *engine.Engine
		cl  *clients
	)
	var start errgroup.Group
	start.Go(func() (err error) {
		eng, err = engine.New(engine.Options{LibraryPath: cfg.ORTLibrary, Provider: cfg.ExecutionProvider,
			IntraOpThreads: cfg.IntraOpThreads, SessionCache: cfg.SessionCache,
			MaxRunItems: cfg.RunMaxItems, MaxRunIDs: cfg.RunMaxIDs, ConcurrentRuns: cfg.ConcurrentRuns,
			GPUMemLimit: int64(cfg.GPUMemLimit), CPUOffloadIDs: cfg.CPUOffloadIDs, MaxTextRunes: cfg.MaxTextChars})
		return err
	})
	prefetchCtx, stopPrefetch := context.WithCancel(ctx)
	var prefetch sync.WaitGroup
	start.Go(func() (err error) {
		if cl, err = openClients(ctx, cfg); err != nil {
			return err
		}
		prefetch.Go(func() { prefetchVoices(prefetchCtx, cl, cfg.SessionCache) })
		return nil
	})
	err = start.Wait()
	defer func() {
		stopPrefetch()
		prefetch.Wait() // it reads through the clients
		if cl != nil {
			cl.close()
		}
		if eng != nil {
			eng.Close()
		}
	}()
	if err != nil {
		return err
	}

	w := worker.New(worker.Deps{Config: cfg, Store: cl.store, PubSub: cl.pubsub, Audio: cl.gcs.Bucket(cfg.AudioBucket),
		Synth: NewEngineSynth(eng, cl.voices)})
	err = w.Run(ctx, mode)
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// clients are the worker's cloud clients and its voice cache.
type clients struct {
	gcs    *storage.Client
	store  *store.Store
	pubsub *pubsub.Client
	voices *voicecache.Cache
}

func openClients(ctx context.Context, cfg *config.Worker) (_ *clients, err error) {
	c := &clients{}
	defer func() {
		if err != nil {
			c.close()
		}
	}()
	if c.gcs, err = storage.NewClient(ctx); err != nil {
		return nil, fmt.Errorf("storage client: %w", err)
	}
	if c.voices, err = voicecache.New(cfg.VoiceCacheDir, voicecache.GCS{Bucket: c.gcs.Bucket(cfg.ModelsBucket)}, slog.Default()); err != nil {
		return nil, err
	}
	// A voice imported before prepared graphs existed is prepared here,
	// once per disk cache (chorus-voices prepare stores them for all).
	c.voices.Prepare = func(ctx context.Context, modelPath string, vc *voice.Config) (*voice.Prepared, error) {
		return voiceprep.Prepare(ctx, cfg.ORTLibrary, modelPath, vc, slog.Default())
	}
	if c.store, err = store.Open(ctx, cfg.ProjectID, cfg.AudioRetention); err != nil {
		return nil, err
	}
	if c.pubsub, err = pubsub.NewClient(ctx, cfg.ProjectID); err != nil {
		return nil, fmt.Errorf("pubsub client: %w", err)
	}
	return c, nil
}

func (c *clients) close() {
	if c.pubsub != nil {
		c.pubsub.Close()
	}
	if c.store != nil {
		c.store.Close()
	}
	if c.gcs != nil {
		c.gcs.Close()
	}
}

// prefetchVoices downloads up to n registered voices (as many as the
// session cache holds) into the voice cache while the engine starts, so
// that the first requests find them on disk. A failure only costs the
// first request of that voice its download: it is logged, not returned.
func prefetchVoices(ctx context.Context, c *clients, n int) {
	start := time.Now()
	recs, err := c.store.ListVoices(ctx)
	if err != nil {
		slog.Warn("voice prefetch: cannot list the voices", "error", err.Error())
		return
	}
	var g errgroup.Group
	for _, rec := range recs[:min(len(recs), n)] {
		g.Go(func() error {
			if _, err := c.voices.Get(ctx, rec.ID, rec.ModelObject, rec.ConfigObject); err != nil && ctx.Err() == nil {
				slog.Warn("voice prefetch failed", "voice", rec.ID, "error", err.Error())
			}
			return nil
		})
	}
	_ = g.Wait()
	slog.Info("voices prefetched", "voices", min(len(recs), n), "ms", time.Since(start).Milliseconds())
}
