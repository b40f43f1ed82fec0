// Command devstack runs all of Chorus on one machine: the Firestore and
// Pub/Sub emulators and the GCS fake on 127.0.0.1, the queue topology and
// buckets, the seed members with generated demo voices, the HTTP functions
// and the web app on one origin, and one or more synth-job workers. A worker
// that exits on its own is logged and restarted with backoff (as Cloud Run
// retries a failed task) while the API and the emulators stay up. Ctrl-C or
// SIGTERM stops every child cleanly.
//
//	CHORUS_ORT_LIBRARY=$(scripts/setup-ort.sh) go run ./scripts/devstack
package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/storage"

	"github.com/chorus-voice/chorus/functions/app"
	"github.com/chorus-voice/chorus/scripts/devstack/supervise"
	"github.com/chorus-voice/chorus/scripts/emulators"
	"github.com/chorus-voice/chorus/shared/callback"
	"github.com/chorus-voice/chorus/shared/config"
	"github.com/chorus-voice/chorus/shared/localstack"
	"github.com/chorus-voice/chorus/shared/logging"
	"github.com/chorus-voice/chorus/shared/store"
	"github.com/chorus-voice/chorus/synth-job/voiceimport"
)

// Names of the local resources (Terraform names the cloud ones).
const (
	project         = "demo-chorus"
	topic           = "synthesis-requests"
	subscription    = "synth-job"
	deadLetterTopic = "synthesis-dead-letter"
	deadLetterSweep = "synthesis-dead-letter-sweep"
	deadLetterKeep  = "synthesis-dead-letter-keep"
	completionTopic = "synthesis-completed"
	callbackSub     = "synthesis-callbacks"
	completionKeep  = "synthesis-completed-keep"
	audioBucket     = "chorus-audio"
	modelsBucket    = "chorus-models"
)

type options struct {
	addr, dir, web, seed, workerBin, readyFile string
	workers                                    int
	workerEnv                                  string
	ackDeadline                                time.Duration
}

func main() {
	var o options
	flag.StringVar(&o.addr, "addr", envOr("CHORUS_HTTP_ADDR", "127.0.0.1:8080"), "where the API and the web app listen")
	flag.StringVar(&o.dir, "dir", ".dev", "state directory (logs, signing key, voice cache, worker binary)")
	flag.StringVar(&o.web, "web", "web/dist", "the built web app")
	flag.StringVar(&o.seed, "seed", "scripts/seed/seed.json", "members and voices to load")
	flag.IntVar(&o.workers, "workers", 1, "number of synth-job worker processes")
	flag.StringVar(&o.workerBin, "worker-bin", "", "synth-job binary (default: build it into -dir)")
	flag.StringVar(&o.workerEnv, "worker-env", "", "extra NAME=value,… for the workers (e.g. CHORUS_LEASE=20s)")
	flag.DurationVar(&o.ackDeadline, "ack-deadline", 30*time.Second, "subscription ack deadline")
	flag.StringVar(&o.readyFile, "ready-file", "", "write the base URL here once everything answers")
	flag.Parse()

	log := logging.New(os.Stderr, slog.LevelInfo)
	slog.SetDefault(log)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o, log); err != nil {
		log.Error("devstack failed", "error", err.Error())
		os.Exit(1)
	}
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func run(ctx context.Context, o options, log *slog.Logger) (err error) {
	began := time.Now()
	ortLib := os.Getenv("CHORUS_ORT_LIBRARY")
	if ortLib == "" {
		return errors.New("CHORUS_ORT_LIBRARY is not set (make dev sets it from scripts/setup-ort.sh)")
	}
	if err := os.MkdirAll(filepath.Join(o.dir, "logs"), 0o755); err != nil {
		return err
	}
	// Claim the port first: a second `make dev` should fail fast and clearly.
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return fmt.Errorf("listen on %s (is another stack running?): %w", o.addr, err)
	}
	defer ln.Close()

	workerBin := o.workerBin
	buildDone := make(chan error, 1)
	if workerBin == "" {
		workerBin = filepath.Join(o.dir, "bin", "synth-job")
		go func() { buildDone <- build(ctx, workerBin) }()
	} else {
		buildDone <- nil
	}

	stack, err := emulators.Start(ctx, emulators.Options{ProjectID: project, Firestore: true, PubSub: true, GCS: true,
		LogDir: filepath.Join(o.dir, "logs"), Logger: log})
	if err != nil {
		return fmt.Errorf("start emulators: %w", err)
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		err = errors.Join(err, stack.Stop(sctx))
	}()
	if err := stack.Setenv(); err != nil {
		return err
	}

	key, err := signingKey(filepath.Join(o.dir, "signing-key.pem"))
	if err != nil {
		return err
	}
	if err := provision(ctx, stack, o, ortLib); err != nil {
		return err
	}

	setDefault := func(k, v string) {
		if os.Getenv(k) == "" {
			os.Setenv(k, v)
		}
	}
	base := "http://" + ln.Addr().String()
	setDefault("CHORUS_TOPIC", topic)
	setDefault("CHORUS_AUDIO_BUCKET", audioBucket)
	setDefault("CHORUS_SIGNING_KEY_FILE", key)
	setDefault("CHORUS_PUBLIC_STORAGE_URL", "http://"+stack.GCSHost)
	setDefault("CHORUS_ALLOWED_ORIGINS", strings.Join([]string{base, "http://localhost:5173", "http://127.0.0.1:5173"}, ","))
	setDefault("CHORUS_COMPLETION_TOPIC", completionTopic)
	// Locally, callbacks may reach this machine (a receiver you run).
	setDefault("CHORUS_CALLBACK_ALLOW_LOOPBACK", "true")
	// Callbacks are signed with a key kept in -dir (made on the first run),
	// unless CHORUS_CALLBACK_SIGNING_KEYS names others; receivers verify with
	// the public keys the functions serve.
	if os.Getenv("CHORUS_CALLBACK_SIGNING_KEYS") == "" {
		keys, err := callbackKeys(filepath.Join(o.dir, "callback-signing-keys.json"))
		if err != nil {
			return err
		}
		os.Setenv("CHORUS_CALLBACK_SIGNING_KEYS", keys)
	}
	signer, err := callback.ParseSigningKeys([]byte(os.Getenv("CHORUS_CALLBACK_SIGNING_KEYS")))
	if err != nil {
		return fmt.Errorf("CHORUS_CALLBACK_SIGNING_KEYS: %w", err)
	}
	jwks, err := json.Marshal(signer.PublicKeys())
	if err != nil {
		return err
	}
	setDefault("CHORUS_CALLBACK_PUBLIC_KEYS", string(jwks))
	log.Info("callbacks are signed; receivers verify with the public keys", "keys_url", base+"/api/profiles/callback-keys.json")
	cfg, err := config.Load[config.Functions](ctx)
	if err != nil {
		return err
	}
	a, err := app.New(ctx, cfg)
	if err != nil {
		return err
	}
	defer a.Close()

	if err := <-buildDone; err != nil {
		return err
	}
	workers, err := startWorkers(ctx, o, workerBin, stack, ortLib, log)
	if err != nil {
		return err
	}
	defer stopWorkers(workers, log)

	mux := http.NewServeMux()
	mux.Handle("/api/", a.Server.Mux())
	wcfg, err := newWebConfig(cfg, os.Getenv)
	if err != nil {
		return err
	}
	web, err := webHandler(o.web, wcfg, cfg.PublicStorageURL)
	if err != nil {
		return err
	}
	mux.Handle("/", web)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 60 * time.Second, IdleTimeout: 120 * time.Second, MaxHeaderBytes: 64 << 10}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()

	if err := waitHTTP(ctx, base+"/api/profiles"); err != nil {
		return err
	}
	if o.readyFile != "" {
		if err := os.WriteFile(o.readyFile, []byte(base+"\n"), 0o644); err != nil {
			return err
		}
	}
	env, envFile := stackEnv(o.dir, stack, ortLib, base)
	if err := localstack.Write(envFile, env); err != nil {
		log.Warn("operator commands will not find this stack by themselves; set the variables below in their environment", "error", err.Error())
	} else {
		defer os.Remove(envFile)
	}
	fmt.Fprintf(os.Stderr, "\n  Chorus is up in %.1fs: %s\n  API: %s/api/profiles · logs: %s · Ctrl-C stops everything\n",
		time.Since(began).Seconds(), base+"/", base, filepath.Join(o.dir, "logs"))
	fmt.Fprintf(os.Stderr, "  Operator commands (go run ./synth-job/cmd/chorus-voices …) find this stack through %s:\n", envFile)
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(os.Stderr, "    %s=%s\n", k, env[k])
	}
	fmt.Fprintln(os.Stderr)

	select {
	case <-ctx.Done():
		log.Info("stopping")
	case err := <-serveErr:
		return fmt.Errorf("http server: %w", err)
	case <-stack.Done():
		return errors.New("an emulator exited")
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}

func build(ctx context.Context, out string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "./synth-job")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("build synth-job: %w", err)
	}
	return nil
}

// provision creates the topology Terraform creates in the cloud, and seeds.
func provision(ctx context.Context, stack *emulators.Stack, o options, ortLib string) error {
	ps, err := pubsub.NewClient(ctx, project)
	if err != nil {
		return err
	}
	defer ps.Close()
	// Dead letters hold fans' text: kept no longer than the audio.
	audioRetention := 168 * time.Hour // config's default
	if v := os.Getenv("CHORUS_AUDIO_RETENTION"); v != "" {
		if audioRetention, err = time.ParseDuration(v); err != nil {
			return fmt.Errorf("CHORUS_AUDIO_RETENTION: %w", err)
		}
	}
	if err := emulators.EnsureTopology(ctx, ps, emulators.Topology{ProjectID: project, Topic: topic, Subscription: subscription,
		DeadLetterTopic: deadLetterTopic, DeadLetterSubscriptions: []string{deadLetterSweep, deadLetterKeep},
		DeadLetterRetention: emulators.DeadLetterRetention(audioRetention),
		MaxDeliveryAttempts: 5, AckDeadline: o.ackDeadline, MinBackoff: time.Second, MaxBackoff: 10 * time.Second,
		CompletionTopic: completionTopic, CompletionSubscriptions: []string{callbackSub, completionKeep}}); err != nil {
		return err
	}
	gcs, err := storage.NewClient(ctx)
	if err != nil {
		return err
	}
	defer gcs.Close()
	for _, b := range []string{audioBucket, modelsBucket} {
		if err := gcs.Bucket(b).Create(ctx, project, nil); err != nil && !strings.Contains(err.Error(), "409") {
			return fmt.Errorf("create bucket %s: %w", b, err)
		}
	}
	st, err := store.Open(ctx, project, 0) // voices and members only
	if err != nil {
		return err
	}
	defer st.Close()
	seed, err := voiceimport.ReadSeed(o.seed)
	if err != nil {
		return err
	}
	im := &voiceimport.Importer{Store: st, Models: gcs.Bucket(modelsBucket), ORTLibrary: ortLib}
	return im.Seed(ctx, seed)
}

// callbackKeys reads the callback signing keys kept at path, making one
// Ed25519 key there on the first run.
func callbackKeys(path string) (string, error) {
	if b, err := os.ReadFile(path); err == nil {
		return string(b), nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", err
	}
	b, err := callback.MarshalSigningKeys(callback.SigningKey{ID: "dev-" + time.Now().UTC().Format("20060102"), Key: priv})
	if err != nil {
		return "", err
	}
	return string(b), os.WriteFile(path, b, 0o600)
}

// stackEnv is everything an operator command needs to reach this stack,
// and the file that holds it while the stack runs (shared/localstack).
func stackEnv(dir string, stack *emulators.Stack, ortLib, base string) (localstack.Env, string) {
	env := localstack.Env{
		"CHORUS_MODELS_BUCKET": modelsBucket,
		"CHORUS_AUDIO_BUCKET":  audioBucket,
		"CHORUS_ORT_LIBRARY":   ortLib,
		"CHORUS_URL":           base,
		localstack.PIDKey:      strconv.Itoa(os.Getpid()),
	}
	for k, v := range stack.Env() {
		env[k] = v
	}
	return env, filepath.Join(dir, "stack.env")
}

// signingKey makes (once) the RSA key that signs local audio URLs.
func signingKey(path string) (string, error) {
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return "", err
	}
	b := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: must(x509.MarshalPKCS8PrivateKey(k))})
	return path, os.WriteFile(path, b, 0o600)
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// startWorkers starts o.workers synth-job --serve processes, each under a
// supervisor that restarts it when it exits on its own.
func startWorkers(ctx context.Context, o options, bin string, stack *emulators.Stack, ortLib string, log *slog.Logger) ([]*supervise.Process, error) {
	env := os.Environ()
	for k, v := range stack.Env() {
		env = append(env, k+"="+v)
	}
	env = append(env,
		"CHORUS_SUBSCRIPTION="+subscription,
		"CHORUS_TOPIC="+topic,
		"CHORUS_DEAD_LETTER_SUBSCRIPTION="+deadLetterSweep,
		"CHORUS_DEAD_LETTER_TOPIC="+deadLetterTopic,
		"CHORUS_AUDIO_BUCKET="+audioBucket,
		"CHORUS_MODELS_BUCKET="+modelsBucket,
		"CHORUS_ORT_LIBRARY="+ortLib,
		"CHORUS_VOICE_CACHE_DIR="+filepath.Join(o.dir, "voices"),
		"CHORUS_LEASE=30s",
		"CHORUS_COMPLETION_TOPIC="+completionTopic,
		"CHORUS_CALLBACK_SUBSCRIPTION="+callbackSub,
	)
	if o.workerEnv != "" {
		env = append(env, strings.Split(o.workerEnv, ",")...)
	}
	var workers []*supervise.Process
	for i := 1; i <= o.workers; i++ {
		w, err := supervise.Start(ctx, supervise.Options{
			Name: fmt.Sprintf("worker-%d", i),
			Command: func() *exec.Cmd {
				cmd := exec.Command(bin, "--serve")
				cmd.Env = env
				cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
				cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
				return cmd
			},
			StopGrace: 15 * time.Second,
			Logger:    log,
		})
		if err != nil {
			stopWorkers(workers, log)
			return nil, fmt.Errorf("start worker: %w", err)
		}
		workers = append(workers, w)
	}
	return workers, nil
}

// stopWorkers stops the workers together: SIGTERM, their graceful exit,
// SIGKILL after the grace period; none is restarted meanwhile.
func stopWorkers(workers []*supervise.Process, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for _, w := range workers {
		wg.Go(func() {
			if err := w.Stop(ctx); err != nil {
				log.Error("stop worker", "error", err.Error())
			}
		})
	}
	wg.Wait()
}

// waitHTTP polls url until it answers 200, for up to two minutes (a busy
// machine starts slowly) or until ctx ends.
func waitHTTP(ctx context.Context, url string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	last := errors.New("no answer yet")
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = errors.New(resp.Status)
		}
		if ctx.Err() == nil {
			last = err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s did not answer 200: %v", url, last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
