package faults_test

import (
	"context"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chorus-voice/chorus/shared/job"
	"github.com/chorus-voice/chorus/shared/queue"
)

// waitRunningUnder polls until p has finished at least one of the jobs and
// another is running under its lease: p is then mid-synthesis with its
// message stream in steady state. (Killed within the first fraction of a
// second of its first stream, a worker has been seen to leave a stream the
// Pub/Sub emulator keeps serving, starving the other workers.)
func (w *world) waitRunningUnder(p *workerProc, ids []string, timeout time.Duration) {
	w.t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		finished, running := false, false
		for _, id := range ids {
			j, err := w.st.GetJob(context.Background(), id)
			if err != nil {
				w.t.Fatal(err)
			}
			finished = finished || j.Status == job.Succeeded
			running = running || (j.Status == job.Running && p.holds(j.Worker))
		}
		if finished && running {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	w.t.Fatalf("worker %d did not finish one job and run another within %s", p.pid(), timeout)
}

// A worker killed with SIGKILL in the middle of a synthesis records
// nothing; its message comes back after the ack deadline, its lease lapses,
// and another worker finishes the job: every job succeeds once, with one
// object each.
func TestSIGKILLMidSynthesisRedeliversAndSucceedsOnce(t *testing.T) {
	w := newWorld(t)
	a := w.startWorker("CHORUS_CONCURRENCY=1", "CHORUS_BATCH_SIZE=1")
	js := w.enqueue(member, 1, texts(8, 900)...)
	all := ids(js)
	w.waitRunningUnder(a, all, time.Minute)
	if err := a.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = a.wait(t, 10*time.Second)

	var interrupted []string
	for id, j := range w.jobs(all) {
		if j.Status == job.Running && a.holds(j.Worker) {
			interrupted = append(interrupted, id)
		}
	}
	if len(interrupted) == 0 {
		t.Fatal("the kill interrupted no job: nothing was left running under the dead worker")
	}
	t.Logf("killed worker %d with %d job(s) in flight", a.pid(), len(interrupted))

	b := w.startWorker()
	done := w.waitJobs(all, 2*time.Minute, terminal)
	for id, j := range done {
		if j.Status != job.Succeeded {
			t.Errorf("job %s ended %s (%+v)", id, j.Status, j.Error)
		}
	}
	for _, id := range interrupted {
		j := done[id]
		if j.Attempts < 2 || !b.holdsFinished(id) {
			t.Errorf("interrupted job %s: attempts %d, finished by the second worker: %v", id, j.Attempts, b.holdsFinished(id))
		}
	}
	w.assertOneObjectPerJob(done)
	assertSucceededOnce(t, all, a, b)
}

// holdsFinished reports whether this worker logged the job's success.
func (p *workerProc) holdsFinished(jobID string) bool {
	return len(p.logLines(`"job succeeded"`, jobID)) > 0
}

// assertSucceededOnce checks that, across all workers, each job's success
// was recorded and acknowledged exactly once.
// A worker logs a success after the Firestore write, so the lines may
// trail the job's status by a moment: wait until each job has one.
func assertSucceededOnce(t *testing.T, ids []string, workers ...*workerProc) {
	t.Helper()
	count := func(id string) int {
		n := 0
		for _, p := range workers {
			n += len(p.logLines(`"job succeeded"`, id))
		}
		return n
	}
	deadline := time.Now().Add(30 * time.Second)
	for _, id := range ids {
		for count(id) == 0 && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
		}
	}
	for _, id := range ids {
		if n := count(id); n != 1 {
			t.Errorf("job %s: %d success records across workers, want 1", id, n)
		}
	}
}

// SIGTERM stops pulling; in-flight work either finishes within the
// shutdown grace or is handed back (job queued again, message nacked). The
// worker exits 0, leaves no job running under its name, and a second worker
// completes everything.
func TestSIGTERMFinishesOrHandsBackInFlightWork(t *testing.T) {
	w := newWorld(t)
	a := w.startWorker("CHORUS_CONCURRENCY=2", "CHORUS_BATCH_SIZE=2", "CHORUS_SHUTDOWN_GRACE=3s")
	js := w.enqueue(member, 1, texts(16, 900)...)
	all := ids(js)
	w.waitRunningUnder(a, all, time.Minute)
	if err := a.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := a.wait(t, 30*time.Second); err != nil {
		t.Fatalf("worker exit after SIGTERM: %v", err)
	}
	finished := 0
	for id, j := range w.jobs(all) {
		switch {
		case j.Status == job.Running:
			t.Errorf("job %s left running under %s after a graceful stop", id, j.Worker)
		case j.Status == job.Failed:
			t.Errorf("job %s failed during shutdown: %+v", id, j.Error)
		case j.Status == job.Succeeded:
			finished++
		}
	}
	if lines := a.logLines("shutting down"); len(lines) == 0 {
		t.Error("the worker did not log its shutdown")
	}
	t.Logf("%d of %d jobs finished before the worker stopped", finished, len(all))

	b := w.startWorker()
	done := w.waitJobs(all, 2*time.Minute, terminal)
	for id, j := range done {
		if j.Status != job.Succeeded {
			t.Errorf("job %s ended %s (%+v)", id, j.Status, j.Error)
		}
	}
	w.assertOneObjectPerJob(done)
	assertSucceededOnce(t, all, a, b)
}

// Every message published twice and two workers pulling at once: Pub/Sub
// hands the copies to both, the Firestore claim lets one run the job, and
// each job has one result and one object.
func TestDuplicateDeliveryToTwoWorkersGivesOneResult(t *testing.T) {
	w := newWorld(t)
	a := w.startWorker("CHORUS_BATCH_WAIT=100ms")
	b := w.startWorker("CHORUS_BATCH_WAIT=100ms")
	js := w.enqueue(member, 2, texts(10, 200)...)
	all := ids(js)
	done := w.waitJobs(all, 2*time.Minute, terminal)
	for id, j := range done {
		if j.Status != job.Succeeded {
			t.Errorf("job %s ended %s (%+v)", id, j.Status, j.Error)
		}
	}
	w.assertOneObjectPerJob(done)
	assertSucceededOnce(t, all, a, b)
	// Both copies of every message were consumed: a duplicate is acked
	// once it finds its job finished, so the subscription drains.
	deadline := time.Now().Add(time.Minute)
	for {
		n := len(a.logLines("acknowledging duplicate")) + len(b.logLines("acknowledging duplicate"))
		if n >= len(all) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d duplicates acknowledged, want %d", n, len(all))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// Poison messages fail their job with a precise code, land on the
// dead-letter topic at once, and the worker keeps serving.
func TestPoisonMessagesFailPreciselyAndWorkerKeepsGoing(t *testing.T) {
	w := newWorld(t)
	a := w.startWorker()

	// Malformed JSON, about a real job (the attribute names it).
	malformed := w.createQueued(member, "malformed body")
	w.publishRaw([]byte(`{"v":1,"job_id":`), map[string]string{queue.AttrJobID: malformed.ID})
	// A member whose voice is not registered.
	ghost := w.enqueue(ghostMember, 1, "Nobody can say this.")[0]
	// Text the voice cannot say: punctuation only.
	mute := w.enqueue(member, 1, "?! … — !!")[0]
	// A message without a job for a member that does not exist.
	w.publishRaw([]byte(`{"v":1,"member_id":"nobody","text":"hi","request_id":"poison-1"}`), nil)

	want := map[string]string{malformed.ID: "invalid_message", ghost.ID: "voice_not_found", mute.ID: "text_unsupported"}
	var pids []string
	for id := range want {
		pids = append(pids, id)
	}
	got := w.waitJobs(pids, time.Minute, terminal)
	for id, code := range want {
		j := got[id]
		if j.Status != job.Failed || j.Error == nil || j.Error.Code != code || j.Error.Message == "" {
			t.Errorf("job %s: %s %+v, want failed with %s", id, j.Status, j.Error, code)
		}
		if j.Error != nil && strings.ContainsAny(j.Error.Message, "{}%") {
			t.Errorf("job %s: error message leaks internals: %q", id, j.Error.Message)
		}
	}

	letters := w.pullAll(w.dlqKeep, 4, 30*time.Second)
	codes := map[string]string{}
	for _, m := range letters {
		codes[m.Attributes[queue.AttrJobID]] = m.Attributes["chorus_error_code"]
	}
	for id, code := range want {
		if codes[id] != code {
			t.Errorf("dead letter for job %s: code %q, want %q (letters %v)", id, codes[id], code, codes)
		}
	}
	if codes[""] != "member_not_found" {
		t.Errorf("dead letter for the jobless message: %q (letters %v)", codes[""], codes)
	}
	if len(letters) != 4 {
		t.Errorf("%d dead letters, want 4", len(letters))
	}

	// The worker is still alive and still serving.
	good := w.enqueue(member, 1, "Still here, still singing.")
	done := w.waitJobs(ids(good), time.Minute, terminal)
	if j := done[good[0].ID]; j.Status != job.Succeeded {
		t.Fatalf("job after the poison messages: %s %+v", j.Status, j.Error)
	}
	select {
	case <-a.done:
		t.Fatalf("the worker exited: %v", a.err)
	default:
	}
	// No poison message was retried: each ended on its first claim.
	for id, j := range got {
		if j.Attempts > 1 {
			t.Errorf("poison job %s was attempted %d times", id, j.Attempts)
		}
	}
}

// createQueued writes a queued job without publishing it.
func (w *world) createQueued(memberID, text string) *job.Job {
	w.t.Helper()
	m, err := w.st.GetMember(context.Background(), memberID)
	if err != nil {
		w.t.Fatal(err)
	}
	j := job.New(m.ID, m.VoiceID, m.SpeakerID, text, 1, time.Now())
	if _, err := w.st.CreateJobs(context.Background(), []*job.Job{j}); err != nil {
		w.t.Fatal(err)
	}
	return j
}
