package store_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/chorus-voice/chorus/scripts/emulators"
	"github.com/chorus-voice/chorus/shared/job"
	"github.com/chorus-voice/chorus/shared/store"
)

const project = "demo-chorus-store"

func TestMain(m *testing.M) {
	os.Exit(emulators.RunTests(m, emulators.Options{ProjectID: project, Firestore: true}))
}

func open(t *testing.T) *store.Store {
	t.Helper()
	emulators.Require(t)
	s, err := store.Open(context.Background(), project, 7*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func newJob(t *testing.T, s *store.Store) *job.Job {
	t.Helper()
	c, err := s.CreateJobs(context.Background(), []*job.Job{job.New("m", "v", 0, "hi", 1, time.Now())})
	if err != nil {
		t.Fatal(err)
	}
	return c[0].Job
}

func TestClaimLeaseAndFinish(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	j := newJob(t, s)

	if _, o, err := s.Claim(ctx, j.ID, "w1", time.Minute); err != nil || o != store.Claimed {
		t.Fatalf("first claim: %v %v", o, err)
	}
	if _, o, err := s.Claim(ctx, j.ID, "w2", time.Minute); err != nil || o != store.Busy {
		t.Fatalf("claim under a live lease: %v %v", o, err)
	}
	if err := s.Succeed(ctx, j.ID, "w2", job.Output{Object: "x"}, "cpu"); !errors.Is(err, store.ErrLeaseLost) {
		t.Fatalf("non-owner succeeded: %v", err)
	}
	if err := s.Succeed(ctx, j.ID, "w1", job.Output{Object: j.ObjectName()}, "cpu"); err != nil {
		t.Fatal(err)
	}
	if err := s.Succeed(ctx, j.ID, "w1", job.Output{Object: "other"}, "cpu"); err != nil {
		t.Fatalf("second success must be a no-op: %v", err)
	}
	got, _ := s.GetJob(ctx, j.ID)
	if got.Status != job.Succeeded || got.Output.Object != j.ObjectName() || got.Attempts != 1 {
		t.Fatalf("job %+v", got)
	}
	if _, o, err := s.Claim(ctx, j.ID, "w3", time.Minute); err != nil || o != store.Finished {
		t.Fatalf("claim of a finished job: %v %v", o, err)
	}
	if err := s.Fail(ctx, j.ID, "", job.Error{Code: "x"}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetJob(ctx, j.ID); got.Status != job.Succeeded {
		t.Fatalf("a finished job changed: %s", got.Status)
	}
}

func TestExpiredLeaseIsReclaimedAndReleaseRequeues(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	j := newJob(t, s)
	if _, o, _ := s.Claim(ctx, j.ID, "crashed", time.Millisecond); o != store.Claimed {
		t.Fatal(o)
	}
	time.Sleep(10 * time.Millisecond)
	if _, o, err := s.Claim(ctx, j.ID, "w2", time.Minute); err != nil || o != store.Claimed {
		t.Fatalf("reclaim after lease expiry: %v %v", o, err)
	}
	if err := s.Release(ctx, j.ID, "w2", &job.Error{Code: "retrying"}); err != nil {
		t.Fatal(err)
	}
	got, _ := s.GetJob(ctx, j.ID)
	if got.Status != job.Queued || got.Attempts != 2 || got.Worker != "" {
		t.Fatalf("released job %+v", got)
	}
}

func TestConcurrentClaimsHaveOneWinner(t *testing.T) {
	s := open(t)
	j := newJob(t, s)
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for _, w := range []string{"a", "b", "c", "d"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, o, err := s.Claim(context.Background(), j.ID, w, time.Minute)
			if err != nil {
				t.Error(err)
				return
			}
			if o == store.Claimed {
				mu.Lock()
				wins++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("%d workers claimed the job", wins)
	}
}

func TestCreateJobsIdempotency(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	a := job.New("m", "v", 0, "hello", 1, time.Now())
	a.RequestID = "req-" + job.NewID()
	first, err := s.CreateJobs(ctx, []*job.Job{a})
	if err != nil || first[0].Existing {
		t.Fatal(err)
	}
	b := job.New("m", "v", 0, "hello", 1, time.Now())
	b.RequestID = a.RequestID
	second, err := s.CreateJobs(ctx, []*job.Job{b})
	if err != nil || !second[0].Existing || second[0].Job.ID != a.ID {
		t.Fatalf("replay: %+v %v", second, err)
	}
	c := job.New("m", "v", 0, "different", 1, time.Now())
	c.RequestID = a.RequestID
	var ce *store.ConflictError
	if _, err := s.CreateJobs(ctx, []*job.Job{c}); !errors.As(err, &ce) {
		t.Fatalf("conflict: %v", err)
	}
	// Duplicates inside one batch collapse to one job.
	d1, d2 := job.New("m", "v", 0, "x", 1, time.Now()), job.New("m", "v", 0, "x", 1, time.Now())
	d1.RequestID, d2.RequestID = "dup-"+job.NewID(), ""
	d2.RequestID = d1.RequestID
	got, err := s.CreateJobs(ctx, []*job.Job{d1, d2})
	if err != nil || got[0].Job.ID != got[1].Job.ID || !got[1].Existing {
		t.Fatalf("in-batch duplicate: %+v %v", got, err)
	}
	if _, err := s.GetJob(ctx, d2.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the duplicate's own job was written: %v", err)
	}
}

func TestUnavailableSeesThroughWrapping(t *testing.T) {
	down := status.Error(codes.Unavailable, "connection refused")
	if !store.Unavailable(fmt.Errorf("store: get job x: %w", fmt.Errorf("rpc: %w", down))) {
		t.Error("a wrapped Unavailable is not recognised")
	}
	if store.Unavailable(fmt.Errorf("x: %w", status.Error(codes.InvalidArgument, "bad"))) || store.Unavailable(store.ErrNotFound) {
		t.Error("a client error counts as unavailable")
	}
}

func TestFailIdleLeavesALeasedJobToItsHolder(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	leased, idle := newJob(t, s), newJob(t, s)
	if _, o, _ := s.Claim(ctx, leased.ID, "w1", time.Minute); o != store.Claimed {
		t.Fatal(o)
	}
	if failed, err := s.FailIdle(ctx, leased.ID, job.Error{Code: "dead_lettered"}); err != nil || failed {
		t.Fatalf("a job under a live lease was failed: %v %v", failed, err)
	}
	if err := s.Succeed(ctx, leased.ID, "w1", job.Output{Object: leased.ObjectName()}, "cpu"); err != nil {
		t.Fatalf("the holder could not finish: %v", err)
	}
	if failed, err := s.FailIdle(ctx, idle.ID, job.Error{Code: "dead_lettered"}); err != nil || !failed {
		t.Fatalf("a queued job was not failed: %v %v", failed, err)
	}
	if got, _ := s.GetJob(ctx, idle.ID); got.Status != job.Failed || got.Error.Code != "dead_lettered" {
		t.Fatalf("idle job %+v", got)
	}
}
