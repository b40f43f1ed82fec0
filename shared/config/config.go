// Package config reads each service's configuration from the environment.
//
// Every service has one struct; Load fills it from environment variables
// (the `env` struct tags are the single list of variables a deployment must
// set, and the Terraform policy tests read them from here) and validates it,
// so that a misconfigured service fails at start with a message naming the
// variable instead of failing on its first request.
package config

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/sethvargo/go-envconfig"

	"github.com/chorus-voice/chorus/shared/callback"
)

// MaxSignedURLTTL is the longest expiry a V4 signed URL may have (7 days,
// Cloud Storage's limit); shared/blob enforces it too.
const MaxSignedURLTTL = 7 * 24 * time.Hour

// MaxAudioRetention bounds CHORUS_AUDIO_RETENTION (a year).
const MaxAudioRetention = 366 * 24 * time.Hour

// Bounds of the worker's batching and model-run settings.
const (
	MaxBatchSize      = 1024
	MaxRunItems       = 1024
	MinRunIDs         = 64
	MaxRunIDs         = 1 << 20
	MaxConcurrentRuns = 16
	MinGPUMemLimit    = Bytes(1 << 30)
	MaxGPUMemLimit    = Bytes(1 << 40)
	MaxCPUOffloadIDs  = 4096
)

// Functions configures the HTTP Cloud Functions (profiles, synthesize, batch, status).
type Functions struct {
	// ProjectID is the Google Cloud project that holds Firestore and Pub/Sub.
	ProjectID string `env:"GOOGLE_CLOUD_PROJECT, required"`
	// Topic is the Pub/Sub topic id that synthesis requests are published to.
	Topic string `env:"CHORUS_TOPIC, required"`
	// AudioBucket holds the synthesised WAV files; status signs URLs into it.
	AudioBucket string `env:"CHORUS_AUDIO_BUCKET, required"`

	// SignedURLTTL is how long a signed audio URL stays valid.
	SignedURLTTL time.Duration `env:"CHORUS_SIGNED_URL_TTL, default=15m"`
	// SignerEmail is the service account that signs URLs through the IAM
	// Credentials API. Empty uses the runtime's default service account.
	SignerEmail string `env:"CHORUS_SIGNER_EMAIL"`
	// SigningKeyFile is a PEM RSA private key used to sign URLs locally
	// (emulator stack). Never set in the cloud.
	SigningKeyFile string `env:"CHORUS_SIGNING_KEY_FILE"`
	// PublicStorageURL overrides the scheme://host of signed URLs (the GCS
	// fake); empty means https://storage.googleapis.com.
	PublicStorageURL string `env:"CHORUS_PUBLIC_STORAGE_URL"`

	// AllowedOrigins lists the browser origins allowed by CORS.
	AllowedOrigins []string `env:"CHORUS_ALLOWED_ORIGINS"`
	// StatusURL is the base URL of the status function, returned to clients
	// as status_url. Locally it is the path /api/status.
	StatusURL string `env:"CHORUS_STATUS_URL, default=/api/status"`

	// MaxTextChars bounds the text of one synthesis request, in characters.
	MaxTextChars int `env:"CHORUS_MAX_TEXT_CHARS, default=1000"`
	// MaxBatchItems bounds the number of items of one batch request.
	MaxBatchItems int `env:"CHORUS_MAX_BATCH_ITEMS, default=100"`
	// RatePerMinute and RateBurst limit enqueue requests per client.
	RatePerMinute int `env:"CHORUS_RATE_PER_MINUTE, default=60"`
	RateBurst     int `env:"CHORUS_RATE_BURST, default=20"`
	// StatusRatePerMinute and StatusRateBurst limit status requests per
	// client (a long poll, ?wait=, is one request). Polls are cheap, but a
	// signature is not, and an address may stand for many fans (a carrier's
	// NAT): the defaults leave a web app room for dozens of clips a minute.
	StatusRatePerMinute int `env:"CHORUS_STATUS_RATE_PER_MINUTE, default=240"`
	StatusRateBurst     int `env:"CHORUS_STATUS_RATE_BURST, default=60"`

	// WorkerJob is the full name of the Cloud Run job that consumes the
	// queue (projects/P/locations/L/jobs/J). When set, the enqueue
	// functions start an execution if none is running. Empty locally.
	WorkerJob string `env:"CHORUS_WORKER_JOB"`

	// AudioRetention is how long audio is kept after it was written: the
	// bucket's lifecycle deletes it then, job and request records expire
	// (Firestore TTL) with it, and status answers 410 audio_expired past
	// it. Terraform sets it from audio_retention_days (days × 24h).
	AudioRetention time.Duration `env:"CHORUS_AUDIO_RETENTION, default=168h"`
	// TrustedProxyHops is how many proxies in front of the functions
	// append the client's address to X-Forwarded-For: 0 locally (nothing
	// does; the header is ignored), 1 for Cloud Run functions behind
	// Google's front end, 2 behind an external load balancer. The rate
	// limit keys on the address that many entries from the right.
	TrustedProxyHops int `env:"CHORUS_TRUSTED_PROXY_HOPS, default=0"`

	// CompletionTopic, when set, receives a message per job the result
	// cache answers at once (the worker announces the others).
	CompletionTopic string `env:"CHORUS_COMPLETION_TOPIC"`
	// CallbackAllowLoopback lets callback_url name http://127.0.0.1 and
	// other loopback addresses: the local stack and tests only. In the
	// cloud a callback must be https to a public address.
	CallbackAllowLoopback bool `env:"CHORUS_CALLBACK_ALLOW_LOOPBACK, default=false"`
	// CallbackPublicKeys is the JSON Web Key Set of the keys callbacks are
	// signed with, served to receivers (GET /api/profiles/callback-keys.json).
	// Terraform fills it from the keys it generates; empty serves no keys.
	CallbackPublicKeys string `env:"CHORUS_CALLBACK_PUBLIC_KEYS"`
}

// Validate reports the first invalid setting, naming its variable.
func (c *Functions) Validate() error {
	var errs []error
	if c.SignedURLTTL <= 0 || c.SignedURLTTL > MaxSignedURLTTL {
		errs = append(errs, fmt.Errorf("CHORUS_SIGNED_URL_TTL must be between 1s and %s, got %s", MaxSignedURLTTL, c.SignedURLTTL))
	}
	if c.MaxTextChars < 1 || c.MaxTextChars > 10000 {
		errs = append(errs, fmt.Errorf("CHORUS_MAX_TEXT_CHARS must be between 1 and 10000, got %d", c.MaxTextChars))
	}
	if c.MaxBatchItems < 1 || c.MaxBatchItems > 1000 {
		errs = append(errs, fmt.Errorf("CHORUS_MAX_BATCH_ITEMS must be between 1 and 1000, got %d", c.MaxBatchItems))
	}
	if c.RatePerMinute < 0 || c.RateBurst < 0 {
		errs = append(errs, errors.New("CHORUS_RATE_PER_MINUTE and CHORUS_RATE_BURST must not be negative"))
	}
	if c.StatusRatePerMinute < 0 || c.StatusRateBurst < 0 {
		errs = append(errs, errors.New("CHORUS_STATUS_RATE_PER_MINUTE and CHORUS_STATUS_RATE_BURST must not be negative"))
	}
	for _, o := range c.AllowedOrigins {
		if o == "*" {
			continue
		}
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" {
			errs = append(errs, fmt.Errorf("CHORUS_ALLOWED_ORIGINS: %q is not an origin like https://example.com", o))
		}
	}
	if c.PublicStorageURL != "" {
		if u, err := url.Parse(c.PublicStorageURL); err != nil || u.Host == "" {
			errs = append(errs, fmt.Errorf("CHORUS_PUBLIC_STORAGE_URL: %q is not a URL", c.PublicStorageURL))
		}
	}
	if c.AudioRetention < time.Second || c.AudioRetention > MaxAudioRetention {
		errs = append(errs, fmt.Errorf("CHORUS_AUDIO_RETENTION must be between 1s and %s, got %s", MaxAudioRetention, c.AudioRetention))
	}
	if c.TrustedProxyHops < 0 || c.TrustedProxyHops > 8 {
		errs = append(errs, fmt.Errorf("CHORUS_TRUSTED_PROXY_HOPS must be between 0 and 8, got %d", c.TrustedProxyHops))
	}
	if c.WorkerJob != "" && !strings.HasPrefix(c.WorkerJob, "projects/") {
		errs = append(errs, fmt.Errorf("CHORUS_WORKER_JOB must look like projects/P/locations/L/jobs/J, got %q", c.WorkerJob))
	}
	if c.CallbackPublicKeys != "" {
		if _, err := callback.ParseKeySet([]byte(c.CallbackPublicKeys)); err != nil {
			errs = append(errs, fmt.Errorf("CHORUS_CALLBACK_PUBLIC_KEYS must be a JSON Web Key Set of Ed25519 public keys: %w", err))
		}
	}
	return errors.Join(errs...)
}

// Worker configures the synth-job worker (Cloud Run job, or long-running locally).
type Worker struct {
	ProjectID string `env:"GOOGLE_CLOUD_PROJECT, required"`
	// Subscription is the pull subscription on the synthesis topic.
	Subscription string `env:"CHORUS_SUBSCRIPTION, required"`
	// DeadLetterSubscription, when set, is a subscription on the dead-letter
	// topic that the worker drains to mark dead-lettered jobs failed.
	DeadLetterSubscription string `env:"CHORUS_DEAD_LETTER_SUBSCRIPTION"`
	// DeadLetterTopic, when set, receives messages that can never succeed
	// (malformed, unknown member or voice, text the voice cannot say) at
	// once, after their job was marked failed, instead of after the
	// subscription's last delivery attempt.
	DeadLetterTopic string `env:"CHORUS_DEAD_LETTER_TOPIC"`
	// AudioBucket receives the WAV files.
	AudioBucket string `env:"CHORUS_AUDIO_BUCKET, required"`
	// Topic, when set, is the synthesis topic: the worker re-publishes
	// jobs left queued without a message (an enqueue function that died
	// between writing the job and publishing it) after RequeueAfter.
	Topic        string        `env:"CHORUS_TOPIC"`
	RequeueAfter time.Duration `env:"CHORUS_REQUEUE_AFTER, default=5m"`
	// ModelsBucket holds the voices (.onnx and .onnx.json).
	ModelsBucket string `env:"CHORUS_MODELS_BUCKET, required"`

	// ORTLibrary is the path of libonnxruntime.so.
	ORTLibrary string `env:"CHORUS_ORT_LIBRARY, required"`
	// ExecutionProvider is auto (CUDA when available, else CPU), cuda
	// (fail without CUDA) or cpu.
	ExecutionProvider string `env:"CHORUS_EXECUTION_PROVIDER, default=auto"`
	// IntraOpThreads is the ONNX Runtime thread count per session (0 = ORT default).
	IntraOpThreads int `env:"CHORUS_INTRA_OP_THREADS, default=0"`
	// VoiceCacheDir is where downloaded voices are kept on local disk.
	VoiceCacheDir string `env:"CHORUS_VOICE_CACHE_DIR, default=/tmp/chorus-voices"`
	// SessionCache is how many ONNX sessions stay open at once.
	SessionCache int `env:"CHORUS_SESSION_CACHE, default=4"`

	// Concurrency is how many worker batches are in hand at once (each
	// phonemised, run, uploaded and recorded on its own goroutine).
	Concurrency int `env:"CHORUS_CONCURRENCY, default=2"`
	// BatchSize and BatchWait bound how many jobs of one voice are handed
	// to the engine together and how long the first waits for company.
	// The worker holds Concurrency × BatchSize × 2 messages, so that the
	// engine's runs can be filled.
	BatchSize int           `env:"CHORUS_BATCH_SIZE, default=8"`
	BatchWait time.Duration `env:"CHORUS_BATCH_WAIT, default=50ms"`

	// The engine packs the sentences of a batch into model runs. Zero
	// takes the execution provider's default (see synth-job/engine: small
	// on the CPU, sized for a 24 GB L4 on CUDA).
	// RunMaxItems bounds the sentences of one model run.
	RunMaxItems int `env:"CHORUS_RUN_MAX_ITEMS, default=0"`
	// RunMaxIDs bounds a run's padded phoneme ids (sentences × longest ×
	// length_scale), which is what device memory grows with.
	RunMaxIDs int `env:"CHORUS_RUN_MAX_IDS, default=0"`
	// ConcurrentRuns bounds the model runs in flight at once.
	ConcurrentRuns int `env:"CHORUS_CONCURRENT_RUNS, default=0"`
	// GPUMemLimit caps ONNX Runtime's CUDA memory arena ("18GiB", "512MiB"
	// or bytes); the run budget keeps peak use under it.
	GPUMemLimit Bytes `env:"CHORUS_GPU_MEM_LIMIT, default=18GiB"`
	// CPUOffloadIDs: on CUDA, runs of at most this many padded ids (a lone
	// short sentence) go to a CPU session while it is free: the CPU answers
	// one short sentence sooner than the GPU. 0 turns it off.
	CPUOffloadIDs int `env:"CHORUS_CPU_OFFLOAD_IDS, default=128"`
	// Lease is how long a claimed job stays owned by this worker without
	// being renewed; a crashed worker's job is reclaimed after it.
	Lease time.Duration `env:"CHORUS_LEASE, default=2m"`
	// MaxAttempts must match the subscription's max delivery attempts:
	// the worker fails the job on the last one.
	MaxAttempts int `env:"CHORUS_MAX_ATTEMPTS, default=5"`
	// IdleTimeout ends a --drain run after the queue stayed empty this long.
	IdleTimeout time.Duration `env:"CHORUS_IDLE_TIMEOUT, default=30s"`
	// MaxRun ends a --drain run after this long even if work keeps
	// arriving, so that a Cloud Run task never reaches its timeout (1 h for
	// GPU tasks) in the middle of a batch. Zero means no limit.
	MaxRun time.Duration `env:"CHORUS_MAX_RUN, default=50m"`
	// ShutdownGrace bounds how long in-flight work may take after SIGTERM.
	ShutdownGrace time.Duration `env:"CHORUS_SHUTDOWN_GRACE, default=8s"`
	// MaxTextChars must match the functions' limit (messages published
	// directly to the topic are validated against it).
	MaxTextChars int `env:"CHORUS_MAX_TEXT_CHARS, default=1000"`
	// AudioRetention must match the functions' (see Functions): job
	// records the worker writes expire with their audio.
	AudioRetention time.Duration `env:"CHORUS_AUDIO_RETENTION, default=168h"`

	// CompletionTopic, when set, receives one message per finished job and
	// one per finished batch (synthesis-completed).
	CompletionTopic string `env:"CHORUS_COMPLETION_TOPIC"`
	// CallbackSubscription, when set, is a subscription on the completion
	// topic whose messages the worker delivers to the clients'
	// callback_url, signed with CallbackSigningKeys.
	CallbackSubscription string `env:"CHORUS_CALLBACK_SUBSCRIPTION"`
	// CallbackSigningKeys are the Ed25519 keys callbacks are signed with
	// (shared/callback.ParseSigningKeys: {"keys":[{"kid","private_key_pem"}]},
	// one key, or two during a rotation). In the cloud it comes from the
	// Secret Manager secret Terraform writes; make dev keeps one in .dev.
	CallbackSigningKeys string `env:"CHORUS_CALLBACK_SIGNING_KEYS"`
	// CallbackAllowLoopback lets callbacks reach loopback addresses (the
	// local stack and tests). Private and link-local addresses are never
	// reached.
	CallbackAllowLoopback bool `env:"CHORUS_CALLBACK_ALLOW_LOOPBACK, default=false"`
}

// Validate reports the first invalid setting, naming its variable.
func (c *Worker) Validate() error {
	var errs []error
	switch c.ExecutionProvider {
	case "auto", "cuda", "cpu":
	default:
		errs = append(errs, fmt.Errorf("CHORUS_EXECUTION_PROVIDER must be auto, cuda or cpu, got %q", c.ExecutionProvider))
	}
	if c.SessionCache < 1 {
		errs = append(errs, fmt.Errorf("CHORUS_SESSION_CACHE must be at least 1, got %d", c.SessionCache))
	}
	if c.Concurrency < 1 {
		errs = append(errs, fmt.Errorf("CHORUS_CONCURRENCY must be at least 1, got %d", c.Concurrency))
	}
	if c.BatchSize < 1 || c.BatchSize > MaxBatchSize {
		errs = append(errs, fmt.Errorf("CHORUS_BATCH_SIZE must be between 1 and %d, got %d", MaxBatchSize, c.BatchSize))
	}
	if c.RunMaxItems != 0 && (c.RunMaxItems < 1 || c.RunMaxItems > MaxRunItems) {
		errs = append(errs, fmt.Errorf("CHORUS_RUN_MAX_ITEMS must be 0 (the provider's default) or between 1 and %d, got %d", MaxRunItems, c.RunMaxItems))
	}
	if c.RunMaxIDs != 0 && (c.RunMaxIDs < MinRunIDs || c.RunMaxIDs > MaxRunIDs) {
		errs = append(errs, fmt.Errorf("CHORUS_RUN_MAX_IDS must be 0 (the provider's default) or between %d and %d, got %d", MinRunIDs, MaxRunIDs, c.RunMaxIDs))
	}
	if c.ConcurrentRuns < 0 || c.ConcurrentRuns > MaxConcurrentRuns {
		errs = append(errs, fmt.Errorf("CHORUS_CONCURRENT_RUNS must be 0 (the provider's default) or between 1 and %d, got %d", MaxConcurrentRuns, c.ConcurrentRuns))
	}
	if c.GPUMemLimit < MinGPUMemLimit || c.GPUMemLimit > MaxGPUMemLimit {
		errs = append(errs, fmt.Errorf("CHORUS_GPU_MEM_LIMIT must be between %s and %s, got %s", MinGPUMemLimit, MaxGPUMemLimit, c.GPUMemLimit))
	}
	if c.CPUOffloadIDs < 0 || c.CPUOffloadIDs > MaxCPUOffloadIDs {
		errs = append(errs, fmt.Errorf("CHORUS_CPU_OFFLOAD_IDS must be between 0 (off) and %d, got %d", MaxCPUOffloadIDs, c.CPUOffloadIDs))
	}
	if c.BatchWait < 0 {
		errs = append(errs, fmt.Errorf("CHORUS_BATCH_WAIT must not be negative, got %s", c.BatchWait))
	}
	if c.Lease < 10*time.Second {
		errs = append(errs, fmt.Errorf("CHORUS_LEASE must be at least 10s, got %s", c.Lease))
	}
	if c.MaxAttempts < 1 || c.MaxAttempts > 100 {
		errs = append(errs, fmt.Errorf("CHORUS_MAX_ATTEMPTS must be between 1 and 100, got %d", c.MaxAttempts))
	}
	if c.IdleTimeout <= 0 {
		errs = append(errs, fmt.Errorf("CHORUS_IDLE_TIMEOUT must be positive, got %s", c.IdleTimeout))
	}
	if c.Topic != "" && c.RequeueAfter < 10*time.Second {
		errs = append(errs, fmt.Errorf("CHORUS_REQUEUE_AFTER must be at least 10s, got %s", c.RequeueAfter))
	}
	if c.MaxRun < 0 {
		errs = append(errs, fmt.Errorf("CHORUS_MAX_RUN must not be negative, got %s", c.MaxRun))
	}
	if c.ShutdownGrace <= 0 {
		errs = append(errs, fmt.Errorf("CHORUS_SHUTDOWN_GRACE must be positive, got %s", c.ShutdownGrace))
	}
	if c.MaxTextChars < 1 || c.MaxTextChars > 10000 {
		errs = append(errs, fmt.Errorf("CHORUS_MAX_TEXT_CHARS must be between 1 and 10000, got %d", c.MaxTextChars))
	}
	if c.AudioRetention < time.Second || c.AudioRetention > MaxAudioRetention {
		errs = append(errs, fmt.Errorf("CHORUS_AUDIO_RETENTION must be between 1s and %s, got %s", MaxAudioRetention, c.AudioRetention))
	}
	if c.CallbackSubscription != "" {
		if _, err := callback.ParseSigningKeys([]byte(c.CallbackSigningKeys)); err != nil {
			errs = append(errs, fmt.Errorf("CHORUS_CALLBACK_SIGNING_KEYS must hold the signing keys when CHORUS_CALLBACK_SUBSCRIPTION is set: %w", err))
		}
	}
	return errors.Join(errs...)
}

// validator is implemented by every config struct of this package.
type validator interface{ Validate() error }

// Load fills cfg from the process environment and validates it.
func Load[T any, P interface {
	*T
	validator
}](ctx context.Context) (*T, error) {
	return LoadFrom[T, P](ctx, envconfig.OsLookuper())
}

// LoadFrom is Load with an explicit variable source, for tests.
func LoadFrom[T any, P interface {
	*T
	validator
}](ctx context.Context, l envconfig.Lookuper) (*T, error) {
	cfg := new(T)
	if err := envconfig.ProcessWith(ctx, &envconfig.Config{Target: cfg, Lookuper: l}); err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	if err := P(cfg).Validate(); err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	return cfg, nil
}
