package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"cloud.google.com/go/pubsub/v2"

	"github.com/chorus-voice/chorus/shared/blob"
	"github.com/chorus-voice/chorus/shared/job"
	"github.com/chorus-voice/chorus/shared/logging"
	"github.com/chorus-voice/chorus/shared/message"
	"github.com/chorus-voice/chorus/shared/queue"
	"github.com/chorus-voice/chorus/shared/store"
	"github.com/chorus-voice/chorus/synth-job/captions"
)

// What becomes of a message, in one place:
//
//	the job finished (now or earlier)          → ack
//	another worker holds a live lease          → nack (it may die)
//	a failure a retry may fix                  → release the job, nack
//	  … on the last delivery attempt           → poison (retries_exhausted)
//	a failure no retry can fix                 → poison: fail the job with
//	                                             its code, forward to the
//	                                             dead-letter topic, ack
//	a dead letter (sweep subscription)         → fail the job if nobody
//	                                             holds it, ack
//
// Who may fail a job: the worker that holds its lease (its own claim), or,
// for a message that never got that far (an unreadable body whose
// attribute names a job, a job the message cannot resolve), only a job
// that nobody is running: queued, or running under a lapsed lease
// (store.FailIdle). A malformed message cannot end another worker's live
// job.
//
// A redelivered message (delivery attempt > 1) runs in a batch of its own:
// if its input crashes the process, the crash is pinned on it and the jobs
// that shared its first batch are not taken down with it again. A Go panic
// in a batch does not end the process (batch.go): a job that panics alone
// fails with synthesis_crashed; a batch of several that panics hands its
// jobs back, and each runs alone on its next delivery.

// handle takes one message to an end.
func (w *Worker) handle(ctx context.Context, b *batcher, m *pubsub.Message) {
	w.inflight.Add(1)
	defer w.inflight.Add(-1)
	defer w.touch()
	w.touch()
	// The enqueueing request's trace follows the job into these logs.
	if t, ok := logging.ParseTraceParent(m.Attributes[queue.AttrTraceParent]); ok {
		ctx = logging.WithTrace(ctx, t)
	}

	msg, err := message.Decode(m.Data, w.cfg.MaxTextChars)
	if err != nil {
		// The attribute lets us fail the job even when the body is unreadable.
		id := m.Attributes[queue.AttrJobID]
		if !job.ValidGeneratedID(id) {
			id = ""
		}
		w.poison(ctx, m, id, "", &PermanentError{Code: "invalid_message", Message: "The request could not be read.", Err: err})
		return
	}
	j, err := w.resolve(ctx, msg)
	if err != nil {
		var pe *PermanentError
		if errors.As(err, &pe) {
			w.poison(ctx, m, msg.JobID, "", pe)
			return
		}
		w.log.WarnContext(ctx, "could not resolve job; will retry", "job_id", msg.JobID, "error", err)
		m.Nack()
		return
	}
	log := w.log.With("job_id", j.ID, "attempt", attempt(m))

	claimed, outcome, err := w.store.Claim(ctx, j.ID, w.id, w.cfg.Lease)
	switch {
	case err != nil:
		log.WarnContext(ctx, "claim failed; will retry", "error", err)
		m.Nack()
		return
	case outcome == store.Finished:
		log.InfoContext(ctx, "job already finished; acknowledging duplicate", "status", claimed.Status)
		w.announce.Job(ctx, claimed.ID) // in case its completion was never published
		w.ack(m)
		return
	case outcome == store.Busy:
		// Another worker holds a live lease (a duplicate delivery). Nack,
		// never ack: if that worker dies, this message must come back.
		log.InfoContext(ctx, "job running elsewhere; nacking duplicate", "holder", claimed.Worker)
		m.Nack()
		return
	}

	res := b.submit(ctx, claimed, attempt(m) > 1)
	var pe *PermanentError
	switch {
	case res.err == nil:
		w.ack(m)
		w.announce.Job(ctx, claimed.ID)
		log.InfoContext(ctx, "job succeeded", "voice_id", claimed.VoiceID, "audio_seconds", res.out.DurationSeconds,
			"bytes", res.out.Bytes, "synth_ms", res.elapsed.Milliseconds(),
			"rtf", res.elapsed.Seconds()/max(res.out.DurationSeconds, 1e-3))
	case errors.As(res.err, &pe):
		w.poison(ctx, m, claimed.ID, w.id, pe)
	default:
		w.retry(ctx, m, claimed, res.err)
	}
}

func (w *Worker) ack(m *pubsub.Message) {
	m.Ack()
	w.processed.Add(1)
}

// finish uploads a job's captions and audio under their deterministic
// names (never over an existing object) and marks it succeeded.
func (w *Worker) finish(ctx context.Context, j *job.Job, a Audio) (job.Output, error) {
	vtt := j.CaptionsObjectName()
	if _, err := blob.Put(ctx, w.audio, vtt, captions.WebVTT(a.Cues), captions.ContentType); err != nil {
		return job.Output{}, err
	}
	name := j.ObjectName()
	size, err := blob.Put(ctx, w.audio, name, a.Data, job.ContentType(j.AudioFormat()))
	if err != nil {
		return job.Output{}, err
	}
	out := job.Output{Bucket: w.cfg.AudioBucket, Object: name, Bytes: size, CaptionsObject: vtt,
		DurationSeconds: a.Duration.Seconds(), SampleRate: a.SampleRate, WrittenAt: time.Now().UTC()}
	if err := w.store.Succeed(ctx, j.ID, w.id, out, w.synth.Provider()); err != nil {
		return job.Output{}, fmt.Errorf("record success: %w", err)
	}
	// Later identical requests are answered from this audio. Losing the
	// record costs only a cache miss: the job itself has succeeded.
	if j.CacheKey != "" {
		if err := w.store.RecordResult(ctx, j.CacheKey, j.ID, out); err != nil {
			w.log.WarnContext(ctx, "could not record the result for the cache", "job_id", j.ID, "error", err)
		}
	}
	return out, nil
}

// retry hands a job back after a failure a retry may fix, or, on the last
// delivery attempt, fails it and sends the message to the dead-letter topic.
func (w *Worker) retry(ctx context.Context, m *pubsub.Message, j *job.Job, cause error) {
	log := w.log.With("job_id", j.ID, "attempt", attempt(m))
	// Store updates must happen even when work was cancelled by shutdown.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	// A shutdown is not the job's fault: hand it back whatever the attempt.
	if attempt(m) >= w.cfg.MaxAttempts && ctx.Err() == nil {
		log.ErrorContext(ctx, "last delivery attempt failed", "error", cause)
		w.poison(sctx, m, j.ID, w.id, &PermanentError{Code: "retries_exhausted",
			Message: "The synthesis kept failing; please try again later.", Err: cause})
		return
	}
	log.WarnContext(ctx, "synthesis failed; handing job back for retry", "error", cause)
	if err := w.store.Release(sctx, j.ID, w.id, &job.Error{Code: "retrying", Message: "Retrying after a temporary failure."}); err != nil {
		log.ErrorContext(ctx, "could not release job (its lease will lapse)", "error", err)
	}
	m.Nack()
}

// poison ends a job with a permanent error, sends its message to the
// dead-letter topic (when one is configured) so that operators see it, and
// acks. holder is the worker whose lease the job runs under (this one's,
// after a claim); empty, the message never claimed the job, and only an
// idle job (queued, or under a lapsed lease) is failed: a job another
// worker is running is left to it. When failing or forwarding fails the
// message is nacked so that it is not lost; its next delivery finds the
// job finished.
func (w *Worker) poison(ctx context.Context, m *pubsub.Message, jobID, holder string, pe *PermanentError) {
	log := w.log.With("job_id", jobID, "code", pe.Code)
	failed := false
	if jobID != "" {
		var err error
		if holder == "" {
			failed, err = w.store.FailIdle(ctx, jobID, job.Error{Code: pe.Code, Message: pe.Message})
		} else {
			err = w.store.Fail(ctx, jobID, holder, job.Error{Code: pe.Code, Message: pe.Message})
			failed = err == nil
		}
		switch {
		case errors.Is(err, store.ErrNotFound):
		case errors.Is(err, store.ErrLeaseLost):
			log.InfoContext(ctx, "job is another worker's now: leaving it to that worker")
		case err != nil:
			log.ErrorContext(ctx, "could not fail job; will retry", "error", err)
			m.Nack()
			return
		}
		if !failed && holder == "" {
			log.WarnContext(ctx, "message names a job that is running or finished: the job is left alone")
		}
	}
	if w.dlq != nil {
		attrs := map[string]string{"chorus_error_code": pe.Code, "chorus_worker": w.id}
		for k, v := range m.Attributes {
			attrs[k] = v
		}
		if jobID != "" {
			attrs[queue.AttrJobID] = jobID
		}
		if _, err := w.dlq.Publish(ctx, &pubsub.Message{Data: m.Data, Attributes: attrs}).Get(ctx); err != nil {
			log.ErrorContext(ctx, "could not forward poison message to the dead-letter topic; nacking", "error", err)
			m.Nack()
			return
		}
	}
	log.WarnContext(ctx, "message failed permanently", "failed_job", failed, "error", pe.Error())
	w.ack(m)
	if failed {
		w.announce.Job(ctx, jobID)
	}
}

// attempt is the delivery attempt of m (1 when the subscription has no dead-letter policy).
func attempt(m *pubsub.Message) int {
	if m.DeliveryAttempt != nil {
		return *m.DeliveryAttempt
	}
	return 1
}

// resolve finds the job a message is about. Messages published straight to
// the topic by batch producers carry no job id: their job is created here,
// idempotently on request_id.
func (w *Worker) resolve(ctx context.Context, msg *message.SynthesisRequest) (*job.Job, error) {
	if msg.JobID != "" {
		j, err := w.store.GetJob(ctx, msg.JobID)
		if errors.Is(err, store.ErrNotFound) {
			return nil, Permanent("job_not_found", "The job does not exist.", err)
		}
		return j, err
	}
	mem, err := w.store.GetMember(ctx, msg.MemberID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, Permanent("member_not_found", "That member does not exist.", err)
	}
	if err != nil {
		return nil, err
	}
	if !mem.Active {
		return nil, Permanent("member_inactive", "That member is not taking requests.", nil)
	}
	if msg.BatchID != "" {
		// A producer's message may join a batch producers made, never
		// one the API made for a client: the batch's jobs (any one of
		// them: a batch is all API jobs or all producer jobs) say which.
		batch, err := w.store.BatchJobs(ctx, msg.BatchID, 1)
		if err != nil {
			return nil, err
		}
		if len(batch) > 0 && !batch[0].Producer {
			return nil, Permanent("batch_id_conflict", "The batch_id names a batch this producer did not create.", nil)
		}
	}
	j := job.New(mem.ID, mem.VoiceID, mem.SpeakerID, msg.Text, msg.EffectiveSpeed(), time.Now())
	j.RequestID, j.BatchID, j.Format, j.Producer = msg.RequestID, msg.BatchID, msg.AudioFormat(), true
	created, err := w.store.CreateJobs(ctx, []*job.Job{j})
	var ce *store.ConflictError
	if errors.As(err, &ce) {
		return nil, Permanent("request_id_conflict", "The request_id was already used for a different request.", err)
	}
	if err != nil {
		return nil, err
	}
	return created[0].Job, nil
}

// sweepDeadLetter fails the job of a message that exhausted its delivery
// attempts (the worker could not even record the failure, e.g. it crashed
// every time), so that no job stays queued or running forever. A job still
// running under a live lease is left alone: the dead letter was a
// duplicate delivery, and the lease holder finishes the job.
func (w *Worker) sweepDeadLetter(ctx context.Context, m *pubsub.Message) {
	id := m.Attributes[queue.AttrJobID]
	if id == "" {
		var body struct {
			JobID string `json:"job_id"`
		}
		if json.Unmarshal(m.Data, &body) == nil {
			id = body.JobID
		}
	}
	if !job.ValidGeneratedID(id) {
		w.log.WarnContext(ctx, "dead letter without a job id", "message_id", m.ID)
		m.Ack()
		return
	}
	failed, err := w.store.FailIdle(ctx, id, job.Error{Code: "dead_lettered", Message: "The synthesis could not be completed."})
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		w.log.WarnContext(ctx, "could not fail dead-lettered job; will retry", "job_id", id, "error", err)
		m.Nack()
		return
	}
	w.log.InfoContext(ctx, "dead letter recorded", "job_id", id, "code", m.Attributes["chorus_error_code"], "failed_job", failed)
	m.Ack()
	if failed {
		w.announce.Job(ctx, id)
	}
}
