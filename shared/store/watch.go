// Watching a job until it reaches a state, for the status long poll.

package store

import (
	"context"
	"fmt"

	"github.com/chorus-voice/chorus/shared/job"
)

// WaitJob returns the job with this id as soon as done holds for it,
// watching its document (a Firestore listener: one read, then one per
// change) instead of reading it again and again. When ctx ends first it
// returns the latest state it saw (nil if none) with ctx's error.
func (s *Store) WaitJob(ctx context.Context, id string, done func(*job.Job) bool) (*job.Job, error) {
	it := s.fs.Collection(jobsCollection).Doc(id).Snapshots(ctx)
	defer it.Stop()
	var last *job.Job
	for {
		snap, err := it.Next()
		if ctx.Err() != nil {
			return last, ctx.Err()
		}
		if err != nil {
			return last, fmt.Errorf("store: watch job %s: %w", id, err)
		}
		if !snap.Exists() {
			return nil, fmt.Errorf("job %s: %w", id, ErrNotFound)
		}
		j, err := decodeJob(snap)
		if err != nil {
			return last, err
		}
		last = j
		if done(j) {
			return j, nil
		}
	}
}
