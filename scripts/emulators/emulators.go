// Package emulators starts and stops the local stand-ins for Google Cloud
// (the Firestore and Pub/Sub emulators of the Cloud SDK and fake-gcs-server)
// on 127.0.0.1, for integration tests and for the local development stack,
// and creates there the queue topology that Terraform creates in the cloud
// (EnsureTopology). It is tooling, not a runtime package: no service
// imports it.
//
// Each emulator runs in its own process group, under a small sh wrapper that
// is signalled when this process dies (Linux parent-death signal) and then
// kills its whole group: the SDK launchers are bash scripts that do not
// exec java, so signalling only the launcher would leave the JVM running.
// Stop kills every group and waits until no process of it is left.
//
// Ports are free ports picked by the kernel unless fixed in Options. A picked
// port can be taken by another process before the emulator binds it (tests
// of several packages start emulators at the same time), so readiness
// requires the listening socket to belong to the emulator's own process
// group, and a start that loses the race is retried once on another port.
//
// Only project ids starting with "demo-" are accepted: the client libraries
// fall back to real Google Cloud when an emulator variable is missing, and a
// demo- project cannot exist there.
package emulators

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"time"
)

// Environment variables read or set by this package.
const (
	// EnvFirestoreEmulator overrides the path of the Firestore emulator launcher.
	EnvFirestoreEmulator = "CHORUS_FIRESTORE_EMULATOR"
	// EnvPubSubEmulator overrides the path of the Pub/Sub emulator launcher.
	EnvPubSubEmulator = "CHORUS_PUBSUB_EMULATOR"
	// EnvFakeGCSServer overrides the path of the fake-gcs-server binary; when
	// empty it is built from go.mod's tool directive with `go tool -n`.
	EnvFakeGCSServer = "CHORUS_FAKE_GCS_SERVER"
)

// Default locations of the emulators (Debian's google-cloud-cli packages).
const (
	DefaultFirestoreEmulator = "/usr/lib/google-cloud-sdk/platform/cloud-firestore-emulator/cloud_firestore_emulator"
	DefaultPubSubEmulator    = "/usr/lib/google-cloud-sdk/platform/pubsub-emulator/bin/cloud-pubsub-emulator"
	fakeGCSTool              = "github.com/fsouza/fake-gcs-server"
)

// DefaultStartTimeout bounds Start when its context has no deadline. A JVM
// emulator is ready in about a second on an idle machine, but test packages
// start theirs at the same time on two shared cores.
const DefaultStartTimeout = 2 * time.Minute

// cleanupTimeout bounds the stop of emulators that failed to start, after
// their grace period.
const cleanupTimeout = 30 * time.Second

// ErrNotDemoProject is returned for project ids that do not start with "demo-".
var ErrNotDemoProject = errors.New(`emulators: project id must start with "demo-"`)

// projectIDPattern is Google Cloud's project id syntax restricted to demo- ids.
var projectIDPattern = regexp.MustCompile(`^demo-[a-z0-9]([a-z0-9-]{0,23}[a-z0-9])?$`)

// Options selects the emulators to start and how.
type Options struct {
	// ProjectID is the project the emulators serve; it must start with "demo-".
	// A distinct id per test package keeps the packages' data apart.
	ProjectID string

	// Firestore, PubSub and GCS select the emulators to start (at least one).
	Firestore, PubSub, GCS bool

	// FirestorePort, PubSubPort and GCSPort fix the ports (for a development
	// stack whose addresses must stay stable); 0 picks a free port.
	FirestorePort, PubSubPort, GCSPort int

	// LogDir receives one log file per emulator. Empty creates a temporary
	// directory that Stop removes.
	LogDir string

	// StopGrace is how long Stop waits after SIGTERM before SIGKILL
	// (default 3s).
	StopGrace time.Duration

	// Logger receives start and stop events; nil uses slog.Default().
	Logger *slog.Logger

	// pickPort returns a free port; tests replace it to force a port race.
	pickPort func() (int, error)
}

// Stack is a set of running emulators. Its methods are safe for concurrent use.
type Stack struct {
	// ProjectID is the project the emulators serve.
	ProjectID string
	// FirestoreHost, PubSubHost and GCSHost are "127.0.0.1:PORT", empty for an
	// emulator that was not started.
	FirestoreHost, PubSubHost, GCSHost string
	// LogDir holds the emulators' logs (firestore.log, pubsub.log, gcs.log).
	LogDir string

	procs     []*process
	ownLogDir bool
	grace     time.Duration
	logger    *slog.Logger
	client    *http.Client

	stopOnce sync.Once
	stopErr  error
	keepLogs bool // set by RunTests when tests failed, before Stop

	done     chan struct{}
	doneOnce sync.Once
}

// service describes how to run and probe one emulator.
type service struct {
	name      string // also the log file name
	port      int    // fixed port, 0 for a free one
	resolve   func(ctx context.Context) (string, error)
	args      func(port int) []string
	probePath string
	// warm, when set, makes the first real requests once the probe answers,
	// so that tests do not pay the JVM's first-use cost.
	warm func(ctx context.Context, host string) error
	host *string // the Stack field to fill
}

// Start starts the selected emulators concurrently and returns when all of
// them answer and have served a first round of real requests (the JVM
// emulators are slow to serve their first ones), or stops those that
// started and returns the first failures. Readiness is polled with backoff;
// ctx bounds the whole start (DefaultStartTimeout when it has no deadline)
// and nothing else does; the emulators run until Stop.
func Start(ctx context.Context, o Options) (*Stack, error) {
	if err := validate(o); err != nil {
		return nil, err
	}
	if err := supported(); err != nil {
		return nil, err
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultStartTimeout)
		defer cancel()
	}
	if o.pickPort == nil {
		o.pickPort = freePort
	}
	logger := o.Logger
	if logger == nil {
		logger = slog.Default()
	}
	grace := o.StopGrace
	if grace <= 0 {
		grace = 3 * time.Second
	}

	s := &Stack{
		ProjectID: o.ProjectID,
		LogDir:    o.LogDir,
		grace:     grace,
		logger:    logger,
		// No Timeout: every request is bounded by its caller's context
		// (see call.go).
		client: &http.Client{
			// No idle connections to processes that Stop kills.
			Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil},
		},
		done: make(chan struct{}),
	}
	if s.LogDir == "" {
		dir, err := os.MkdirTemp("", "chorus-emulators-")
		if err != nil {
			return nil, fmt.Errorf("emulators: create log directory: %w", err)
		}
		s.LogDir, s.ownLogDir = dir, true
	} else if err := os.MkdirAll(s.LogDir, 0o755); err != nil {
		return nil, fmt.Errorf("emulators: create log directory: %w", err)
	}

	var services []service
	if o.Firestore {
		services = append(services, service{
			name: "firestore", port: o.FirestorePort,
			resolve: launcherPath(EnvFirestoreEmulator, DefaultFirestoreEmulator),
			args: func(port int) []string {
				return []string{"start", "--host=127.0.0.1", "--port=" + strconv.Itoa(port)}
			},
			probePath: "/",
			warm:      s.warmFirestore,
			host:      &s.FirestoreHost,
		})
	}
	if o.PubSub {
		services = append(services, service{
			name: "pubsub", port: o.PubSubPort,
			resolve: launcherPath(EnvPubSubEmulator, DefaultPubSubEmulator),
			args: func(port int) []string {
				return []string{"--host=127.0.0.1", "--port=" + strconv.Itoa(port)}
			},
			probePath: "/v1/projects/" + o.ProjectID + "/topics",
			warm:      s.warmPubSub,
			host:      &s.PubSubHost,
		})
	}
	if o.GCS {
		services = append(services, service{
			name: "gcs", port: o.GCSPort,
			resolve: fakeGCSPath,
			args: func(port int) []string {
				hostPort := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
				// The binary defaults to 0.0.0.0, https and a disk backend;
				// the public host must be the listening address or XML-API
				// reads answer 404.
				return []string{"-scheme", "http", "-host", "127.0.0.1", "-port", strconv.Itoa(port),
					"-public-host", hostPort, "-external-url", "http://" + hostPort,
					"-backend", "memory", "-log-level", "warn"}
			},
			probePath: "/storage/v1/b",
			host:      &s.GCSHost,
		})
	}

	type result struct {
		svc  service
		proc *process
		took time.Duration
		err  error
	}
	results := make(chan result, len(services))
	for _, svc := range services {
		go func() {
			began := time.Now()
			p, err := s.startService(ctx, o, svc)
			results <- result{svc: svc, proc: p, took: time.Since(began), err: err}
		}()
	}
	var errs []error
	for range services {
		r := <-results
		if r.err != nil {
			errs = append(errs, r.err)
			continue
		}
		s.procs = append(s.procs, r.proc)
		*r.svc.host = r.proc.hostPort()
		logger.Info("emulator ready", "emulator", r.svc.name, "host", r.proc.hostPort(),
			"pgid", r.proc.pgid, "took_ms", r.took.Milliseconds(), "warm_up_ms", r.proc.warmTook.Milliseconds(),
			"project", o.ProjectID)
	}
	if len(errs) > 0 {
		// Keep the logs of a failed start: the error names them.
		s.keepLogs = true
		stopCtx, cancel := context.WithTimeout(context.Background(), s.grace+cleanupTimeout)
		defer cancel()
		if err := s.Stop(stopCtx); err != nil {
			errs = append(errs, err)
		}
		return nil, errors.Join(errs...)
	}
	for _, p := range s.procs {
		// Ends when the process does, which Stop guarantees.
		go func() {
			<-p.done
			s.markDone()
		}()
	}
	return s, nil
}

func validate(o Options) error {
	if !projectIDPattern.MatchString(o.ProjectID) {
		return fmt.Errorf("%w and be a valid project id, got %q", ErrNotDemoProject, o.ProjectID)
	}
	if !o.Firestore && !o.PubSub && !o.GCS {
		return errors.New("emulators: no emulator selected (set Options.Firestore, PubSub or GCS)")
	}
	seen := map[int]string{}
	for _, p := range []struct {
		name string
		port int
		on   bool
	}{{"FirestorePort", o.FirestorePort, o.Firestore}, {"PubSubPort", o.PubSubPort, o.PubSub}, {"GCSPort", o.GCSPort, o.GCS}} {
		if p.port < 0 || p.port > 65535 {
			return fmt.Errorf("emulators: %s must be between 0 and 65535, got %d", p.name, p.port)
		}
		if p.port == 0 || !p.on {
			continue
		}
		if other, ok := seen[p.port]; ok {
			return fmt.Errorf("emulators: %s and %s are both %d", other, p.name, p.port)
		}
		seen[p.port] = p.name
	}
	return nil
}

// startService starts one emulator, retrying once on another port when a
// picked port turns out to be taken or the emulator dies before answering.
func (s *Stack) startService(ctx context.Context, o Options, svc service) (*process, error) {
	path, err := svc.resolve(ctx)
	if err != nil {
		return nil, fmt.Errorf("emulators: %s: %w", svc.name, err)
	}
	attempts := 2
	if svc.port != 0 {
		// A fixed port that is taken will not become free by retrying.
		attempts = 1
		if err := portFree(svc.port); err != nil {
			return nil, fmt.Errorf("emulators: %s: fixed port %d: %w", svc.name, svc.port, err)
		}
	}
	var errs []error
	for attempt := 1; attempt <= attempts; attempt++ {
		port := svc.port
		if port == 0 {
			if port, err = o.pickPort(); err != nil {
				return nil, fmt.Errorf("emulators: %s: pick a free port: %w", svc.name, err)
			}
		}
		logName := svc.name + ".log"
		if attempt > 1 {
			logName = fmt.Sprintf("%s.attempt%d.log", svc.name, attempt)
		}
		p, err := launch(svc.name, filepath.Join(s.LogDir, logName), path, svc.args(port), port, s.childEnv(), s.logger)
		if err != nil {
			return nil, fmt.Errorf("emulators: %s: %w", svc.name, err)
		}
		err = s.waitReady(ctx, p, svc.probePath)
		if err == nil && svc.warm != nil {
			began := time.Now()
			err = s.warmUp(ctx, p, svc.warm)
			p.warmTook = time.Since(began)
		}
		if err == nil {
			p.ready.Store(true)
			return p, nil
		}
		stopCtx, cancel := context.WithTimeout(context.Background(), s.grace+cleanupTimeout)
		if stopErr := p.stop(stopCtx, s.grace); stopErr != nil {
			err = errors.Join(err, stopErr)
		}
		cancel()
		errs = append(errs, fmt.Errorf("emulators: %s on port %d: %w", svc.name, port, err))
		var retry retryableError
		if !errors.As(err, &retry) || ctx.Err() != nil {
			break
		}
		s.logger.Warn("emulator start failed, retrying on another port",
			"emulator", svc.name, "port", port, "err", err)
	}
	return nil, errors.Join(errs...)
}

// retryableError marks start failures that another port may cure.
type retryableError struct{ err error }

func (e retryableError) Error() string { return e.err.Error() }
func (e retryableError) Unwrap() error { return e.err }

// waitReady polls, with backoff, until the emulator's own process group
// listens on its port and the probe answers 200. A probe has no deadline of
// its own: a starved JVM may take long to answer, and ctx (the start
// deadline) or the emulator's exit ends it.
func (s *Stack) waitReady(ctx context.Context, p *process, probePath string) error {
	probeURL := "http://" + p.hostPort() + probePath
	rctx, cancel := whileRunning(ctx, p)
	defer cancel()
	var bo backoff
	for first := true; ; first = false {
		var err error
		if !first {
			err = bo.wait(rctx)
		}
		select {
		case <-p.done:
			return p.exitedError()
		default:
		}
		if err != nil {
			return fmt.Errorf("not ready: %w (log %s:\n%s)", ctx.Err(), p.logPath, p.logTail())
		}
		owner, err := portOwner(p.port, p.pgid)
		if err != nil {
			return fmt.Errorf("check who listens on port %d: %w", p.port, err)
		}
		switch owner {
		case ownerNone:
			continue
		case ownerOther:
			return retryableError{fmt.Errorf("port %d is taken by another process", p.port)}
		}
		if _, err := s.do(rctx, http.MethodGet, probeURL, ""); err == nil {
			return nil
		}
	}
}

// warmUp runs warm against p, failing early if p exits.
func (s *Stack) warmUp(ctx context.Context, p *process, warm func(context.Context, string) error) error {
	wctx, cancel := whileRunning(ctx, p)
	defer cancel()
	err := warm(wctx, p.hostPort())
	select {
	case <-p.done:
		return p.exitedError()
	default:
	}
	if err != nil {
		return fmt.Errorf("%w (log %s:\n%s)", err, p.logPath, p.logTail())
	}
	return nil
}

// exitedError says that p exited before it was ready (a retryable start failure).
func (p *process) exitedError() error {
	return retryableError{fmt.Errorf("exited before answering: %v (log %s:\n%s)", p.waitErr, p.logPath, p.logTail())}
}

// childEnv is the emulators' environment: this process's, with the project
// set so that nothing looks for a metadata server.
func (s *Stack) childEnv() []string {
	return append(os.Environ(),
		"CLOUDSDK_CORE_PROJECT="+s.ProjectID,
		"GOOGLE_CLOUD_PROJECT="+s.ProjectID,
	)
}

// markDone closes Done once, when the first emulator exits.
func (s *Stack) markDone() { s.doneOnce.Do(func() { close(s.done) }) }

// Done is closed when any emulator of the stack has exited, whether Stop
// ended it or it died; a long-running development stack watches it.
func (s *Stack) Done() <-chan struct{} { return s.done }

// Env returns the variables that point the Google Cloud client libraries
// and the Chorus services at the stack. STORAGE_EMULATOR_HOST carries the
// http:// scheme: cloud.google.com/go/storage accepts it with or without,
// other clients need it to avoid https.
func (s *Stack) Env() map[string]string {
	env := map[string]string{
		"GOOGLE_CLOUD_PROJECT":  s.ProjectID,
		"CLOUDSDK_CORE_PROJECT": s.ProjectID,
	}
	if s.FirestoreHost != "" {
		env["FIRESTORE_EMULATOR_HOST"] = s.FirestoreHost
	}
	if s.PubSubHost != "" {
		env["PUBSUB_EMULATOR_HOST"] = s.PubSubHost
	}
	if s.GCSHost != "" {
		env["STORAGE_EMULATOR_HOST"] = "http://" + s.GCSHost
	}
	return env
}

// Setenv sets Env in this process's environment (for TestMain).
func (s *Stack) Setenv() error {
	for k, v := range s.Env() {
		if err := os.Setenv(k, v); err != nil {
			return fmt.Errorf("emulators: set %s: %w", k, err)
		}
	}
	return nil
}

// ResetFirestore deletes every document of the stack's project in the
// Firestore emulator (an emulator-only endpoint). Transient failures are
// retried with backoff until ctx ends (DefaultCallTimeout when ctx has no
// deadline): tests pass t.Context().
func (s *Stack) ResetFirestore(ctx context.Context) error {
	if s.FirestoreHost == "" {
		return errors.New("emulators: reset firestore: the Firestore emulator was not started")
	}
	ctx, cancel := withDefaultDeadline(ctx)
	defer cancel()
	if err := s.resetFirestore(ctx, s.FirestoreHost); err != nil {
		return fmt.Errorf("emulators: reset firestore: %w", err)
	}
	return nil
}

// Stop ends every emulator: SIGTERM to each process group, SIGKILL after
// the grace period, and waits until no process of the groups is left. It is
// idempotent; later calls return the first call's result. ctx bounds the
// wait; when it expires the groups have already been sent SIGKILL.
func (s *Stack) Stop(ctx context.Context) error {
	s.stopOnce.Do(func() {
		errs := make([]error, len(s.procs))
		var wg sync.WaitGroup
		for i, p := range s.procs {
			wg.Go(func() { errs[i] = p.stop(ctx, s.grace) })
		}
		wg.Wait()
		s.client.CloseIdleConnections()
		if s.ownLogDir && !s.keepLogs {
			if err := os.RemoveAll(s.LogDir); err != nil {
				errs = append(errs, fmt.Errorf("emulators: remove log directory: %w", err))
			}
		}
		s.stopErr = errors.Join(errs...)
		s.logger.Info("emulators stopped", "project", s.ProjectID, "err", s.stopErr)
	})
	return s.stopErr
}

// freePort asks the kernel for a free port on 127.0.0.1. The port is free
// only until someone else takes it: waitReady checks who listens.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// portFree reports an error when port cannot be bound on 127.0.0.1.
func portFree(port int) error {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return fmt.Errorf("in use: %w", err)
	}
	return l.Close()
}
