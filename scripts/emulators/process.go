package emulators

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// wrapperScript runs the emulator in the background and waits for it. On
// SIGTERM (sent by Stop to the group, or by the kernel when this process
// dies: see setProcAttr) it kills its whole process group, which reaches the
// JVMs that the SDK launchers fork without exec. A trapped signal interrupts
// `wait` at once (POSIX), so the trap runs while the emulator is running.
const wrapperScript = `trap 'kill -KILL 0' HUP INT TERM
"$@" &
wait $!`

// process is one emulator: the sh wrapper leading its own process group.
type process struct {
	name    string
	port    int
	pgid    int
	logPath string
	logFile *os.File
	logger  *slog.Logger

	done     chan struct{} // closed when the wrapper has exited and been reaped
	waitErr  error         // the wrapper's exit status; read after done
	warmTook time.Duration // how long its warm-up requests took
	ready    atomic.Bool   // answered its probe: an exit from now on is unexpected
	stopping atomic.Bool
}

// launch starts path with args under the wrapper, output to logPath.
func launch(name, logPath, path string, args []string, port int, env []string, logger *slog.Logger) (*process, error) {
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("create log: %w", err)
	}
	shArgs := append([]string{"-c", wrapperScript, "chorus-emulator-" + name, path}, args...)
	cmd := exec.Command("/bin/sh", shArgs...)
	cmd.Stdout = f // an *os.File: the child writes to it directly, no copying goroutine
	cmd.Stderr = f
	cmd.Env = env
	setProcAttr(cmd)

	p := &process{name: name, port: port, logPath: logPath, logFile: f, logger: logger, done: make(chan struct{})}
	started := make(chan error, 1)
	go p.run(cmd, started)
	if err := <-started; err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s: %w", path, err)
	}
	return p, nil
}

// run starts cmd and waits for it on one locked OS thread: the kernel sends
// the parent-death signal when the thread that forked the child exits, so
// that thread must live as long as the child.
func (p *process) run(cmd *exec.Cmd, started chan<- error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := cmd.Start(); err != nil {
		started <- err
		return
	}
	p.pgid = cmd.Process.Pid // Setpgid with Pgid 0: the group is the wrapper's pid
	started <- nil
	p.waitErr = cmd.Wait()
	close(p.done)
	if p.ready.Load() && !p.stopping.Load() {
		p.logger.Error("emulator exited unexpectedly", "emulator", p.name, "port", p.port,
			"status", fmt.Sprint(p.waitErr), "log", p.logPath)
	}
}

func (p *process) hostPort() string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(p.port))
}

// stop sends SIGTERM to the group, SIGKILL after grace (or when ctx ends),
// and waits until the wrapper is reaped and no live process is left in the
// group. When ctx ends first it still sends SIGKILL before returning.
func (p *process) stop(ctx context.Context, grace time.Duration) error {
	p.stopping.Store(true)
	defer p.logFile.Close()
	if err := signalGroup(p.pgid, syscall.SIGTERM); err != nil {
		return fmt.Errorf("emulators: stop %s: %w", p.name, err)
	}
	graceCtx, cancel := context.WithTimeout(ctx, grace)
	err := p.waitGone(graceCtx)
	cancel()
	if err == nil {
		return nil
	}
	if err := signalGroup(p.pgid, syscall.SIGKILL); err != nil {
		return fmt.Errorf("emulators: stop %s: %w", p.name, err)
	}
	if err := p.waitGone(ctx); err != nil {
		return fmt.Errorf("emulators: stop %s (process group %d): %w", p.name, p.pgid, err)
	}
	return nil
}

// waitGone polls until the wrapper is reaped and the group has no live member.
func (p *process) waitGone(ctx context.Context) error {
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-p.done:
			members, err := groupMembers(p.pgid)
			if err != nil {
				return err
			}
			if len(members) == 0 {
				return nil
			}
		default:
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("processes still running: %w", ctx.Err())
		case <-tick.C:
		}
	}
}

// logTail returns the end of the emulator's log for error messages.
func (p *process) logTail() string {
	const max = 3000
	f, err := os.Open(p.logPath)
	if err != nil {
		return fmt.Sprintf("(unreadable: %v)", err)
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > max {
		if _, err := f.Seek(-max, io.SeekEnd); err != nil {
			return fmt.Sprintf("(unreadable: %v)", err)
		}
	}
	b, err := io.ReadAll(f)
	if err != nil {
		return fmt.Sprintf("(unreadable: %v)", err)
	}
	return strings.TrimSpace(string(b))
}
