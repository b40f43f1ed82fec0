package supervise

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"
)

// helperEnv makes the test binary act as the supervised child instead of
// running tests: "sleep" runs until killed, "exit3" exits with status 3,
// "ignore-term" runs until killed and ignores SIGTERM, "run-200ms" exits
// with status 1 after 200 ms.
const helperEnv = "CHORUS_SUPERVISE_TEST_HELPER"

func TestMain(m *testing.M) {
	switch os.Getenv(helperEnv) {
	case "":
		os.Exit(m.Run())
	case "sleep":
		time.Sleep(time.Hour)
	case "exit3":
		os.Exit(3)
	case "ignore-term":
		signal.Ignore(syscall.SIGTERM)
		fmt.Println("ignoring SIGTERM")
		time.Sleep(time.Hour)
	case "run-200ms":
		time.Sleep(200 * time.Millisecond)
		os.Exit(1)
	}
	os.Exit(2)
}

// helper returns a Command that runs the test binary in mode.
func helper(t *testing.T, mode string) func() *exec.Cmd {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return func() *exec.Cmd {
		cmd := exec.Command(exe, "-test.run=^$")
		cmd.Env = append(os.Environ(), helperEnv+"="+mode)
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		return cmd
	}
}

// logRecorder collects the JSON log records of a supervisor.
type logRecorder struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (r *logRecorder) Write(b []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.buf.Write(b)
}

// records returns the records whose msg is msg.
func (r *logRecorder) records(t *testing.T, msg string) []map[string]any {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []map[string]any
	for _, line := range bytes.Split(r.buf.Bytes(), []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal(line, &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if rec["msg"] == msg {
			out = append(out, rec)
		}
	}
	return out
}

func (r *logRecorder) logger() *slog.Logger { return slog.New(slog.NewJSONHandler(r, nil)) }

// eventually polls cond until it holds or a minute passes (a liveness
// bound, not a speed assertion).
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after a minute: %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func gone(pid int) bool { return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) }

func stop(t *testing.T, p *Process) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if err := p.Stop(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestKilledProcessIsRestarted(t *testing.T) {
	var logs logRecorder
	p, err := Start(t.Context(), Options{Name: "worker-1", Command: helper(t, "sleep"), MinBackoff: 10 * time.Millisecond, Logger: logs.logger()})
	if err != nil {
		t.Fatal(err)
	}
	first := p.Pid()
	if first == 0 || p.Starts() != 1 {
		t.Fatalf("after Start: pid %d, starts %d", first, p.Starts())
	}
	if err := syscall.Kill(first, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a second instance", func() bool { return p.Pid() != 0 && p.Pid() != first })
	second := p.Pid()
	if !gone(first) {
		t.Errorf("killed instance %d still exists (not reaped)", first)
	}
	exits := logs.records(t, "process exited unexpectedly; restarting")
	if len(exits) != 1 || exits[0]["exit"] != "signal: killed" || exits[0]["process"] != "worker-1" ||
		exits[0]["pid"] != float64(first) || exits[0]["level"] != "ERROR" {
		t.Errorf("exit records %v, want one ERROR record of worker-1 pid %d killed", exits, first)
	}

	stop(t, p)
	if !gone(second) {
		t.Errorf("instance %d left behind by Stop", second)
	}
	select {
	case <-p.Done():
	default:
		t.Error("Done not closed after Stop")
	}
	if p.Pid() != 0 || p.Starts() != 2 {
		t.Errorf("after Stop: pid %d, starts %d; want 0 and 2", p.Pid(), p.Starts())
	}
	stop(t, p) // idempotent
}

// TestBackoffDoublesAndResets reads the delays the supervisor logs: quick
// exits double it up to the maximum, runs longer than ResetAfter reset it.
func TestBackoffDoublesAndResets(t *testing.T) {
	delays := func(mode string, resetAfter time.Duration, n int) []float64 {
		var logs logRecorder
		p, err := Start(t.Context(), Options{Name: mode, Command: helper(t, mode), MinBackoff: 20 * time.Millisecond,
			MaxBackoff: 80 * time.Millisecond, ResetAfter: resetAfter, Logger: logs.logger()})
		if err != nil {
			t.Fatal(err)
		}
		eventually(t, fmt.Sprintf("%d restarts", n), func() bool { return p.Starts() > n })
		stop(t, p)
		var out []float64
		for _, r := range logs.records(t, "process exited unexpectedly; restarting")[:n] {
			out = append(out, r["restart_in_ms"].(float64))
		}
		return out
	}
	if got, want := delays("exit3", time.Hour, 5), []float64{20, 40, 80, 80, 80}; !slices.Equal(got, want) {
		t.Errorf("quick exits: delays %v ms, want %v", got, want)
	}
	if got, want := delays("run-200ms", 100*time.Millisecond, 3), []float64{20, 20, 20}; !slices.Equal(got, want) {
		t.Errorf("runs past ResetAfter: delays %v ms, want %v", got, want)
	}
}

func TestStopDuringBackoffStartsNothing(t *testing.T) {
	var logs logRecorder
	p, err := Start(t.Context(), Options{Name: "w", Command: helper(t, "exit3"), MinBackoff: time.Hour, Logger: logs.logger()})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "the exit to be seen", func() bool { return len(logs.records(t, "process exited unexpectedly; restarting")) == 1 })
	stop(t, p) // returns at once, not after the hour
	if p.Starts() != 1 {
		t.Fatalf("starts %d after Stop, want 1", p.Starts())
	}
}

func TestStopKillsAProcessThatIgnoresSIGTERM(t *testing.T) {
	var logs logRecorder
	cmd := helper(t, "ignore-term")
	ready := make(chan struct{})
	p, err := Start(t.Context(), Options{Name: "stubborn", StopGrace: 200 * time.Millisecond, Logger: logs.logger(),
		Command: func() *exec.Cmd {
			c := cmd()
			c.Stdout = writerFunc(func(b []byte) (int, error) {
				if bytes.Contains(b, []byte("ignoring")) {
					close(ready)
				}
				return len(b), nil
			})
			return c
		}})
	if err != nil {
		t.Fatal(err)
	}
	<-ready
	pid := p.Pid()
	stop(t, p)
	if !gone(pid) {
		t.Fatalf("process %d survives Stop", pid)
	}
	if len(logs.records(t, "process did not stop in time; killing")) != 1 {
		t.Error("no record of the SIGKILL")
	}
	if n := len(logs.records(t, "process exited unexpectedly; restarting")); n != 0 {
		t.Errorf("%d restarts logged during shutdown", n)
	}
	if p.Starts() != 1 {
		t.Errorf("starts %d, want 1", p.Starts())
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }

// TestNoRestartAfterContextEnds: an exit after Start's context ended (an
// interrupt that reached the child too) is a shutdown, not a crash.
func TestNoRestartAfterContextEnds(t *testing.T) {
	var logs logRecorder
	ctx, cancel := context.WithCancel(t.Context())
	p, err := Start(ctx, Options{Name: "w", Command: helper(t, "sleep"), MinBackoff: 10 * time.Millisecond, Logger: logs.logger()})
	if err != nil {
		t.Fatal(err)
	}
	pid := p.Pid()
	cancel()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.Done():
	case <-time.After(time.Minute):
		t.Fatal("supervision did not end after its context and its process did")
	}
	if p.Starts() != 1 || len(logs.records(t, "process exited during shutdown")) != 1 {
		t.Fatalf("starts %d, shutdown records %d; want 1 and 1", p.Starts(), len(logs.records(t, "process exited during shutdown")))
	}
	stop(t, p)
}

func TestStartReportsAMissingBinary(t *testing.T) {
	_, err := Start(t.Context(), Options{Name: "nothing", Command: func() *exec.Cmd { return exec.Command("/nonexistent/chorus-worker") }})
	if err == nil {
		t.Fatal("Start of a missing binary succeeded")
	}
}
