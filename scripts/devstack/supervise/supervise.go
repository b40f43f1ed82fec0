// Package supervise keeps a child process running for the local stack, the
// way Cloud Run retries a failed task: when the process exits without being
// asked to, the exit is logged and the process is started again after a
// backoff (1 s doubling to 30 s by default, back to 1 s after a run that
// lasted a while). Stop ends it for good: no restart happens once Stop has
// been called (or Start's context has ended: an interrupt that reaches the
// child too is a shutdown, not a crash), and Stop returns only when the
// process has exited.
package supervise

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// Defaults of Options.
const (
	DefaultMinBackoff = time.Second
	DefaultMaxBackoff = 30 * time.Second
	DefaultResetAfter = time.Minute
	DefaultStopGrace  = 15 * time.Second
)

// Options configures a supervised process.
type Options struct {
	// Name identifies the process in logs (e.g. "worker-1").
	Name string
	// Command returns a new, unstarted command for each run (an exec.Cmd
	// runs once). Its output, environment and SysProcAttr are the caller's.
	Command func() *exec.Cmd
	// MinBackoff is the delay before the first restart; it doubles after
	// each quick exit up to MaxBackoff.
	MinBackoff, MaxBackoff time.Duration
	// ResetAfter: a run at least this long resets the delay to MinBackoff.
	ResetAfter time.Duration
	// StopGrace is how long Stop waits after SIGTERM before SIGKILL.
	StopGrace time.Duration
	// Logger receives start, exit and restart events; nil uses slog.Default().
	Logger *slog.Logger
}

// Process is a supervised process. Its methods are safe for concurrent use.
type Process struct {
	ctx    context.Context
	o      Options
	log    *slog.Logger
	stopCh chan struct{} // closed by Stop
	done   chan struct{} // closed when supervision has ended

	mu       sync.Mutex
	stopping bool
	cmd      *exec.Cmd // the running command, nil between runs
	exited   chan struct{}
	starts   int
}

// Start runs the first instance of the process and supervises it until
// Stop. Once ctx ends no instance is started any more (the running one is
// not signalled: Stop does that). An error starting the first instance (a
// missing binary) is returned; later start failures are logged and retried
// like exits.
func Start(ctx context.Context, o Options) (*Process, error) {
	if o.Command == nil {
		return nil, errors.New("supervise: Options.Command is nil")
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = DefaultMinBackoff
	}
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = max(DefaultMaxBackoff, o.MinBackoff)
	}
	if o.ResetAfter <= 0 {
		o.ResetAfter = DefaultResetAfter
	}
	if o.StopGrace <= 0 {
		o.StopGrace = DefaultStopGrace
	}
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	p := &Process{ctx: ctx, o: o, log: log.With("process", o.Name), stopCh: make(chan struct{}), done: make(chan struct{})}
	cmd, exited, err := p.start()
	if err != nil {
		return nil, err
	}
	go p.supervise(cmd, exited)
	return p, nil
}

// start starts a new instance unless Stop was called; the returned channel
// is closed once the instance has exited and been reaped (cmd.ProcessState
// is then set).
func (p *Process) start() (*exec.Cmd, chan struct{}, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopping || p.ctx.Err() != nil {
		return nil, nil, nil
	}
	cmd := p.o.Command()
	if err := cmd.Start(); err != nil {
		return nil, nil, fmt.Errorf("supervise: start %s: %w", p.o.Name, err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait() // the status is in cmd.ProcessState
		close(exited)
	}()
	p.cmd, p.exited = cmd, exited
	p.starts++
	p.log.Info("process started", "pid", cmd.Process.Pid, "restarts", p.starts-1)
	return cmd, exited, nil
}

// supervise waits for each instance and restarts it after a backoff until
// Stop.
func (p *Process) supervise(cmd *exec.Cmd, exited chan struct{}) {
	defer close(p.done)
	delay := p.o.MinBackoff
	for {
		began := time.Now()
		if cmd != nil {
			<-exited
			p.mu.Lock()
			p.cmd, p.exited = nil, nil
			stopping := p.stopping
			p.mu.Unlock()
			ran := time.Since(began)
			if stopping {
				return
			}
			if p.ctx.Err() != nil {
				p.log.Info("process exited during shutdown", "pid", cmd.Process.Pid, "exit", exitText(cmd), "ran_ms", ran.Milliseconds())
				return
			}
			if ran >= p.o.ResetAfter {
				delay = p.o.MinBackoff
			}
			p.log.Error("process exited unexpectedly; restarting", "pid", cmd.Process.Pid,
				"exit", exitText(cmd), "ran_ms", ran.Milliseconds(), "restart_in_ms", delay.Milliseconds())
		}
		t := time.NewTimer(delay)
		select {
		case <-p.stopCh:
			t.Stop()
			return
		case <-p.ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		delay = min(2*delay, p.o.MaxBackoff)
		var err error
		cmd, exited, err = p.start()
		switch {
		case err != nil:
			p.log.Error("restart failed; retrying", "err", err.Error(), "restart_in_ms", delay.Milliseconds())
		case cmd == nil:
			return // Stop was called or ctx ended
		}
	}
}

// exitText describes how cmd ended ("exit status 1", "signal: killed").
func exitText(cmd *exec.Cmd) string {
	if cmd.ProcessState == nil {
		return "unknown"
	}
	return cmd.ProcessState.String()
}

// Pid is the process id of the running instance, 0 between instances.
func (p *Process) Pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

// Starts is how many instances have been started (1 + restarts).
func (p *Process) Starts() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.starts
}

// Stop ends supervision: no instance starts from now on, the running one
// gets SIGTERM and, if it has not exited after StopGrace, SIGKILL. Stop
// returns when it has exited, or with ctx's error (after SIGKILL was sent).
// It is idempotent.
func (p *Process) Stop(ctx context.Context) error {
	p.mu.Lock()
	first := !p.stopping
	p.stopping = true
	cmd, exited := p.cmd, p.exited
	p.mu.Unlock()
	if first {
		close(p.stopCh)
	}
	if cmd != nil {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		grace := time.NewTimer(p.o.StopGrace)
		defer grace.Stop()
		select {
		case <-exited:
		case <-grace.C:
			p.log.Warn("process did not stop in time; killing", "pid", cmd.Process.Pid, "grace_ms", p.o.StopGrace.Milliseconds())
			_ = cmd.Process.Kill()
		case <-ctx.Done():
			_ = cmd.Process.Kill()
		}
	}
	select {
	case <-p.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("supervise: stop %s: %w", p.o.Name, ctx.Err())
	}
}

// Done is closed when supervision has ended: after Stop, or after ctx ended,
// once the last instance has exited.
func (p *Process) Done() <-chan struct{} { return p.done }
