package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"cloud.google.com/go/firestore"

	"github.com/chorus-voice/chorus/shared/job"
	"github.com/chorus-voice/chorus/shared/store"
)

func batchOf(id string, keys ...string) []*job.Job {
	out := make([]*job.Job, len(keys))
	for i, k := range keys {
		j := job.New("m", "v", 0, "line "+k, 1, time.Now())
		j.RequestID, j.BatchID = k, id
		if k == "" {
			j.Text = "a line without a key"
		}
		out[i] = j
	}
	return out
}

// An exact replay answers the first batch; once one of its jobs is gone
// (TTL), the replay makes the batch anew and its keys move to it instead
// of conflicting with themselves.
func TestBatchReplayAndExpiry(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	suffix := job.NewID()
	keys := []string{"a-" + suffix, "", "b-" + suffix}
	if _, err := s.CreateBatch(ctx, job.NewID(), batchOf(job.NewID(), keys...)); err == nil {
		t.Fatal("a batch whose jobs name another batch id was accepted")
	}
	id := job.NewID()
	first, err := s.CreateBatch(ctx, id, batchOf(id, keys...))
	if err != nil || first.Replayed || first.ID != id {
		t.Fatalf("first: %+v, %v", first, err)
	}
	other := job.NewID()
	again, err := s.CreateBatch(ctx, other, batchOf(other, keys...))
	if err != nil || !again.Replayed || again.ID != id {
		t.Fatalf("replay: %+v, %v; want the first batch %s", again, err, id)
	}
	for i := range keys {
		if again.Jobs[i].Job.ID != first.Jobs[i].Job.ID || !again.Jobs[i].Existing {
			t.Fatalf("replay item %d: job %s, want %s", i, again.Jobs[i].Job.ID, first.Jobs[i].Job.ID)
		}
	}
	// A batch sharing one key is another request.
	third := job.NewID()
	var ce *store.ConflictError
	if _, err := s.CreateBatch(ctx, third, batchOf(third, keys[0])); !errors.As(err, &ce) || ce.Index != 0 {
		t.Fatalf("a batch sharing one key: %v, want a conflict on item 0", err)
	}

	fs, err := firestore.NewClient(ctx, project)
	if err != nil {
		t.Fatal(err)
	}
	defer fs.Close()
	if _, err := fs.Collection("jobs").Doc(first.Jobs[1].Job.ID).Delete(ctx); err != nil {
		t.Fatal(err)
	}
	fourth := job.NewID()
	anew, err := s.CreateBatch(ctx, fourth, batchOf(fourth, keys...))
	if err != nil || anew.Replayed || anew.ID != fourth {
		t.Fatalf("replay after a job expired: %+v, %v; want the batch made anew", anew, err)
	}
	fifth := job.NewID()
	if b, err := s.CreateBatch(ctx, fifth, batchOf(fifth, keys...)); err != nil || !b.Replayed || b.ID != fourth {
		t.Fatalf("replay of the new batch: %+v, %v; want %s", b, err, fourth)
	}
}
