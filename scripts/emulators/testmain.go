package emulators

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"
)

// deadHost is where the emulator variables point when the emulators are
// missing and tests are skipped: a test that forgets Require then fails to
// connect instead of reaching real Google Cloud.
const deadHost = "127.0.0.1:1"

// shared is the stack of the running test binary, set by RunTests.
var shared struct {
	sync.Mutex
	stack      *Stack
	skipReason string
}

// RunTests is a TestMain body for packages whose tests need emulators: it
// starts the emulators selected by o once for the package, sets their
// environment (Stack.Env), runs the tests, stops the emulators and returns
// the exit code:
//
//	func TestMain(m *testing.M) {
//		os.Exit(emulators.RunTests(m, emulators.Options{ProjectID: "demo-chorus-store", Firestore: true}))
//	}
//
// Tests get the stack from Require. When the emulators cannot be run here
// (see Available): with the environment variable CI set, RunTests prints why
// and returns 1 without running the tests; otherwise it prints why, points
// the emulator variables at a closed port, and runs the tests, where Require
// skips each test that needs the emulators with that reason (tests that do
// not need them still run). A failure to start emulators that are present
// always returns 1. When tests fail the emulator logs are kept and their
// directory is printed.
func RunTests(m *testing.M, o Options) int {
	logger := o.Logger
	if logger == nil {
		logger = slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
		o.Logger = logger
	}
	ctx, cancel := context.WithTimeout(context.Background(), DefaultStartTimeout)
	defer cancel()
	if err := validate(o); err != nil {
		fmt.Fprintf(os.Stderr, "emulators: %v\n", err)
		return 1
	}
	if os.Getenv("CHORUS_FUZZ_ONLY") != "" {
		// scripts/test-fuzz.sh runs fuzz targets only (-run '^$'), which use
		// no emulators; every fuzz worker runs TestMain again, and three
		// emulator stacks per package would cost more than the fuzzing.
		return runWithout(m, o, "CHORUS_FUZZ_ONLY is set: fuzz targets only, no emulators")
	}
	if err := Available(ctx, o); err != nil {
		if os.Getenv("CI") != "" {
			fmt.Fprintf(os.Stderr, "emulators: required in CI (CI is set) but unavailable: %v\n", err)
			return 1
		}
		return runWithout(m, o, fmt.Sprintf("emulators unavailable (CI unset, so skipping): %v", err))
	}

	began := time.Now()
	st, err := Start(ctx, o)
	if err != nil {
		fmt.Fprintf(os.Stderr, "emulators: start: %v\n", err)
		return 1
	}
	logger.Info("emulators started", "took_ms", time.Since(began).Milliseconds(), "env", st.Env())
	if err := st.Setenv(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		_ = st.Stop(context.Background())
		return 1
	}
	shared.Lock()
	shared.stack = st
	shared.Unlock()

	code := m.Run()

	if code != 0 {
		st.keepLogs = true
		fmt.Fprintf(os.Stderr, "emulators: tests failed; emulator logs kept in %s\n", st.LogDir)
	}
	stopCtx, stopCancel := context.WithTimeout(context.Background(), time.Minute)
	defer stopCancel()
	if err := st.Stop(stopCtx); err != nil {
		fmt.Fprintf(os.Stderr, "emulators: stop: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// Require returns the stack that RunTests started for this test binary. It
// skips the test when RunTests found the emulators missing outside CI, and
// fails it when TestMain does not call RunTests.
func Require(tb testing.TB) *Stack {
	tb.Helper()
	shared.Lock()
	defer shared.Unlock()
	switch {
	case shared.skipReason != "":
		tb.Skip(shared.skipReason)
	case shared.stack == nil:
		tb.Fatal("emulators.Require: TestMain must call emulators.RunTests")
	}
	return shared.stack
}

// runWithout runs the tests with the emulators' variables pointing at a
// dead host; tests that need them skip with reason.
func runWithout(m *testing.M, o Options, reason string) int {
	fmt.Fprintln(os.Stderr, reason)
	for _, k := range []string{"FIRESTORE_EMULATOR_HOST", "PUBSUB_EMULATOR_HOST"} {
		os.Setenv(k, deadHost)
	}
	os.Setenv("STORAGE_EMULATOR_HOST", "http://"+deadHost)
	os.Setenv("GOOGLE_CLOUD_PROJECT", o.ProjectID)
	os.Setenv("CLOUDSDK_CORE_PROJECT", o.ProjectID)
	shared.Lock()
	shared.skipReason = reason
	shared.Unlock()
	return m.Run()
}
