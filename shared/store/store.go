// Package store keeps members, voices and jobs in Firestore.
//
// Every state change of a job happens in a transaction that re-reads the
// document, so concurrent workers, redelivered messages and retried client
// requests cannot produce two results or lose a job.
package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"cloud.google.com/go/firestore"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Collection names.
const (
	membersCollection  = "members"
	voicesCollection   = "voices"
	jobsCollection     = "jobs"
	requestsCollection = "requests"
	resultsCollection  = "results"
	noticesCollection  = "batch_notices"
)

// ErrNotFound is returned when a document does not exist.
var ErrNotFound = errors.New("not found")

var errNoRetention = errors.New("store: opened without an audio retention, it cannot write jobs")

// Store is the Firestore-backed store. It is safe for concurrent use.
type Store struct {
	fs        *firestore.Client
	now       func() time.Time
	retention time.Duration
}

// New wraps a Firestore client. Job and request records expire (Firestore
// TTL on expire_at) retention after they were written, and a job's again
// retention after it ended: the records go with the audio
// (CHORUS_AUDIO_RETENTION). A store opened with retention 0 only manages
// voices and members (operator tools); it refuses to write jobs.
func New(client *firestore.Client, retention time.Duration) *Store {
	return &Store{fs: client, now: time.Now, retention: retention}
}

// Open connects to Firestore (or the emulator named by FIRESTORE_EMULATOR_HOST).
func Open(ctx context.Context, projectID string, retention time.Duration) (*Store, error) {
	c, err := firestore.NewClient(ctx, projectID)
	if err != nil {
		return nil, fmt.Errorf("store: connect to firestore: %w", err)
	}
	return New(c, retention), nil
}

// Close releases the client.
func (s *Store) Close() error { return s.fs.Close() }

// Unavailable reports whether err means Firestore could not be reached or
// did not answer in time, which the API answers with 503.
func Unavailable(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	// status.Code looks through wrapped errors.
	switch status.Code(err) {
	case codes.Unavailable, codes.DeadlineExceeded, codes.ResourceExhausted, codes.Aborted:
		return true
	}
	return false
}

func notFound(err error) bool { return status.Code(err) == codes.NotFound }
