// Package engine synthesises speech with Piper/VITS voices on ONNX Runtime.
//
// One Engine serves many voices: it keeps a bounded LRU of open ONNX
// sessions, turns each request's text into sentences of phoneme ids
// (textnorm → espeak-ng → Piper ids), runs the sentences of all requests of
// one call in batches (padded to the longest, with input_lengths), trims each
// item's audio, joins a request's sentences with a short silence and encodes
// a WAV file per request.
//
// Trimming rule. In a padded batch every item comes back as long as the
// longest one. VITS gives padded phonemes zero duration and masks the
// latent, but its decoder still turns the masked frames into a low,
// non-zero tail (biases), so the tail cannot be cut at exact zeros. The
// engine therefore trims every item, batched or not, the same way: it drops
// trailing samples whose magnitude stays below TrimRatio × the item's peak,
// then keeps TrimTail of what follows the last loud sample (so the decay of
// the last phoneme survives). Applying it to unbatched items too makes the
// output independent of how requests happened to be batched.
//
// Then, as Piper does, each sentence is scaled so that its peak is
// PeakLevel (a peak below 0.01 is treated as 0.01 so silence is not
// amplified into noise).
package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/chorus-voice/chorus/synth-job/voice"
)

// Execution providers.
const (
	ProviderAuto = "auto"
	ProviderCUDA = "cuda"
	ProviderCPU  = "cpu"
)

// Bounds of the user-facing speed (length_scale = config length_scale / speed).
const (
	MinSpeed = 0.25
	MaxSpeed = 4.0
)

// Audio post-processing constants (see the package comment).
const (
	TrimRatio = 0.01
	TrimTail  = 50 * time.Millisecond
	PeakLevel = 0.95
)

// Options configure an Engine. Zero values take the defaults shown.
type Options struct {
	// LibraryPath is the ONNX Runtime shared library (CHORUS_ORT_LIBRARY).
	LibraryPath string
	// Provider is auto (CUDA when it works, else CPU with a warning), cuda
	// (fail without CUDA) or cpu. Default auto.
	Provider string
	// IntraOpThreads is ONNX Runtime's thread count per session (0: ORT's default).
	IntraOpThreads int
	// SessionCache bounds the number of open sessions (default 4).
	SessionCache int
	// MaxBatch bounds the sentences per model run (default 8).
	MaxBatch int
	// MaxTextRunes bounds a text piece phonemised at once (default 400).
	MaxTextRunes int
	// MaxPhonemes bounds the phonemes of one sentence in one model run;
	// longer sentences are cut at word boundaries (default 400).
	MaxPhonemes int
	// SentenceSilence is inserted between sentences (default 200 ms).
	SentenceSilence time.Duration
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

func (o *Options) withDefaults() {
	if o.Provider == "" {
		o.Provider = ProviderAuto
	}
	if o.SessionCache <= 0 {
		o.SessionCache = 4
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = 8
	}
	if o.MaxTextRunes <= 0 {
		o.MaxTextRunes = 400
	}
	if o.MaxPhonemes <= 0 {
		o.MaxPhonemes = 400
	}
	if o.SentenceSilence == 0 {
		o.SentenceSilence = 200 * time.Millisecond
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// Engine synthesises speech. It is safe for concurrent use.
type Engine struct {
	opts     Options
	log      *slog.Logger
	cache    *sessionCache
	provider atomic.Value // string: the provider sessions actually run on
	useCUDA  atomic.Bool  // try CUDA for new sessions

	stats stats
}

// New initialises ONNX Runtime (once per process) and returns an engine.
// With Provider cuda it fails unless the CUDA execution provider loads; with
// auto it falls back to CPU and logs a warning.
func New(opts Options) (*Engine, error) {
	opts.withDefaults()
	switch opts.Provider {
	case ProviderAuto, ProviderCUDA, ProviderCPU:
	default:
		return nil, fmt.Errorf("execution provider %q: want auto, cuda or cpu", opts.Provider)
	}
	if err := InitRuntime(opts.LibraryPath); err != nil {
		return nil, err
	}
	e := &Engine{opts: opts, log: opts.Logger}
	e.provider.Store(ProviderCPU)
	if opts.Provider != ProviderCPU {
		err := probeCUDA()
		switch {
		case err == nil:
			e.useCUDA.Store(true)
			e.provider.Store(ProviderCUDA)
		case opts.Provider == ProviderCUDA:
			return nil, fmt.Errorf("CUDA execution provider requested but unavailable: %w", err)
		default:
			e.log.Warn("CUDA execution provider unavailable, running on CPU", "error", err.Error())
		}
	}
	e.cache = newSessionCache(opts.SessionCache, e.openSession)
	e.log.Info("synthesis engine ready", "provider", e.Provider(), "ort_version", ort.GetVersion(),
		"session_cache", opts.SessionCache, "max_batch", opts.MaxBatch)
	return e, nil
}

// Provider names the execution provider that inference actually runs on:
// "cuda" or "cpu". In auto mode it turns to "cpu" if a CUDA session cannot
// be created.
func (e *Engine) Provider() string { return e.provider.Load().(string) }

// Close destroys the cached sessions (those in use after their last run).
// Synthesize fails after Close.
func (e *Engine) Close() error {
	e.cache.close()
	return nil
}

// cudaOptions appends the CUDA provider to opts, with the cuDNN convolution
// algorithm search set to HEURISTIC: the default exhaustive search re-runs
// for every new input shape, and every sentence length is a new shape.
func cudaOptions(opts *ort.SessionOptions) error {
	cuda, err := ort.NewCUDAProviderOptions()
	if err != nil {
		return err
	}
	defer cuda.Destroy()
	if err := cuda.Update(map[string]string{"cudnn_conv_algo_search": "HEURISTIC"}); err != nil {
		return err
	}
	return opts.AppendExecutionProviderCUDA(cuda)
}

// probeCUDA reports whether the CUDA execution provider can be appended.
func probeCUDA() error {
	opts, err := ort.NewSessionOptions()
	if err != nil {
		return err
	}
	defer opts.Destroy()
	return cudaOptions(opts)
}

func (e *Engine) sessionOptions(cuda bool) (*ort.SessionOptions, error) {
	opts, err := ort.NewSessionOptions()
	if err != nil {
		return nil, fmt.Errorf("session options: %w", err)
	}
	if e.opts.IntraOpThreads > 0 {
		if err := opts.SetIntraOpNumThreads(e.opts.IntraOpThreads); err != nil {
			opts.Destroy()
			return nil, fmt.Errorf("session options: %w", err)
		}
	}
	if cuda {
		if err := cudaOptions(opts); err != nil {
			opts.Destroy()
			return nil, fmt.Errorf("CUDA provider: %w", err)
		}
	}
	return opts, nil
}

// openSession checks a voice's model against the Piper contract and opens a
// session for it.
func (e *Engine) openSession(v *voice.Voice) (*session, error) {
	start := time.Now()
	ins, outs, err := ort.GetInputOutputInfo(v.ModelPath)
	if err != nil {
		// A file ONNX Runtime cannot parse is a broken voice, not a
		// passing failure.
		return nil, fmt.Errorf("%w: read model %s: %v", ErrInvalidVoice, v.ModelPath, err)
	}
	if err := voice.CheckModel(v.Config, ins, outs); err != nil {
		return nil, fmt.Errorf("voice %s: %w", v.Name, err)
	}
	inputs := []string{voice.InputIDs, voice.InputLengths, voice.InputScales}
	if v.Config.MultiSpeaker() {
		inputs = append(inputs, voice.InputSID)
	}
	outputs := []string{outs[0].Name}

	provider := ProviderCPU
	if e.useCUDA.Load() {
		provider = ProviderCUDA
	}
	s, err := e.newSession(v, inputs, outputs, provider == ProviderCUDA)
	if err != nil && provider == ProviderCUDA && e.opts.Provider == ProviderAuto {
		e.log.Warn("CUDA session failed, falling back to CPU", "voice", v.Name, "error", err.Error())
		e.useCUDA.Store(false)
		e.provider.Store(ProviderCPU)
		provider = ProviderCPU
		s, err = e.newSession(v, inputs, outputs, false)
	}
	if err != nil {
		return nil, fmt.Errorf("open session for voice %s: %w", describeVoice(v), err)
	}
	e.log.Info("voice session opened", "voice", v.Name, "provider", provider,
		"speakers", v.Config.NumSpeakers, "ms", time.Since(start).Milliseconds())
	return &session{sess: s, inputs: inputs, provider: provider, destroy: func() { s.Destroy() }}, nil
}

func (e *Engine) newSession(v *voice.Voice, inputs, outputs []string, cuda bool) (*ort.DynamicAdvancedSession, error) {
	opts, err := e.sessionOptions(cuda)
	if err != nil {
		return nil, err
	}
	defer opts.Destroy()
	return ort.NewDynamicAdvancedSession(v.ModelPath, inputs, outputs, opts)
}

// Preload opens (and checks) the voice's session ahead of the first request.
func (e *Engine) Preload(ctx context.Context, v *voice.Voice) error {
	if v == nil || v.Config == nil {
		return fmt.Errorf("%w: no voice", ErrInvalidVoice)
	}
	s, err := e.cache.acquire(ctx, v)
	if err != nil {
		return err
	}
	e.cache.release(s)
	return nil
}

// OpenSessions reports how many sessions the cache holds.
func (e *Engine) OpenSessions() int { return e.cache.len() }

var errEmptyOutput = errors.New("model returned no audio")
