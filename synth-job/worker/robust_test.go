package worker_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chorus-voice/chorus/shared/job"
	"github.com/chorus-voice/chorus/shared/message"
	"github.com/chorus-voice/chorus/shared/queue"
	"github.com/chorus-voice/chorus/shared/store"
	"github.com/chorus-voice/chorus/synth-job/worker"
)

// recordingSynth wraps a Synth: it records which jobs each call held,
// fails the first failFirst calls with a transient error, and panics (as a
// crashing engine would) on any item whose text holds "CRASH".
type recordingSynth struct {
	worker.Synth
	mu        sync.Mutex
	calls     [][]string
	failFirst int
}

func (s *recordingSynth) Synthesize(ctx context.Context, v *store.Voice, items []worker.Item) ([]worker.Audio, error) {
	s.mu.Lock()
	ids := make([]string, len(items))
	for i, it := range items {
		ids[i] = it.JobID
	}
	s.calls = append(s.calls, ids)
	fail := len(s.calls) <= s.failFirst
	s.mu.Unlock()
	if fail {
		return nil, fmt.Errorf("transient: GPU busy")
	}
	for _, it := range items {
		if strings.Contains(it.Text, "CRASH") {
			panic(fmt.Sprintf("engine bug on %q", it.Text)) // a panic value that quotes the fan's text
		}
	}
	return s.Synth.Synthesize(ctx, v, items)
}

// syncBuffer is a bytes.Buffer safe for concurrent writes (a log sink).
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// startLogged runs a worker that logs JSON into the returned buffer.
func (w *world) startLogged() *syncBuffer {
	logs := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	wk := worker.New(worker.Deps{Config: w.cfg, Store: w.st, PubSub: w.ps, Audio: w.gcs.Bucket(w.cfg.AudioBucket), Synth: w.synth,
		Logger: slog.New(slog.NewJSONHandler(logs, nil))})
	done := make(chan error, 1)
	go func() { done <- wk.Run(ctx, worker.Serve) }()
	w.t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			w.t.Error("worker did not stop within 30 s of cancel")
		}
	})
	return logs
}

// Issue 15 item 6. A Go panic in a batch ends that batch, not the worker:
// the jobs that shared it are handed back and run alone, the job that
// panics fails with synthesis_crashed on its own, and the worker goes on
// (a job after it succeeds). The panic's value, which quotes the text,
// stays out of the logs.
func TestPanicInABatchFailsOnlyItsJob(t *testing.T) {
	w := newWorld(t)
	w.cfg.BatchWait = 500 * time.Millisecond // the three arrive in one batch
	rec := &recordingSynth{Synth: w.synth}
	w.synth = rec
	crash := w.enqueue("aria", "Hello CRASH now.", 1)
	one := w.enqueue("juno", "Innocent one.", 1)
	two := w.enqueue("sol", "Innocent two.", 1)
	logs := w.startLogged()

	if got := w.waitFinal(crash.ID, 60*time.Second); got.Status != job.Failed || got.Error == nil || got.Error.Code != "synthesis_crashed" {
		t.Fatalf("crashing job: %s %+v", got.Status, got.Error)
	}
	for _, j := range []*job.Job{one, two} {
		if got := w.waitFinal(j.ID, 60*time.Second); got.Status != job.Succeeded {
			t.Errorf("job beside the crash: %s %+v", got.Status, got.Error)
		}
	}
	after := w.enqueue("mika", "Still alive.", 1)
	if got := w.waitFinal(after.ID, 30*time.Second); got.Status != job.Succeeded {
		t.Fatalf("job after the crash: %s %+v", got.Status, got.Error)
	}
	if strings.Contains(logs.String(), "CRASH") {
		t.Error("the fan's text reached the logs")
	}
	if !strings.Contains(logs.String(), "panic in a batch") {
		t.Error("the panic was not logged")
	}
}

// Issue 15 item 6. A redelivered message runs in a batch of its own: two
// jobs whose first batch failed come back on their second delivery, at
// the same time, and each runs alone.
func TestRedeliveredMessageRunsAlone(t *testing.T) {
	w := newWorld(t)
	w.cfg.BatchWait = 500 * time.Millisecond // long enough to batch the two redeliveries together, were they batched
	rec := &recordingSynth{Synth: w.synth, failFirst: 1}
	w.synth = rec
	a := w.enqueue("aria", "First of two.", 1)
	b := w.enqueue("juno", "Second of two.", 1)
	w.start(worker.Serve)
	for _, j := range []*job.Job{a, b} {
		if got := w.waitFinal(j.ID, 60*time.Second); got.Status != job.Succeeded || got.Attempts < 2 {
			t.Fatalf("job %s: %s after %d attempts %+v", j.ID, got.Status, got.Attempts, got.Error)
		}
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	seen := map[string]int{}
	for _, ids := range rec.calls {
		for _, id := range ids {
			if seen[id]++; seen[id] > 1 && len(ids) > 1 {
				t.Errorf("redelivered job %s ran in a batch of %d: calls %v", id, len(ids), rec.calls)
			}
		}
	}
}

// Issue 15 item 7. A message whose body cannot be read, but whose
// attribute names a job another worker is running, leaves that job alone
// (it is dead-lettered all the same); the same message for a job nobody
// runs fails that job.
func TestUnreadableMessageCannotFailALiveJob(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	m, err := w.st.GetMember(ctx, "aria")
	if err != nil {
		t.Fatal(err)
	}
	live := job.New(m.ID, m.VoiceID, m.SpeakerID, "Another worker is speaking me.", 1, time.Now())
	idle := job.New(m.ID, m.VoiceID, m.SpeakerID, "Nobody runs me.", 1, time.Now())
	if _, err := w.st.CreateJobs(ctx, []*job.Job{live, idle}); err != nil {
		t.Fatal(err)
	}
	if _, o, err := w.st.Claim(ctx, live.ID, "another-worker", 10*time.Minute); err != nil || o != store.Claimed {
		t.Fatal(o, err)
	}
	w.start(worker.Serve)
	for _, id := range []string{live.ID, idle.ID} {
		w.publishRaw([]byte(`{"v":1,"job_id":`), map[string]string{queue.AttrJobID: id})
	}
	if letters := w.deadLetters(2, 30*time.Second); len(letters) != 2 {
		t.Fatalf("%d dead letters, want both unreadable messages", len(letters))
	}
	if got := w.waitFinal(idle.ID, 30*time.Second); got.Status != job.Failed || got.Error.Code != "invalid_message" {
		t.Errorf("idle job: %s %+v", got.Status, got.Error)
	}
	got, err := w.st.GetJob(ctx, live.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != job.Running || got.Worker != "another-worker" {
		t.Fatalf("a malformed message changed another worker's live job: %s by %q, error %+v", got.Status, got.Worker, got.Error)
	}
}

// Issue 15 item 7. A producer's message straight to the topic cannot add a
// job to a batch the API made (it is dead-lettered with batch_id_conflict);
// producers' own batches still take every message that names them.
func TestDirectMessageCannotJoinAnotherBatch(t *testing.T) {
	w := newWorld(t)
	w.start(worker.Serve)
	ctx := context.Background()
	apiBatch := job.NewID()
	fan := w.enqueueWith("aria", "A fan's line.", func(j *job.Job) { j.BatchID = apiBatch })
	w.waitFinal(fan.ID, 30*time.Second)

	w.publish(&message.SynthesisRequest{V: message.Version, MemberID: "juno", Text: "Let me in.", RequestID: "intruder-" + job.NewID(), BatchID: apiBatch})
	letters := w.deadLetters(1, 30*time.Second)
	if len(letters) != 1 || letters[0].Attributes["chorus_error_code"] != "batch_id_conflict" {
		t.Fatalf("dead letters %d: %v", len(letters), letters)
	}
	if jobs, err := w.st.BatchJobs(ctx, apiBatch, 10); err != nil || len(jobs) != 1 || jobs[0].ID != fan.ID {
		t.Fatalf("the API's batch now holds %d jobs (%v)", len(jobs), err)
	}

	own := "nightly-" + job.NewID()
	for i := range 2 {
		w.publish(&message.SynthesisRequest{V: message.Version, MemberID: "sol", Text: fmt.Sprintf("Line %d.", i),
			RequestID: fmt.Sprintf("%s-%d", own, i), BatchID: own})
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		jobs, err := w.st.BatchJobs(ctx, own, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(jobs) == 2 && jobs[0].Status.Terminal() && jobs[1].Status.Terminal() {
			if jobs[0].Status != job.Succeeded || jobs[1].Status != job.Succeeded || !jobs[0].Producer {
				t.Fatalf("the producer's batch: %+v %+v", jobs[0], jobs[1])
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the producer's batch holds %d jobs", len(jobs))
		}
		time.Sleep(100 * time.Millisecond)
	}
}
