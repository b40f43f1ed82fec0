// Package notice announces finished work on the synthesis-completed topic:
// one message per finished job, and one per batch once its every job has
// finished. The worker announces the jobs it finishes; the API announces
// the ones the result cache answers at once.
//
// Delivery is at least once. A job is marked notified after its message
// was accepted; a job left unnotified (the publish failed, or the process
// died in between) is announced again by the worker's sweep (Stale), and
// a concurrent duplicate is possible, so consumers deduplicate on job_id.
// A batch is announced by whoever first claims its notice; a claim whose
// publish failed is given back, and the next announcement of one of its
// jobs tries again.
package notice

import (
	"context"
	"log/slog"
	"time"

	"github.com/chorus-voice/chorus/shared/job"
	"github.com/chorus-voice/chorus/shared/message"
	"github.com/chorus-voice/chorus/shared/queue"
	"github.com/chorus-voice/chorus/shared/store"
)

// maxBatchJobs bounds the jobs read to decide that a batch has finished
// (the largest batch the API accepts: config's bound on CHORUS_MAX_BATCH_ITEMS).
const maxBatchJobs = 1000

// Announcer publishes completions. A nil *Announcer announces nothing
// (no topic configured).
type Announcer struct {
	Store    *store.Store
	Notifier *queue.Notifier
	Log      *slog.Logger
}

// Job announces the job with this id if it has finished and is not yet
// announced, then its batch if that was the batch's last job. Failures are
// logged: the sweep retries.
func (a *Announcer) Job(ctx context.Context, id string) {
	if a == nil {
		return
	}
	j, err := a.Store.GetJob(ctx, id)
	if err != nil {
		a.Log.WarnContext(ctx, "announce: read job", "job_id", id, "error", err)
		return
	}
	a.announce(ctx, j)
}

func (a *Announcer) announce(ctx context.Context, j *job.Job) {
	if !j.Status.Terminal() || j.Notified {
		return
	}
	if err := a.Notifier.Notify(ctx, message.JobCompletion(j), j.CallbackURL); err != nil {
		a.Log.WarnContext(ctx, "announce: publish job completion (the sweep retries)", "job_id", j.ID, "error", err)
		return
	}
	if err := a.Store.MarkNotified(ctx, j.ID); err != nil {
		a.Log.WarnContext(ctx, "announce: mark job notified", "job_id", j.ID, "error", err)
	}
	if j.BatchID != "" {
		a.batch(ctx, j)
	}
}

// batch announces j's batch when every job of it has finished: a count
// query per finished job, and the batch is read once, by the claimant.
func (a *Announcer) batch(ctx context.Context, j *job.Job) {
	pending, err := a.Store.BatchPending(ctx, j.BatchID)
	if err != nil {
		a.Log.WarnContext(ctx, "announce: count the batch's pending jobs", "batch_id", j.BatchID, "error", err)
		return
	}
	if pending > 0 {
		return // the last job's end announces the batch
	}
	claimed, err := a.Store.ClaimBatchNotice(ctx, j.BatchID)
	if err != nil || !claimed {
		if err != nil {
			a.Log.WarnContext(ctx, "announce: claim batch notice", "batch_id", j.BatchID, "error", err)
		}
		return
	}
	jobs, err := a.Store.BatchJobs(ctx, j.BatchID, maxBatchJobs)
	if err == nil {
		err = a.Notifier.Notify(ctx, message.BatchCompletion(j.BatchID, jobs), j.CallbackURL)
	}
	if err != nil {
		a.Log.WarnContext(ctx, "announce: publish batch completion", "batch_id", j.BatchID, "error", err)
		if err := a.Store.ReleaseBatchNotice(ctx, j.BatchID); err != nil {
			a.Log.WarnContext(ctx, "announce: release batch notice", "batch_id", j.BatchID, "error", err)
		}
	}
}

// Stale announces jobs that finished before `before` and were never
// announced. It returns how many it announced.
func (a *Announcer) Stale(ctx context.Context, before time.Time) (int, error) {
	if a == nil {
		return 0, nil
	}
	jobs, err := a.Store.Unnotified(ctx, before, 100)
	if err != nil {
		return 0, err
	}
	for _, j := range jobs {
		a.announce(ctx, j)
	}
	return len(jobs), nil
}
