// The result cache: the audio an identical request produced.

package store

import (
	"context"
	"fmt"
	"time"

	"github.com/chorus-voice/chorus/shared/job"
)

// resultDoc is one cached result: the audio a request with this key (see
// job.ResultKey) produced. It expires (TTL) with its audio.
type resultDoc struct {
	JobID    string     `firestore:"job_id"`
	Output   job.Output `firestore:"output"`
	ExpireAt time.Time  `firestore:"expire_at"`
}

// LookupResult returns the audio an earlier job produced for key, when its
// object will still live a while (a tenth of the retention, at most an
// hour): a request answered from it must be able to fetch it. Only objects
// under names that are no capability (job.Shareable) answer: a result
// recorded under its job's id (before digest names) would hand that id to
// a stranger, so it is a miss.
func (s *Store) LookupResult(ctx context.Context, key string) (*job.Output, bool, error) {
	if s.retention <= 0 {
		return nil, false, errNoRetention
	}
	snap, err := s.fs.Collection(resultsCollection).Doc(key).Get(ctx)
	if notFound(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("store: read result: %w", err)
	}
	var rd resultDoc
	if err := snap.DataTo(&rd); err != nil {
		return nil, false, fmt.Errorf("store: decode result %s: %w", key, err)
	}
	if !job.Shareable(rd.Output.Object) || (rd.Output.CaptionsObject != "" && !job.Shareable(rd.Output.CaptionsObject)) {
		return nil, false, nil
	}
	margin := min(time.Hour, s.retention/10)
	if rd.Output.WrittenAt.IsZero() || !s.now().Before(rd.Output.WrittenAt.Add(s.retention-margin)) {
		return nil, false, nil
	}
	out := rd.Output
	return &out, true, nil
}

// RecordResult remembers the audio a job produced under its cache key. A
// later result replaces an earlier one (it lives longer).
func (s *Store) RecordResult(ctx context.Context, key, jobID string, out job.Output) error {
	if s.retention <= 0 {
		return errNoRetention
	}
	written := out.WrittenAt
	if written.IsZero() {
		return fmt.Errorf("store: result %s without the time its audio was written", key)
	}
	rd := resultDoc{JobID: jobID, Output: out, ExpireAt: written.Add(s.retention)}
	if _, err := s.fs.Collection(resultsCollection).Doc(key).Set(ctx, rd); err != nil {
		return fmt.Errorf("store: record result: %w", err)
	}
	return nil
}
