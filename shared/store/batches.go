// Batches: one request of many jobs, idempotent as a whole when its items
// carry request ids.

package store

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"

	"cloud.google.com/go/firestore"

	"github.com/chorus-voice/chorus/shared/job"
)

// Batch is what CreateBatch made, or found made before.
type Batch struct {
	// ID is the batch's id: the one asked for, or the first submission's
	// when this one replays it.
	ID   string
	Jobs []Created
	// Replayed says the whole batch was made before (every job Existing).
	Replayed bool
	// replay names the replay record (nil: no item has a request id).
	replay *firestore.DocumentRef
}

// batchReplay is the record that maps an exact batch (the digest of its
// items) to the batch made for it and its jobs in item order. It lives
// beside the request keys and expires with them.
type batchReplay struct {
	ref   *firestore.DocumentRef
	id    string // the batch id of this submission
	count int
}

type batchReplayDoc struct {
	BatchID  string    `firestore:"batch_id"`
	JobIDs   []string  `firestore:"job_ids"`
	ExpireAt time.Time `firestore:"expire_at"`
}

// CreateBatch writes the jobs of one batch request (each with BatchID set
// to batchID) in one transaction. When an item carries a request_id the
// batch is idempotent as a whole: the same items again, in the same order,
// with the same request ids (an exact replay, e.g. a client's retry after
// a lost answer) return the first submission's batch id and jobs and write
// nothing. A request_id used before by any other request (a single
// synthesis, another batch, a batch that shares only some items) fails the
// call with *ConflictError. Items without a request_id in a batch without
// any are made anew every time.
func (s *Store) CreateBatch(ctx context.Context, batchID string, subs []*job.Job) (*Batch, error) {
	keyed := false
	for _, sub := range subs {
		if sub.BatchID != batchID {
			return nil, fmt.Errorf("store: batch %s: job %s belongs to batch %q", batchID, sub.ID, sub.BatchID)
		}
		keyed = keyed || sub.RequestID != ""
	}
	if !keyed {
		created, err := s.CreateJobs(ctx, subs)
		if err != nil {
			return nil, err
		}
		return &Batch{ID: batchID, Jobs: created}, nil
	}
	digest := batchDigest(subs)
	rec := &batchReplay{ref: s.fs.Collection(requestsCollection).Doc(requestKey("batch\x00" + digest)), id: batchID, count: len(subs)}
	// An item's key is bound to the whole batch, not to its fresh id: the
	// replay's items then match the first submission's keys.
	fp := func(j *job.Job) string { return fingerprintIn(j, digest) }
	created, err := s.createJobs(ctx, subs, fp, rec)
	if err != nil {
		return nil, err
	}
	b := &Batch{ID: batchID, Jobs: created, replay: rec.ref, Replayed: true}
	for _, c := range created {
		b.Replayed = b.Replayed && c.Existing
	}
	if b.Replayed && len(created) > 0 {
		b.ID = created[0].Job.BatchID
	}
	return b, nil
}

// AbandonBatch is AbandonJobs for jobs of b that could not be enqueued: it
// also forgets the batch's replay record, so that the client's retry makes
// the batch anew.
func (s *Store) AbandonBatch(ctx context.Context, b *Batch, jobs []*job.Job, jobErr job.Error) error {
	return s.abandonJobs(ctx, jobs, jobErr, b.replay)
}

// read returns the jobs of the batch this submission replays, or nil when
// it replays none (no record, or one whose jobs are not all there any
// more: then it is made anew).
func (r *batchReplay) read(ctx context.Context, tx *firestore.Transaction, jobs *firestore.CollectionRef) ([]Created, error) {
	snap, err := tx.Get(r.ref)
	if notFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read batch replay record: %w", err)
	}
	var doc batchReplayDoc
	if err := snap.DataTo(&doc); err != nil {
		return nil, fmt.Errorf("decode batch replay record: %w", err)
	}
	if len(doc.JobIDs) != r.count {
		return nil, nil
	}
	refs := make([]*firestore.DocumentRef, len(doc.JobIDs))
	for i, id := range doc.JobIDs {
		refs[i] = jobs.Doc(id)
	}
	snaps, err := tx.GetAll(refs)
	if err != nil {
		return nil, fmt.Errorf("read replayed batch's jobs: %w", err)
	}
	out := make([]Created, len(snaps))
	for i, snap := range snaps {
		if !snap.Exists() {
			return nil, nil // expired (TTL) before its record
		}
		j, err := decodeJob(snap)
		if err != nil {
			return nil, err
		}
		out[i] = Created{Job: j, Existing: true}
	}
	return out, nil
}

// write records the batch just made.
func (r *batchReplay) write(tx *firestore.Transaction, created []Created, expire time.Time) error {
	doc := batchReplayDoc{BatchID: r.id, JobIDs: make([]string, len(created)), ExpireAt: expire}
	for i, c := range created {
		doc.JobIDs[i] = c.Job.ID
	}
	if err := tx.Set(r.ref, doc); err != nil {
		return fmt.Errorf("record batch replay: %w", err)
	}
	return nil
}

// batchDigest identifies a batch request by everything its items ask for,
// in order: request ids, members, texts, speeds, formats and callback
// URLs. Fields are length-prefixed, so
// that no two batches share a digest by shifting bytes between fields.
func batchDigest(subs []*job.Job) string {
	h := sha256.New()
	field := func(s string) {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	field("chorus batch v1")
	field(strconv.Itoa(len(subs)))
	for _, j := range subs {
		field(j.RequestID)
		field(j.MemberID)
		field(j.Text)
		field(strconv.FormatFloat(j.Speed, 'g', -1, 64))
		field(j.AudioFormat())
		field(j.CallbackURL)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// fingerprintIn is the fingerprint of an item of the batch with this
// digest: what it asks for, and the batch it was asked in.
func fingerprintIn(j *job.Job, batchDigest string) string {
	c := *j
	c.BatchID = "batch:" + batchDigest
	return fingerprint(&c)
}
