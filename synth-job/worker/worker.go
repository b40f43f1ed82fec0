// Package worker consumes synthesis messages from Pub/Sub and drives each
// job to an end: claim it in Firestore, synthesise it (batched per voice),
// upload the WAV, record the result, and only then acknowledge.
//
// Reading order: worker.go (the worker's life: Run, its goroutines and
// shutdown), outcomes.go (what becomes of each message: ack, nack, retry,
// poison, dead letters), batch.go (jobs of one voice gathered into one
// synthesis), requeue.go (jobs whose message was lost), synth.go (the
// seam to the engine). The package is pure Go; the engine is plugged in
// by the synth-job binary.
//
// Failure handling: a failure that a retry can fix hands the job back and
// nacks the message (Pub/Sub redelivers with backoff); on the last delivery
// attempt the job is failed and the message goes to the dead-letter topic.
// A failure no retry can fix (malformed message, unknown member or voice,
// text the voice cannot say) fails the job with a precise code, forwards
// the message to the dead-letter topic and acks it.
package worker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync/atomic"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/storage"
	"golang.org/x/sync/errgroup"

	"github.com/chorus-voice/chorus/shared/config"
	"github.com/chorus-voice/chorus/shared/notice"
	"github.com/chorus-voice/chorus/shared/queue"
	"github.com/chorus-voice/chorus/shared/store"
)

// Mode says when a worker stops.
type Mode int

const (
	// Serve works until its context is cancelled (make dev, SIGTERM).
	Serve Mode = iota
	// Drain works until the subscription stayed empty for IdleTimeout, or
	// MaxRun passed (a Cloud Run job's task).
	Drain
)

func (m Mode) String() string {
	if m == Drain {
		return "drain"
	}
	return "serve"
}

// Deps are what a Worker needs.
type Deps struct {
	Config *config.Worker
	Store  *store.Store
	PubSub *pubsub.Client
	// Audio is the bucket that receives WAV files.
	Audio *storage.BucketHandle
	Synth Synth
	// ID names this worker in job leases; a random one when empty.
	ID string
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// Worker pulls and processes synthesis messages.
type Worker struct {
	cfg   *config.Worker
	store *store.Store
	ps    *pubsub.Client
	audio *storage.BucketHandle
	synth Synth
	id    string
	log   *slog.Logger
	dlq   *pubsub.Publisher
	// requeue re-publishes jobs left queued without a message (nil: off).
	requeue *queue.Publisher
	// announce publishes completions (nil: no completion topic); callbacks
	// delivers them to clients (nil: no callback subscription).
	announce  *notice.Announcer
	callbacks *callbacks
	// setupErr is a configuration error New found; Run returns it.
	setupErr error

	inflight     atomic.Int64
	lastActivity atomic.Int64 // unix nanos
	processed    atomic.Int64
}

// New builds a worker.
func New(d Deps) *Worker {
	id := d.ID
	if id == "" {
		host, _ := os.Hostname()
		var b [4]byte
		_, _ = rand.Read(b[:])
		id = fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))
	}
	log := d.Logger
	if log == nil {
		log = slog.Default()
	}
	w := &Worker{cfg: d.Config, store: d.Store, ps: d.PubSub, audio: d.Audio, synth: d.Synth, id: id, log: log.With("worker", id)}
	if d.Config.DeadLetterTopic != "" {
		w.dlq = d.PubSub.Publisher(d.Config.DeadLetterTopic)
	}
	if d.Config.Topic != "" {
		w.requeue = queue.NewPublisher(d.PubSub, d.Config.Topic, d.Config.MaxTextChars)
	}
	if d.Config.CompletionTopic != "" {
		w.announce = &notice.Announcer{Store: d.Store, Notifier: queue.NewNotifier(d.PubSub, d.Config.CompletionTopic), Log: w.log}
	}
	if d.Config.CallbackSubscription != "" {
		w.callbacks, w.setupErr = newCallbacks(d.Config.CallbackSigningKeys, d.Config.CallbackAllowLoopback, w.log)
	}
	return w
}

// ID is the name this worker claims jobs under.
func (w *Worker) ID() string { return w.id }

// Processed counts messages handled to an end (acked) since start.
func (w *Worker) Processed() int64 { return w.processed.Load() }

// Run pulls until ctx is cancelled (Serve) or, in Drain mode, until the
// subscription stayed empty for the configured idle time or MaxRun passed.
// After ctx is cancelled it stops pulling and gives in-flight work the
// shutdown grace period to finish; work still running then is handed back
// (nacked).
//
// Goroutines and their owners: the receivers (Pub/Sub streaming pulls)
// run in one errgroup whose context stops them all when one fails; the
// batcher owns its dispatcher and pool and stops them once the receivers
// returned; the watchers (shutdown, idleness, requeue sweep) run in a
// second errgroup that ends once work is done.
func (w *Worker) Run(ctx context.Context, mode Mode) error {
	if w.setupErr != nil {
		return w.setupErr
	}
	// Pulling and working outlive ctx by the grace period: both are
	// stopped by the watchers below, not by ctx directly.
	pulling, stopPulling := context.WithCancel(context.WithoutCancel(ctx))
	defer stopPulling()
	working, stopWorking := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWorking()
	w.touch()

	b := newBatcher(batchDeps{
		voice:  w.store.GetVoice,
		member: w.store.GetMember,
		synth:  w.synth,
		finish: w.finish,
		renew:  func(ctx context.Context, jobID string) error { return w.store.Renew(ctx, jobID, w.id, w.cfg.Lease) },
		lease:  w.cfg.Lease,
		log:    w.log,
	}, w.cfg.BatchSize, w.cfg.BatchWait, w.cfg.Concurrency)
	b.start(working)

	receivers, recvCtx := errgroup.WithContext(pulling)
	receivers.Go(func() error {
		return w.receive(recvCtx, w.cfg.Subscription, pubsub.ReceiveSettings{
			// Enough messages in hand to fill every batch twice over.
			MaxOutstandingMessages: w.cfg.Concurrency * w.cfg.BatchSize * 2,
			MaxExtension:           w.cfg.Lease * 5,
			// Extend ack deadlines in steps of half a lease: if this
			// process dies, its messages come back about as soon as its
			// leases lapse.
			MaxDurationPerAckExtension: min(max(w.cfg.Lease/2, 10*time.Second), 10*time.Minute),
			NumGoroutines:              1,
		}, func(m *pubsub.Message) { w.handle(working, b, m) })
	})
	if w.cfg.DeadLetterSubscription != "" {
		receivers.Go(func() error {
			return w.receive(recvCtx, w.cfg.DeadLetterSubscription,
				pubsub.ReceiveSettings{MaxOutstandingMessages: 10, NumGoroutines: 1},
				func(m *pubsub.Message) { w.sweepDeadLetter(working, m) })
		})
	}
	if w.callbacks != nil {
		receivers.Go(func() error {
			return w.receive(recvCtx, w.cfg.CallbackSubscription, callbackReceiveSettings,
				func(m *pubsub.Message) { w.touch(); w.callbacks.deliver(working, m) })
		})
	}

	var watchers errgroup.Group
	done := make(chan struct{})
	watchers.Go(func() error { w.watchShutdown(ctx, done, stopPulling, stopWorking); return nil })
	if mode == Drain {
		watchers.Go(func() error { w.watchIdle(recvCtx, stopPulling); return nil })
	}
	if w.requeue != nil || w.announce != nil {
		watchers.Go(func() error { w.requeueLoop(recvCtx); return nil })
	}
	w.log.Info("worker started", "subscription", w.cfg.Subscription, "mode", mode.String(),
		"batch_size", w.cfg.BatchSize, "concurrency", w.cfg.Concurrency, "provider", w.synth.Provider())

	err := receivers.Wait() // every callback has returned
	b.stop()                // every queued batch has finished
	close(done)
	_ = watchers.Wait()
	if w.dlq != nil {
		w.dlq.Stop()
	}
	if w.requeue != nil {
		w.requeue.Stop()
	}
	if w.announce != nil {
		w.announce.Notifier.Stop()
	}
	w.log.Info("worker stopped", "processed", w.processed.Load())
	return err
}

// receive pulls from one subscription until ctx ends.
func (w *Worker) receive(ctx context.Context, name string, settings pubsub.ReceiveSettings, f func(*pubsub.Message)) error {
	sub := w.ps.Subscriber(name)
	sub.ReceiveSettings = settings
	if err := sub.Receive(ctx, func(_ context.Context, m *pubsub.Message) { f(m) }); err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("worker: receive from %s: %w", name, err)
	}
	return nil
}

// watchShutdown turns ctx's end (SIGTERM) into: stop pulling now, stop
// working after the grace period unless the work finished first (done).
func (w *Worker) watchShutdown(ctx context.Context, done <-chan struct{}, stopPulling, stopWorking func()) {
	select {
	case <-ctx.Done():
	case <-done:
		return
	}
	w.log.Info("shutting down: no new messages", "grace", w.cfg.ShutdownGrace.String(), "inflight", w.inflight.Load())
	stopPulling()
	t := time.NewTimer(w.cfg.ShutdownGrace)
	defer t.Stop()
	select {
	case <-t.C:
		w.log.Warn("grace period over: handing back in-flight work", "inflight", w.inflight.Load())
		stopWorking()
	case <-done:
	}
}

// watchIdle ends a Drain run once the queue stayed empty for IdleTimeout
// with nothing in flight, or after MaxRun.
func (w *Worker) watchIdle(ctx context.Context, stopPulling func()) {
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	var maxRun <-chan time.Time
	if w.cfg.MaxRun > 0 {
		mr := time.NewTimer(w.cfg.MaxRun)
		defer mr.Stop()
		maxRun = mr.C
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-maxRun:
			w.log.Info("maximum run time reached: finishing in-flight work and exiting", "max_run", w.cfg.MaxRun.String(), "processed", w.processed.Load())
			stopPulling()
			return
		case <-t.C:
			idle := time.Since(time.Unix(0, w.lastActivity.Load()))
			if w.inflight.Load() == 0 && idle >= w.cfg.IdleTimeout {
				w.log.Info("queue idle: drain done", "idle", idle.Round(time.Millisecond).String(), "processed", w.processed.Load())
				stopPulling()
				return
			}
		}
	}
}

func (w *Worker) touch() { w.lastActivity.Store(time.Now().UnixNano()) }
