package worker

import (
	"context"
	"time"

	"github.com/chorus-voice/chorus/shared/message"
)

// requeueLoop announces finished jobs whose completion was never
// published, and finds jobs that stayed queued longer than RequeueAfter, or
// stayed running that long after their lease lapsed, and publishes their
// message again. A job is written before its message is published; if the
// enqueue function died in between, nothing else would ever run it. And a
// dead worker's message should come back by itself, but a message lost on
// the way must not strand its job. A job that is merely waiting in a long
// queue gets a duplicate message, which the claim turns into a no-op.
func (w *Worker) requeueLoop(ctx context.Context) {
	t := time.NewTicker(w.staleAfter() / 2)
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

// staleAfter is how long a job may sit unattended before the sweep acts
// (CHORUS_REQUEUE_AFTER, 5 minutes when unset).
func (w *Worker) staleAfter() time.Duration {
	if w.cfg.RequeueAfter > 0 {
		return w.cfg.RequeueAfter
	}
	return 5 * time.Minute
}

func (w *Worker) requeueStale(ctx context.Context) error {
	before := time.Now().Add(-w.staleAfter())
	// Jobs that finished but whose completion was never published.
	if n, err := w.announce.Stale(ctx, before); err != nil {
		w.log.Warn("announcing stale completions failed", "error", err)
	} else if n > 0 {
		w.log.Warn("announced completions that were owed", "jobs", n)
	}
	if w.requeue == nil {
		return nil
	}
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
