package emulators

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
)

// Available reports why the emulators selected by o cannot be run here
// (missing launcher, java, go or fake-gcs-server build), or nil. It does not
// start anything; building fake-gcs-server the first time takes ~40 s.
func Available(ctx context.Context, o Options) error {
	if err := supported(); err != nil {
		return err
	}
	var errs []error
	if o.Firestore {
		if _, err := launcherPath(EnvFirestoreEmulator, DefaultFirestoreEmulator)(ctx); err != nil {
			errs = append(errs, fmt.Errorf("firestore: %w", err))
		}
	}
	if o.PubSub {
		if _, err := launcherPath(EnvPubSubEmulator, DefaultPubSubEmulator)(ctx); err != nil {
			errs = append(errs, fmt.Errorf("pubsub: %w", err))
		}
	}
	if o.Firestore || o.PubSub {
		if err := javaAvailable(); err != nil {
			errs = append(errs, err)
		}
	}
	if o.GCS {
		if _, err := fakeGCSPath(ctx); err != nil {
			errs = append(errs, fmt.Errorf("gcs: %w", err))
		}
	}
	return errors.Join(errs...)
}

// launcherPath returns a resolver for an SDK launcher: the path in env
// variable envVar, else def; it must be an executable file.
func launcherPath(envVar, def string) func(context.Context) (string, error) {
	return func(context.Context) (string, error) {
		path := def
		if v := os.Getenv(envVar); v != "" {
			path = v
		}
		st, err := os.Stat(path)
		if err != nil {
			return "", fmt.Errorf("emulator launcher (set %s to override): %w", envVar, err)
		}
		if st.IsDir() || st.Mode().Perm()&0o111 == 0 {
			return "", fmt.Errorf("emulator launcher %s is not an executable file (set %s to override)", path, envVar)
		}
		return path, nil
	}
}

// javaAvailable checks for the JVM the SDK launchers run: $JAVA_HOME/bin/java
// or java on PATH.
func javaAvailable() error {
	if home := os.Getenv("JAVA_HOME"); home != "" {
		if _, err := os.Stat(filepath.Join(home, "bin", "java")); err != nil {
			return fmt.Errorf("java from JAVA_HOME: %w", err)
		}
		return nil
	}
	if _, err := exec.LookPath("java"); err != nil {
		return fmt.Errorf("java (the Firestore and Pub/Sub emulators need a JRE): %w", err)
	}
	return nil
}

// fakeGCS caches the resolved fake-gcs-server path for the process.
var fakeGCS struct {
	sync.Mutex
	path string
}

// fakeGCSPath returns $CHORUS_FAKE_GCS_SERVER, else the binary that
// `go tool -n` builds (and caches) from go.mod's tool directive, run in the
// module root so the pinned version is used.
func fakeGCSPath(ctx context.Context) (string, error) {
	if v := os.Getenv(EnvFakeGCSServer); v != "" {
		if _, err := os.Stat(v); err != nil {
			return "", fmt.Errorf("fake-gcs-server from %s: %w", EnvFakeGCSServer, err)
		}
		return v, nil
	}
	fakeGCS.Lock()
	defer fakeGCS.Unlock()
	if fakeGCS.path != "" {
		return fakeGCS.path, nil
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("go command to build fake-gcs-server (or set %s): %w", EnvFakeGCSServer, err)
	}
	gomod, err := runGo(ctx, goBin, "", "env", "GOMOD")
	if err != nil {
		return "", err
	}
	if gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("not inside the Chorus module (go env GOMOD is %q): run from the repository or set %s", gomod, EnvFakeGCSServer)
	}
	path, err := runGo(ctx, goBin, filepath.Dir(gomod), "tool", "-n", fakeGCSTool)
	if err != nil {
		return "", err
	}
	fakeGCS.path = path
	return path, nil
}

// runGo runs the go command in dir and returns its trimmed output.
func runGo(ctx context.Context, goBin, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, goBin, args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(string(out)), nil
}
