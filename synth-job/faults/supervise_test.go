package faults_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chorus-voice/chorus/scripts/devstack/supervise"
	"github.com/chorus-voice/chorus/shared/job"
)

// The local stack heals: a worker run the way `make dev` runs it (under
// scripts/devstack/supervise) is killed with SIGKILL while jobs are still
// queued; the supervisor restarts it, and every job succeeds exactly once
// (one success record across the instances, one audio object).
func TestSupervisedWorkerRestartsAfterSIGKILL(t *testing.T) {
	w := newWorld(t)
	dir := t.TempDir()
	// Every instance appends to one log: assertSucceededOnce counts across them.
	workerLog, supLog := filepath.Join(dir, "worker.log"), filepath.Join(dir, "supervisor.log")
	lf, err := os.Create(workerLog)
	if err != nil {
		t.Fatal(err)
	}
	sf, err := os.Create(supLog)
	if err != nil {
		t.Fatal(err)
	}
	sup, err := supervise.Start(t.Context(), supervise.Options{
		Name: "worker",
		Command: func() *exec.Cmd {
			return w.workerCmd(dir, lf, "CHORUS_CONCURRENCY=1", "CHORUS_BATCH_SIZE=1")
		},
		Logger: slog.New(slog.NewJSONHandler(sf, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := sup.Stop(ctx); err != nil {
			t.Error(err)
		}
		lf.Close()
		sf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(supLog)
			t.Logf("supervisor log:\n%s\nworker log (tail):\n%s", b, logTail(workerLog))
		}
	})

	js := w.enqueue(member, 1, texts(6, 600)...)
	all := ids(js)
	first := sup.Pid()
	holds := func(workerID string) bool { return strings.Contains(workerID, fmt.Sprintf("-%d-", first)) }
	// Kill it mid-synthesis, once it has finished a job (its message stream
	// is then in steady state: see waitRunningUnder) and while others are
	// still queued.
	var queued int
	deadline := time.Now().Add(2 * time.Minute)
	for {
		finished, running := false, false
		queued = 0
		for _, j := range w.jobs(all) {
			finished = finished || j.Status == job.Succeeded
			running = running || (j.Status == job.Running && holds(j.Worker))
			if j.Status == job.Queued {
				queued++
			}
		}
		if finished && running && queued > 0 {
			break
		}
		if time.Now().After(deadline) || queued == 0 {
			t.Fatalf("worker %d never had a job running, one finished and one queued (queued %d)", first, queued)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := syscall.Kill(first, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	t.Logf("killed worker %d with %d job(s) queued", first, queued)

	for deadline := time.Now().Add(time.Minute); sup.Pid() == 0 || sup.Pid() == first; {
		if time.Now().After(deadline) {
			t.Fatalf("no new worker a minute after the kill (starts %d)", sup.Starts())
		}
		time.Sleep(50 * time.Millisecond)
	}
	done := w.waitJobs(all, 2*time.Minute, terminal)
	for id, j := range done {
		if j.Status != job.Succeeded {
			t.Errorf("job %s ended %s (%+v)", id, j.Status, j.Error)
		}
	}
	w.assertOneObjectPerJob(done)
	assertSucceededOnce(t, all, &workerProc{log: workerLog})
	if n := sup.Starts(); n != 2 {
		t.Errorf("the worker was started %d times, want 2 (one restart)", n)
	}
	b, _ := os.ReadFile(supLog)
	if !strings.Contains(string(b), `"msg":"process exited unexpectedly; restarting"`) || !strings.Contains(string(b), "signal: killed") {
		t.Errorf("supervisor log lacks the logged kill:\n%s", b)
	}
}
