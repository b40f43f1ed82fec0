// Completion notices: which jobs and batches were announced.

package store

import (
	"context"
	"fmt"
	"time"

	"cloud.google.com/go/firestore"
	"github.com/chorus-voice/chorus/shared/job"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// MarkNotified records that a job's completion was published.
func (s *Store) MarkNotified(ctx context.Context, id string) error {
	_, err := s.fs.Collection(jobsCollection).Doc(id).Update(ctx, []firestore.Update{{Path: "notified", Value: true}})
	if notFound(err) {
		return fmt.Errorf("job %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("store: mark job %s notified: %w", id, err)
	}
	return nil
}

// Unnotified returns up to limit finished jobs whose completion was not
// published by before (the publisher failed, or died in between). Needs
// the composite index (status, notified, updated_at) Terraform creates.
func (s *Store) Unnotified(ctx context.Context, before time.Time, limit int) ([]*job.Job, error) {
	snaps, err := s.fs.Collection(jobsCollection).
		Where("status", "in", []string{string(job.Succeeded), string(job.Failed)}).
		Where("notified", "==", false).Where("updated_at", "<", before).
		OrderBy("updated_at", firestore.Asc).Limit(limit).Documents(ctx).GetAll()
	if err != nil {
		return nil, fmt.Errorf("store: unnotified jobs: %w", err)
	}
	out := make([]*job.Job, 0, len(snaps))
	for _, snap := range snaps {
		j, err := decodeJob(snap)
		if err != nil {
			return nil, err
		}
		out = append(out, j)
	}
	return out, nil
}

// ClaimBatchNotice makes the caller the one that announces a batch's end:
// true for exactly one caller (the notice document is created once).
func (s *Store) ClaimBatchNotice(ctx context.Context, batchID string) (bool, error) {
	now := s.now()
	_, err := s.fs.Collection(noticesCollection).Doc(batchID).Create(ctx, map[string]any{
		"created_at": now, "expire_at": now.Add(max(s.retention, time.Hour)),
	})
	if status.Code(err) == codes.AlreadyExists {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("store: claim batch notice %s: %w", batchID, err)
	}
	return true, nil
}

// ReleaseBatchNotice gives the claim back when the announcement could not
// be published, so that a later completion of the batch's jobs retries it.
func (s *Store) ReleaseBatchNotice(ctx context.Context, batchID string) error {
	if _, err := s.fs.Collection(noticesCollection).Doc(batchID).Delete(ctx); err != nil && !notFound(err) {
		return fmt.Errorf("store: release batch notice %s: %w", batchID, err)
	}
	return nil
}
