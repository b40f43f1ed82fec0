package worker

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"cloud.google.com/go/pubsub/v2"

	"github.com/chorus-voice/chorus/shared/job"
	"github.com/chorus-voice/chorus/shared/message"
	"github.com/chorus-voice/chorus/shared/queue"
	"github.com/chorus-voice/chorus/shared/store"
)

// handle takes one message to an end: ack once the job reached a final
// state, nack when a retry may still succeed.
func (w *Worker) handle(ctx context.Context, b *batcher, m *pubsub.Message) {
	w.inflight.Add(1)
	defer w.inflight.Add(-1)
	defer w.touch()
	w.touch()

	msg, err := message.Decode(m.Data, w.cfg.MaxTextChars)
	if err != nil {
		// The attribute lets us fail the job even when the body is unreadable.
		id := m.Attributes[queue.AttrJobID]
		if !job.ValidGeneratedID(id) {
			id = ""
		}
		w.poison(ctx, m, id, &PermanentError{Code: "invalid_message", Message: "The request could not be read.", Err: err})
		return
	}
	j, err := w.resolve(ctx, msg)
	if err != nil {
		var pe *PermanentError
		if errors.As(err, &pe) {
			w.poison(ctx, m, msg.JobID, pe)
			return
		}
		w.log.Warn("could not resolve job; will retry", "job_id", msg.JobID, "error", err)
		m.Nack()
		return
	}
	log := w.log.With("job_id", j.ID, "attempt", attempt(m))

	claimed, outcome, err := w.store.Claim(ctx, j.ID, w.id, w.cfg.Lease)
	switch {
	case err != nil:
		log.Warn("claim failed; will retry", "error", err)
		m.Nack()
		return
	case outcome == store.Finished:
		log.Info("job already finished; acknowledging duplicate", "status", claimed.Status)
		m.Ack()
		w.processed.Add(1)
		return
	case outcome == store.Busy:
		// Another worker holds a live lease (a duplicate delivery). Nack,
		// never ack: if that worker dies, this message must come back.
		log.Info("job running elsewhere; nacking duplicate", "holder", claimed.Worker)
		m.Nack()
		return
	}

	res := b.submit(ctx, claimed)
	var pe *PermanentError
	switch {
	case res.err == nil:
		m.Ack()
		w.processed.Add(1)
		log.Info("job succeeded", "voice_id", claimed.VoiceID, "audio_seconds", res.out.DurationSeconds,
			"bytes", res.out.Bytes, "synth_ms", res.elapsed.Milliseconds())
	case errors.As(res.err, &pe):
		w.poison(ctx, m, claimed.ID, pe)
	default:
		w.retry(ctx, m, claimed, res.err)
	}
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
		log.Error("last delivery attempt failed", "error", cause)
		w.poison(sctx, m, j.ID, &PermanentError{Code: "retries_exhausted",
			Message: "The synthesis kept failing; please try again later.", Err: cause})
		return
	}
	log.Warn("synthesis failed; handing job back for retry", "error", cause)
	if err := w.store.Release(sctx, j.ID, w.id, &job.Error{Code: "retrying", Message: "Retrying after a temporary failure."}); err != nil {
		log.Error("could not release job (its lease will lapse)", "error", err)
	}
	m.Nack()
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
	j := job.New(mem.ID, mem.VoiceID, mem.SpeakerID, msg.Text, msg.EffectiveSpeed(), time.Now())
	j.RequestID, j.BatchID = msg.RequestID, msg.BatchID
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
		w.log.Warn("dead letter without a job id", "message_id", m.ID)
		m.Ack()
		return
	}
	failed, err := w.store.FailIdle(ctx, id, job.Error{Code: "dead_lettered", Message: "The synthesis could not be completed."})
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		w.log.Warn("could not fail dead-lettered job; will retry", "job_id", id, "error", err)
		m.Nack()
		return
	}
	w.log.Info("dead letter recorded", "job_id", id, "code", m.Attributes["chorus_error_code"], "failed_job", failed)
	m.Ack()
}
