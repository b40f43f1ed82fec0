// Package worker consumes synthesis messages from Pub/Sub and drives each
// job to an end: claim it in Firestore, synthesise it (batched per voice),
// upload the WAV, record the result, and only then acknowledge.
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
	"sync"
	"sync/atomic"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/storage"

	"github.com/chorus-voice/chorus/shared/config"
	"github.com/chorus-voice/chorus/shared/job"
	"github.com/chorus-voice/chorus/shared/message"
	"github.com/chorus-voice/chorus/shared/queue"
	"github.com/chorus-voice/chorus/shared/store"
)

// Item is one job's text to synthesise.
type Item struct {
	JobID     string
	Text      string
	SpeakerID int
	Speed     float64
}

// Audio is the outcome of one Item: a WAV file, or the item's own error.
type Audio struct {
	WAV        []byte
	Duration   time.Duration
	SampleRate int
	Err        error
}

// Synth synthesises items that share a voice. It is the seam between the
// queue plumbing and the ONNX engine, and lets tests inject failures.
type Synth interface {
	// Synthesize returns one Audio per item, or an error for the whole
	// batch (voice unusable, engine failure).
	Synthesize(ctx context.Context, v *store.Voice, items []Item) ([]Audio, error)
	// Provider names the execution provider that runs inference (cpu, cuda).
	Provider() string
}

// PermanentError is a failure that no retry can fix. Code and Message end
// up on the job for the client to see.
type PermanentError struct {
	Code    string
	Message string
	Err     error
}

func (e *PermanentError) Error() string {
	if e.Err != nil {
		return e.Code + ": " + e.Err.Error()
	}
	return e.Code + ": " + e.Message
}

func (e *PermanentError) Unwrap() error { return e.Err }

// Permanent wraps err as a failure no retry can fix.
func Permanent(code, message string, err error) error {
	return &PermanentError{Code: code, Message: message, Err: err}
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
	return w
}

// ID is the name this worker claims jobs under.
func (w *Worker) ID() string { return w.id }

// Processed counts messages handled to an end (acked) since start.
func (w *Worker) Processed() int64 { return w.processed.Load() }

// Run pulls until ctx is cancelled (serve mode) or, with drain, until the
// subscription stayed empty for the configured idle time. After ctx is
// cancelled it stops pulling and gives in-flight work the shutdown grace
// period to finish; work still running then is handed back (nacked).
func (w *Worker) Run(ctx context.Context, drain bool) error {
	recvCtx, stopRecv := context.WithCancel(context.WithoutCancel(ctx))
	defer stopRecv()
	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWork()
	w.touch()

	// owners holds the goroutines that watch for shutdown and idleness;
	// receivers holds the Receive loops, which return only after every
	// callback returned.
	var owners, receivers sync.WaitGroup
	done := make(chan struct{})
	owners.Add(1)
	go func() { // SIGTERM → stop pulling → grace → stop work
		defer owners.Done()
		select {
		case <-ctx.Done():
			w.log.Info("shutting down: no new messages", "grace", w.cfg.ShutdownGrace.String(), "inflight", w.inflight.Load())
			stopRecv()
			t := time.NewTimer(w.cfg.ShutdownGrace)
			defer t.Stop()
			select {
			case <-t.C:
				w.log.Warn("grace period over: handing back in-flight work", "inflight", w.inflight.Load())
				stopWork()
			case <-done:
			}
		case <-done:
		}
	}()
	if drain {
		owners.Add(1)
		go func() { // ends a --drain run once the queue stayed empty
			defer owners.Done()
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
				case <-recvCtx.Done():
					return
				case <-maxRun:
					w.log.Info("maximum run time reached: finishing in-flight work and exiting", "max_run", w.cfg.MaxRun.String(), "processed", w.processed.Load())
					stopRecv()
					return
				case <-t.C:
					idle := time.Since(time.Unix(0, w.lastActivity.Load()))
					if w.inflight.Load() == 0 && idle >= w.cfg.IdleTimeout {
						w.log.Info("queue idle: drain done", "idle", idle.Round(time.Millisecond).String(), "processed", w.processed.Load())
						stopRecv()
						return
					}
				}
			}
		}()
	}

	if w.requeue != nil {
		owners.Add(1)
		go func() { // re-publishes orphaned queued jobs until pulling stops
			defer owners.Done()
			w.requeueLoop(recvCtx)
		}()
	}

	b := newBatcher(w, w.cfg.BatchSize, w.cfg.BatchWait, w.cfg.Concurrency)
	b.start(workCtx)

	errs := make(chan error, 2)
	receive := func(name string, settings pubsub.ReceiveSettings, f func(context.Context, *pubsub.Message)) {
		defer receivers.Done()
		sub := w.ps.Subscriber(name)
		sub.ReceiveSettings = settings
		if err := sub.Receive(recvCtx, f); err != nil {
			errs <- fmt.Errorf("worker: receive from %s: %w", name, err)
			stopRecv()
		}
	}
	receivers.Add(1)
	go receive(w.cfg.Subscription, pubsub.ReceiveSettings{
		MaxOutstandingMessages: w.cfg.Concurrency * w.cfg.BatchSize * 2,
		MaxExtension:           w.cfg.Lease * 5,
		// Extend ack deadlines in steps of half a lease: if this process
		// dies, its messages come back about as soon as its leases lapse.
		MaxDurationPerAckExtension: min(max(w.cfg.Lease/2, 10*time.Second), 10*time.Minute),
		NumGoroutines:              1,
	}, func(_ context.Context, m *pubsub.Message) { w.handle(workCtx, b, m) })
	if w.cfg.DeadLetterSubscription != "" {
		receivers.Add(1)
		go receive(w.cfg.DeadLetterSubscription, pubsub.ReceiveSettings{MaxOutstandingMessages: 10, NumGoroutines: 1},
			func(_ context.Context, m *pubsub.Message) { w.sweepDeadLetter(workCtx, m) })
	}
	w.log.Info("worker started", "subscription", w.cfg.Subscription, "drain", drain,
		"batch_size", w.cfg.BatchSize, "concurrency", w.cfg.Concurrency, "provider", w.synth.Provider())

	receivers.Wait()
	b.stop()
	close(done)
	owners.Wait()
	if w.dlq != nil {
		w.dlq.Stop()
	}
	if w.requeue != nil {
		w.requeue.Stop()
	}
	close(errs)
	var err error
	for e := range errs {
		err = errors.Join(err, e)
	}
	w.log.Info("worker stopped", "processed", w.processed.Load())
	return err
}

func (w *Worker) touch() { w.lastActivity.Store(time.Now().UnixNano()) }

// poison ends a job with a permanent error, sends its message to the
// dead-letter topic (when one is configured) so that operators see it, and
// acks. When forwarding fails the message is nacked so that it is not lost;
// its next delivery finds the job finished.
func (w *Worker) poison(ctx context.Context, m *pubsub.Message, jobID string, pe *PermanentError) {
	log := w.log.With("job_id", jobID, "code", pe.Code)
	if jobID != "" {
		if err := w.store.Fail(ctx, jobID, "", job.Error{Code: pe.Code, Message: pe.Message}); err != nil && !errors.Is(err, store.ErrNotFound) {
			log.Error("could not fail job; will retry", "error", err)
			m.Nack()
			return
		}
	}
	if w.dlq != nil {
		attrs := map[string]string{"chorus_error_code": pe.Code, "chorus_worker": w.id}
		for k, v := range m.Attributes {
			attrs[k] = v
		}
		if jobID != "" {
			attrs["job_id"] = jobID
		}
		if _, err := w.dlq.Publish(ctx, &pubsub.Message{Data: m.Data, Attributes: attrs}).Get(ctx); err != nil {
			log.Error("could not forward poison message to the dead-letter topic; nacking", "error", err)
			m.Nack()
			return
		}
	}
	log.Warn("job failed permanently", "error", pe.Error())
	m.Ack()
	w.processed.Add(1)
}

// attempt is the delivery attempt of m (1 when the subscription has no dead-letter policy).
func attempt(m *pubsub.Message) int {
	if m.DeliveryAttempt != nil {
		return *m.DeliveryAttempt
	}
	return 1
}

// requeueLoop finds jobs that stayed queued longer than RequeueAfter, or
// stayed running that long after their lease lapsed, and publishes their
// message again. A job is written before its message is published; if the
// enqueue function died in between, nothing else would ever run it. And a
// dead worker's message should come back by itself, but a message lost on
// the way must not strand its job. A job that is merely waiting in a long
// queue gets a duplicate message, which the claim turns into a no-op.
func (w *Worker) requeueLoop(ctx context.Context) {
	t := time.NewTicker(w.cfg.RequeueAfter / 2)
	defer t.Stop()
	for {
		if err := w.requeueStale(ctx); err != nil && ctx.Err() == nil {
			w.log.Warn("requeue sweep failed", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (w *Worker) requeueStale(ctx context.Context) error {
	before := time.Now().Add(-w.cfg.RequeueAfter)
	jobs, err := w.store.RequeueCandidates(ctx, before, 100)
	if err != nil {
		return err
	}
	var msgs []*message.SynthesisRequest
	for _, j := range jobs {
		publish, err := w.store.Requeue(ctx, j.ID, before)
		if err != nil {
			return err
		}
		if !publish {
			continue
		}
		msgs = append(msgs, message.ForJob(j))
	}
	if len(msgs) == 0 {
		return nil
	}
	if _, err := w.requeue.Publish(ctx, msgs); err != nil {
		return err
	}
	w.log.Warn("re-published stale jobs (queued without a message, or running under a lapsed lease)", "jobs", len(msgs))
	return nil
}
