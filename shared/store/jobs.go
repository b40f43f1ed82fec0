// Jobs: creation with idempotency keys, claims under leases, and every
// state change in a transaction.

package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"

	"cloud.google.com/go/firestore"
	"cloud.google.com/go/firestore/apiv1/firestorepb"
	"github.com/chorus-voice/chorus/shared/job"
)

// fingerprint identifies what a request asked for, so that a reused
// request_id with a different body is refused instead of answered with
// someone else's job.
func fingerprint(j *job.Job) string {
	h := sha256.New()
	parts := []string{j.MemberID, j.Text, strconv.FormatFloat(j.Speed, 'g', -1, 64), j.BatchID}
	if f := j.AudioFormat(); f != job.FormatWAV { // WAV requests keep the fingerprints they had
		parts = append(parts, f)
	}
	for _, s := range parts {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// requestKey is the document id of an idempotency key (hashed: clients
// choose it, and Firestore ids must not contain '/').
func requestKey(requestID string) string {
	sum := sha256.Sum256([]byte(requestID))
	return hex.EncodeToString(sum[:])
}

type requestDoc struct {
	JobID       string    `firestore:"job_id"`
	Fingerprint string    `firestore:"fingerprint"`
	CreatedAt   time.Time `firestore:"created_at"`
	ExpireAt    time.Time `firestore:"expire_at"`
}

// ConflictError reports a request_id reused for a different request.
type ConflictError struct {
	Index     int
	RequestID string
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("request_id %q was already used for a different request", e.RequestID)
}

// Created is the outcome of one submission.
type Created struct {
	Job *job.Job
	// Existing is true when the request_id matched an earlier submission,
	// whose job is returned instead of a new one.
	Existing bool
}

// CreateJobs writes the jobs in one transaction. A submission whose
// request_id was seen before returns the earlier job (Existing) and writes
// nothing; one whose request_id was used for a different request fails the
// whole call with *ConflictError. Either all new jobs are written or none.
func (s *Store) CreateJobs(ctx context.Context, subs []*job.Job) ([]Created, error) {
	return s.createJobs(ctx, subs, fingerprint, nil)
}

// createJobs is CreateJobs with the fingerprint of each submission given,
// and, for a batch (batch non-nil), its replay record: read first, and
// written with the jobs.
func (s *Store) createJobs(ctx context.Context, subs []*job.Job, fingerprint func(*job.Job) string, batch *batchReplay) ([]Created, error) {
	if s.retention <= 0 {
		return nil, errNoRetention
	}
	if len(subs) == 0 {
		return nil, nil
	}
	jobs := s.fs.Collection(jobsCollection)
	reqs := s.fs.Collection(requestsCollection)
	var out []Created
	err := s.fs.RunTransaction(ctx, func(ctx context.Context, tx *firestore.Transaction) error {
		out = make([]Created, len(subs))
		if batch != nil {
			replayed, err := batch.read(ctx, tx, jobs)
			if err != nil || replayed != nil {
				out = replayed
				return err
			}
		}
		// Reads first (a Firestore transaction rule): the idempotency keys.
		var keyRefs []*firestore.DocumentRef
		var keyIdx []int
		seen := map[string]int{}
		for i, sub := range subs {
			if sub.RequestID == "" {
				continue
			}
			if first, dup := seen[sub.RequestID]; dup {
				if fingerprint(subs[first]) != fingerprint(sub) {
					return &ConflictError{Index: i, RequestID: sub.RequestID}
				}
				continue
			}
			seen[sub.RequestID] = i
			keyRefs = append(keyRefs, reqs.Doc(requestKey(sub.RequestID)))
			keyIdx = append(keyIdx, i)
		}
		existing := map[int]string{} // submission index → earlier job id
		if len(keyRefs) > 0 {
			snaps, err := tx.GetAll(keyRefs)
			if err != nil {
				return fmt.Errorf("read idempotency keys: %w", err)
			}
			for k, snap := range snaps {
				if !snap.Exists() {
					continue
				}
				var rd requestDoc
				if err := snap.DataTo(&rd); err != nil {
					return fmt.Errorf("decode idempotency key: %w", err)
				}
				i := keyIdx[k]
				if rd.Fingerprint != fingerprint(subs[i]) {
					return &ConflictError{Index: i, RequestID: subs[i].RequestID}
				}
				if batch != nil {
					// The key of an item of this very batch whose replay
					// record is gone (it, or one of its jobs, expired):
					// the batch is made anew and the key moves to it.
					continue
				}
				existing[i] = rd.JobID
			}
			var prevRefs []*firestore.DocumentRef
			var prevIdx []int
			for i, id := range existing {
				prevRefs = append(prevRefs, jobs.Doc(id))
				prevIdx = append(prevIdx, i)
			}
			if len(prevRefs) > 0 {
				snaps, err := tx.GetAll(prevRefs)
				if err != nil {
					return fmt.Errorf("read earlier jobs: %w", err)
				}
				for k, snap := range snaps {
					i := prevIdx[k]
					if !snap.Exists() {
						// The job expired (TTL) but its key did not yet: make a new one.
						delete(existing, i)
						continue
					}
					j, err := decodeJob(snap)
					if err != nil {
						return err
					}
					out[i] = Created{Job: j, Existing: true}
				}
			}
		}
		// Writes.
		now := s.now()
		for i, sub := range subs {
			if out[i].Job != nil {
				continue
			}
			if sub.RequestID != "" {
				if first := seen[sub.RequestID]; first != i {
					continue // filled below from the first occurrence
				}
			}
			sub.ExpireAt = now.Add(s.retention)
			if sub.Output != nil && !sub.Output.WrittenAt.IsZero() {
				sub.ExpireAt = sub.Output.WrittenAt.Add(s.retention) // a cached job goes with its audio
			}
			if err := tx.Create(jobs.Doc(sub.ID), sub); err != nil {
				return fmt.Errorf("create job %s: %w", sub.ID, err)
			}
			if sub.RequestID != "" {
				rd := requestDoc{JobID: sub.ID, Fingerprint: fingerprint(sub), CreatedAt: now, ExpireAt: now.Add(s.retention)}
				if err := tx.Set(reqs.Doc(requestKey(sub.RequestID)), rd); err != nil {
					return fmt.Errorf("record idempotency key: %w", err)
				}
			}
			out[i] = Created{Job: sub}
		}
		for i, sub := range subs {
			if out[i].Job == nil {
				first := seen[sub.RequestID]
				out[i] = Created{Job: out[first].Job, Existing: true}
			}
		}
		if batch != nil {
			return batch.write(tx, out, now.Add(s.retention))
		}
		return nil
	})
	if err != nil {
		var ce *ConflictError
		if errors.As(err, &ce) {
			return nil, ce
		}
		return nil, fmt.Errorf("store: create jobs: %w", err)
	}
	return out, nil
}

// AbandonJobs marks jobs that could not be enqueued as failed and forgets
// their idempotency keys, so that the client's retry with the same
// request_id creates a fresh job rather than returning a dead one.
func (s *Store) AbandonJobs(ctx context.Context, jobs []*job.Job, jobErr job.Error) error {
	return s.abandonJobs(ctx, jobs, jobErr, nil)
}

// abandonJobs is AbandonJobs that also forgets a batch's replay record
// (forget non-nil), in the same transaction.
func (s *Store) abandonJobs(ctx context.Context, jobs []*job.Job, jobErr job.Error, forget *firestore.DocumentRef) error {
	col := s.fs.Collection(jobsCollection)
	reqs := s.fs.Collection(requestsCollection)
	return s.fs.RunTransaction(ctx, func(ctx context.Context, tx *firestore.Transaction) error {
		refs := make([]*firestore.DocumentRef, len(jobs))
		for i, j := range jobs {
			refs[i] = col.Doc(j.ID)
		}
		snaps, err := tx.GetAll(refs)
		if err != nil {
			return fmt.Errorf("store: abandon jobs: %w", err)
		}
		now := s.now()
		for i, snap := range snaps {
			if !snap.Exists() {
				continue
			}
			j, err := decodeJob(snap)
			if err != nil {
				return err
			}
			if j.Status != job.Queued {
				continue // a worker got it after all
			}
			if err := j.Transition(job.Failed, now); err != nil {
				return err
			}
			e := jobErr
			j.Error, j.ExpireAt = &e, now.Add(s.retention)
			if err := tx.Set(refs[i], j); err != nil {
				return fmt.Errorf("store: abandon job %s: %w", j.ID, err)
			}
			if j.RequestID != "" {
				if err := tx.Delete(reqs.Doc(requestKey(j.RequestID))); err != nil {
					return fmt.Errorf("store: forget request key: %w", err)
				}
			}
		}
		if forget != nil {
			if err := tx.Delete(forget); err != nil {
				return fmt.Errorf("store: forget batch replay record: %w", err)
			}
		}
		return nil
	})
}

func decodeJob(snap *firestore.DocumentSnapshot) (*job.Job, error) {
	var j job.Job
	if err := snap.DataTo(&j); err != nil {
		return nil, fmt.Errorf("store: decode job %s: %w", snap.Ref.ID, err)
	}
	j.ID = snap.Ref.ID
	return &j, nil
}

// GetJob reads one job.
func (s *Store) GetJob(ctx context.Context, id string) (*job.Job, error) {
	snap, err := s.fs.Collection(jobsCollection).Doc(id).Get(ctx)
	if notFound(err) {
		return nil, fmt.Errorf("job %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: get job %s: %w", id, err)
	}
	return decodeJob(snap)
}

// BatchJobs returns the jobs of one batch in creation order.
func (s *Store) BatchJobs(ctx context.Context, batchID string, limit int) ([]*job.Job, error) {
	snaps, err := s.fs.Collection(jobsCollection).Where("batch_id", "==", batchID).Limit(limit).Documents(ctx).GetAll()
	if err != nil {
		return nil, fmt.Errorf("store: batch %s: %w", batchID, err)
	}
	out := make([]*job.Job, 0, len(snaps))
	for _, snap := range snaps {
		j, err := decodeJob(snap)
		if err != nil {
			return nil, err
		}
		out = append(out, j)
	}
	sort.SliceStable(out, func(i, k int) bool { return out[i].CreatedAt.Before(out[k].CreatedAt) })
	return out, nil
}

// BatchPending counts the jobs of a batch that have not finished (queued or
// running): a count query, so that a job's end can ask whether its batch
// ended without reading the batch. Needs the composite index (batch_id,
// status) that Terraform creates.
func (s *Store) BatchPending(ctx context.Context, batchID string) (int64, error) {
	q := s.fs.Collection(jobsCollection).Where("batch_id", "==", batchID).
		Where("status", "in", []string{string(job.Queued), string(job.Running)})
	res, err := q.NewAggregationQuery().WithCount("pending").Get(ctx)
	if err != nil {
		return 0, fmt.Errorf("store: pending jobs of batch %s: %w", batchID, err)
	}
	switch n := res["pending"].(type) {
	case *firestorepb.Value:
		return n.GetIntegerValue(), nil
	default:
		return 0, fmt.Errorf("store: pending jobs of batch %s: count is %T", batchID, res["pending"])
	}
}

// RequeueCandidates returns up to limit jobs that have been queued, untouched,
// since before the given time, and up to limit jobs still marked running
// whose lease lapsed before it (their worker died and their message did
// not come back). Needs the composite indexes (status, updated_at) and
// (status, lease_until) that Terraform creates.
func (s *Store) RequeueCandidates(ctx context.Context, before time.Time, limit int) ([]*job.Job, error) {
	var out []*job.Job
	for _, q := range []firestore.Query{
		s.fs.Collection(jobsCollection).Where("status", "==", string(job.Queued)).
			Where("updated_at", "<", before).OrderBy("updated_at", firestore.Asc).Limit(limit),
		s.fs.Collection(jobsCollection).Where("status", "==", string(job.Running)).
			Where("lease_until", "<", before).OrderBy("lease_until", firestore.Asc).Limit(limit),
	} {
		snaps, err := q.Documents(ctx).GetAll()
		if err != nil {
			return nil, fmt.Errorf("store: stale jobs: %w", err)
		}
		for _, snap := range snaps {
			j, err := decodeJob(snap)
			if err != nil {
				return nil, err
			}
			out = append(out, j)
		}
	}
	return out, nil
}

// Requeue prepares a stale job for a new message: a queued job is stamped
// as just handled (so the next sweep does not pick it again at once), a
// running job whose lease lapsed before the given time goes back to queued.
// It reports whether a message should be published.
func (s *Store) Requeue(ctx context.Context, id string, before time.Time) (bool, error) {
	publish := false
	err := s.update(ctx, id, func(j *job.Job, now time.Time) (bool, error) {
		publish = false
		switch {
		case j.Status == job.Queued:
		case j.Status == job.Running && j.LeaseUntil.Before(before):
			if err := j.Transition(job.Queued, now); err != nil {
				return false, err
			}
			j.Error = &job.Error{Code: "retrying", Message: "Retrying after a worker was lost."}
		default:
			return false, nil
		}
		j.UpdatedAt, publish = now, true
		return true, nil
	})
	return publish, err
}

// ClaimOutcome says what Claim found.
type ClaimOutcome int

const (
	// Claimed: the job is now running under the caller's lease.
	Claimed ClaimOutcome = iota
	// Finished: the job already succeeded or failed; nothing to do.
	Finished
	// Busy: another worker holds a live lease on it.
	Busy
)

func (o ClaimOutcome) String() string {
	switch o {
	case Claimed:
		return "claimed"
	case Finished:
		return "finished"
	case Busy:
		return "busy"
	}
	return "unknown"
}

// Claim moves a job to running under worker's lease, unless it is finished
// or a lease on it is still live.
func (s *Store) Claim(ctx context.Context, id, worker string, lease time.Duration) (*job.Job, ClaimOutcome, error) {
	var (
		out     *job.Job
		outcome ClaimOutcome
	)
	err := s.update(ctx, id, func(j *job.Job, now time.Time) (bool, error) {
		out = j
		switch {
		case j.Status.Terminal():
			outcome = Finished
			return false, nil
		case j.LeaseLive(now):
			// Held by another worker, or by another delivery of the same
			// message inside this one: either way, not ours to run twice.
			outcome = Busy
			return false, nil
		}
		if err := j.Transition(job.Running, now); err != nil {
			return false, err
		}
		j.Worker, j.LeaseUntil = worker, now.Add(lease)
		outcome = Claimed
		return true, nil
	})
	if err != nil {
		return nil, 0, err
	}
	return out, outcome, nil
}

// ErrLeaseLost means the job is no longer this worker's to change.
var ErrLeaseLost = errors.New("lease lost")

// owns reports whether worker may finish a running job: it holds the
// lease, or the lease lapsed and nobody else took the job.
func owns(j *job.Job, worker string, now time.Time) bool {
	return j.Status == job.Running && (j.Worker == worker || !j.LeaseLive(now))
}

// Renew extends worker's lease on a running job.
func (s *Store) Renew(ctx context.Context, id, worker string, lease time.Duration) error {
	return s.update(ctx, id, func(j *job.Job, now time.Time) (bool, error) {
		if !owns(j, worker, now) {
			return false, ErrLeaseLost
		}
		j.Worker, j.LeaseUntil = worker, now.Add(lease)
		return true, nil
	})
}

// Succeed records a job's audio. It is idempotent: a job that already
// succeeded is left as it is (its object name is deterministic, so the
// audio is the same).
func (s *Store) Succeed(ctx context.Context, id, worker string, out job.Output, provider string) error {
	return s.update(ctx, id, func(j *job.Job, now time.Time) (bool, error) {
		if j.Status == job.Succeeded {
			return false, nil
		}
		if !owns(j, worker, now) {
			return false, ErrLeaseLost
		}
		if err := j.Transition(job.Succeeded, now); err != nil {
			return false, err
		}
		o := out
		j.Output, j.Error, j.Provider = &o, nil, provider
		return true, nil
	})
}

// Fail ends a job with an error. With worker empty it fails a queued or
// running job whoever holds it (dead letters, enqueue failures); a job
// that already ended is left as it is.
func (s *Store) Fail(ctx context.Context, id, worker string, jobErr job.Error) error {
	return s.update(ctx, id, func(j *job.Job, now time.Time) (bool, error) {
		if j.Status.Terminal() {
			return false, nil
		}
		if worker != "" && !owns(j, worker, now) {
			return false, ErrLeaseLost
		}
		if err := j.Transition(job.Failed, now); err != nil {
			return false, err
		}
		e := jobErr
		j.Error = &e
		return true, nil
	})
}

// FailIdle fails a job that nobody is running: queued, or running under a
// lapsed lease. A job running under a live lease is left to its holder
// (reported as false), whose own delivery will finish it. The dead-letter
// sweep uses it: a duplicate delivery that was nacked into the dead-letter
// topic while the original ran must not fail a job about to succeed.
func (s *Store) FailIdle(ctx context.Context, id string, jobErr job.Error) (bool, error) {
	failed := false
	err := s.update(ctx, id, func(j *job.Job, now time.Time) (bool, error) {
		if j.Status.Terminal() || j.LeaseLive(now) {
			return false, nil
		}
		if err := j.Transition(job.Failed, now); err != nil {
			return false, err
		}
		e := jobErr
		j.Error, failed = &e, true
		return true, nil
	})
	return failed, err
}

// Release hands a running job back to the queue (retryable failure or
// shutdown), keeping its attempt count and last error.
func (s *Store) Release(ctx context.Context, id, worker string, lastErr *job.Error) error {
	return s.update(ctx, id, func(j *job.Job, now time.Time) (bool, error) {
		if j.Status != job.Running || j.Worker != worker {
			return false, nil
		}
		if err := j.Transition(job.Queued, now); err != nil {
			return false, err
		}
		j.Error = lastErr
		return true, nil
	})
}

// update runs fn on the job inside a transaction and writes it back when
// fn says so. fn may run more than once (transactions retry on contention).
func (s *Store) update(ctx context.Context, id string, fn func(j *job.Job, now time.Time) (bool, error)) error {
	ref := s.fs.Collection(jobsCollection).Doc(id)
	err := s.fs.RunTransaction(ctx, func(ctx context.Context, tx *firestore.Transaction) error {
		snap, err := tx.Get(ref)
		if notFound(err) {
			return fmt.Errorf("job %s: %w", id, ErrNotFound)
		}
		if err != nil {
			return err
		}
		j, err := decodeJob(snap)
		if err != nil {
			return err
		}
		now := s.now()
		write, err := fn(j, now)
		if err != nil || !write {
			return err
		}
		if j.Status.Terminal() {
			if s.retention <= 0 {
				return errNoRetention
			}
			j.ExpireAt = now.Add(s.retention)
		}
		return tx.Set(ref, j)
	})
	if err != nil {
		if errors.Is(err, ErrNotFound) || errors.Is(err, ErrLeaseLost) {
			return err
		}
		var te *job.TransitionError
		if errors.As(err, &te) {
			return err
		}
		return fmt.Errorf("store: update job %s: %w", id, err)
	}
	return nil
}
