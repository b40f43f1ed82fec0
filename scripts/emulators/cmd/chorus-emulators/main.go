// Command chorus-emulators runs the local Google Cloud stand-ins (Firestore,
// Pub/Sub, GCS) for the development stack until interrupted.
//
// Once every emulator answers it prints `export NAME=value` lines for the
// client libraries and, with -env-file, writes the same variables as
// NAME=value lines (for `set -a; . FILE; set +a`), replacing the file
// atomically so a script polling for it never reads half of it. It exits on
// SIGINT or SIGTERM after stopping the emulators, and with status 1 when an
// emulator dies on its own.
//
//	go run ./scripts/emulators/cmd/chorus-emulators -firestore-port 8081 -pubsub-port 8085 -gcs-port 4443 -env-file .dev/emulators.env
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/chorus-voice/chorus/scripts/emulators"
)

func main() {
	logger := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	slog.SetDefault(logger)
	if err := run(logger); err != nil {
		logger.Error("chorus-emulators failed", "err", err)
		os.Exit(1)
	}
}

func run(logger *slog.Logger) error {
	var o emulators.Options
	var only, envFile string
	flag.StringVar(&o.ProjectID, "project", "demo-chorus", `project id; must start with "demo-"`)
	flag.StringVar(&only, "only", "firestore,pubsub,gcs", "comma-separated emulators to run")
	flag.IntVar(&o.FirestorePort, "firestore-port", 0, "Firestore emulator port (0: a free one)")
	flag.IntVar(&o.PubSubPort, "pubsub-port", 0, "Pub/Sub emulator port (0: a free one)")
	flag.IntVar(&o.GCSPort, "gcs-port", 0, "fake-gcs-server port (0: a free one)")
	flag.StringVar(&o.LogDir, "log-dir", "", "directory for the emulators' logs (default: a temporary one, removed on exit)")
	flag.StringVar(&envFile, "env-file", "", "also write the environment to this file while running")
	flag.Parse()
	if flag.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", flag.Args())
	}
	for _, name := range strings.Split(only, ",") {
		switch strings.TrimSpace(name) {
		case "firestore":
			o.Firestore = true
		case "pubsub":
			o.PubSub = true
		case "gcs":
			o.GCS = true
		default:
			return fmt.Errorf("-only: unknown emulator %q (want firestore, pubsub or gcs)", name)
		}
	}
	o.Logger = logger

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	st, err := emulators.Start(ctx, o)
	if err != nil {
		return err
	}
	defer func() {
		stopCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := st.Stop(stopCtx); err != nil {
			logger.Error("stop emulators", "err", err)
		}
	}()

	env := st.Env()
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var exports, lines strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&exports, "export %s=%s\n", k, env[k])
		fmt.Fprintf(&lines, "%s=%s\n", k, env[k])
	}
	fmt.Print(exports.String())
	if envFile != "" {
		if err := writeAtomic(envFile, lines.String()); err != nil {
			return err
		}
		defer os.Remove(envFile)
	}
	logger.Info("emulators running; interrupt to stop", "log_dir", st.LogDir)

	select {
	case <-ctx.Done():
		logger.Info("stopping emulators")
		return nil
	case <-st.Done():
		return errors.New("an emulator exited unexpectedly; see the log directory " + st.LogDir)
	}
}

// writeAtomic writes content to path through a temporary file and a rename.
func writeAtomic(path, content string) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("env file: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".emulators-env-*")
	if err != nil {
		return fmt.Errorf("env file: %w", err)
	}
	if _, err := tmp.WriteString(content); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("env file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("env file: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("env file: %w", err)
	}
	return nil
}
