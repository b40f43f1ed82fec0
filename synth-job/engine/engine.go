// Package engine synthesises speech with Piper/VITS voices on ONNX Runtime.
//
// One Engine serves many voices: it keeps a bounded LRU of voices with open
// ONNX sessions (each voice's prepared graph opened as it is, see
// synth-job/voiceprep), turns each request's text into sentences of phoneme
// ids (textnorm → espeak-ng → Piper ids), packs the sentences of a call into
// model runs (one sentence per run on the CPU, padded batches on CUDA),
// cuts each item at exactly its frames (the voice's durations output),
// joins a request's sentences with a short silence and levels the whole
// request with one gain. A Result is float samples with their captions and
// spans; synth-job/encode makes the files. docs/engine.md explains the
// design: runs and their budget, out-of-memory splitting, exact lengths and
// trimming, sentences and captions, the level.
package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/chorus-voice/chorus/synth-job/loudness"
	"github.com/chorus-voice/chorus/synth-job/voice"
)

// Execution providers.
const (
	ProviderAuto = "auto"
	ProviderCUDA = "cuda"
	ProviderCPU  = "cpu"
)

// Bounds of the speed the engine accepts (length_scale = config
// length_scale / speed). The public range is narrower
// (message.PublicMinSpeed…PublicMaxSpeed); this one only keeps the model's
// input sane.
const (
	ModelMinSpeed = 0.25
	ModelMaxSpeed = 4.0
)

// Audio post-processing constants (see the package comment).
const (
	TrimRatio = 0.01
	TrimTail  = 50 * time.Millisecond
	// DefaultLoudness (LUFS) and DefaultTruePeak (dBTP) are what each
	// request is levelled to; MaxGain bounds the gain (+40 dB).
	DefaultLoudness = loudness.TargetLUFS
	DefaultTruePeak = loudness.CeilingDBTP
	MaxGain         = 100
)

// Run sizes by provider, used where Options leave them zero. On the CPU a
// run holds one sentence: padding is all that batching adds there, and one
// sentence per run measured faster than padded runs at one and at two
// threads (docs/performance.md). On CUDA they suit one voice on an NVIDIA
// L4 with 24 GB: GPUConcurrentRuns runs of at most GPUMaxRunIDs padded ids
// stay under DefaultGPUMemLimit with the Piper "medium" architecture
// (docs/performance.md; the deployed worker, with two resident voices, is
// sized by Terraform).
const (
	CPUMaxRunItems    = 1
	CPUMaxRunIDs      = 4096
	CPUConcurrentRuns = 1

	GPUMaxRunItems    = 64
	GPUMaxRunIDs      = 2048
	GPUConcurrentRuns = 4
	// DefaultGPUMemLimit bounds ONNX Runtime's CUDA arena: 18 GiB of an
	// L4's 24 GB leaves room for the CUDA context, cuDNN and cuBLAS.
	DefaultGPUMemLimit = 18 << 30
)

// Options configure an Engine. Zero values take the defaults shown.
type Options struct {
	// LibraryPath is the ONNX Runtime shared library (CHORUS_ORT_LIBRARY).
	LibraryPath string
	// Provider is auto (CUDA when it works, else CPU with a warning), cuda
	// (fail without CUDA) or cpu. Default auto.
	Provider string
	// IntraOpThreads is ONNX Runtime's thread count per session (0: ORT's
	// default, one per core).
	IntraOpThreads int
	// SessionCache bounds the voices with open sessions (default 4); a
	// voice holds one session, two while it also has runs offloaded to
	// the CPU (CPUOffloadIDs).
	SessionCache int
	// MaxRunItems bounds the sentences of one model run (default
	// CPUMaxRunItems or GPUMaxRunItems).
	MaxRunItems int
	// MaxRunIDs bounds a run's padded phoneme ids: items × longest ×
	// length_scale (default CPUMaxRunIDs or GPUMaxRunIDs). One sentence
	// longer than the budget still runs, alone.
	MaxRunIDs int
	// ConcurrentRuns bounds the model runs in flight in the whole engine
	// (default CPUConcurrentRuns or GPUConcurrentRuns).
	ConcurrentRuns int
	// GPUMemLimit bounds the CUDA arena, in bytes (default
	// DefaultGPUMemLimit).
	GPUMemLimit int64
	// CPUOffloadIDs: on CUDA, runs of at most this many padded ids go to a
	// CPU session of the voice while no other offloaded run is in flight
	// (0: off; the worker's CHORUS_CPU_OFFLOAD_IDS defaults to 128, about
	// one short sentence): for a lone short sentence the CPU answers sooner
	// than the GPU, whose runs have a fixed cost of host/device copies and
	// CPU-placed shape nodes.
	CPUOffloadIDs int
	// CUDAOptions are further CUDA provider options, applied over the
	// engine's own (benchmarks use it to compare settings).
	CUDAOptions map[string]string
	// KeepConv1D opens one-thread CPU sessions on the voice's prepared
	// graph with Piper's decoder as exported, instead of its lifted graph
	// (benchmarks compare the two; sessions of more threads never open the
	// lifted graph: frames.go).
	KeepConv1D bool
	// MaxTextRunes bounds a text piece phonemised at once (default 400).
	MaxTextRunes int
	// MaxPhonemes bounds the phonemes of one sentence in one model run;
	// longer sentences are cut at word boundaries (default 400).
	MaxPhonemes int
	// SentenceSilence is inserted between sentences (default 200 ms).
	SentenceSilence time.Duration
	// Loudness is the integrated loudness each request is levelled to, in
	// LUFS (default DefaultLoudness); TruePeak the ceiling of its true peak
	// in dBTP, which wins over Loudness (default DefaultTruePeak).
	Loudness float64
	TruePeak float64
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
	if o.GPUMemLimit <= 0 {
		o.GPUMemLimit = DefaultGPUMemLimit
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
	if o.Loudness == 0 {
		o.Loudness = DefaultLoudness
	}
	if o.TruePeak == 0 {
		o.TruePeak = DefaultTruePeak
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// runLimits are the run sizes in force for one execution provider.
type runLimits struct {
	maxItems, maxIDs, concurrent int
}

func (o *Options) limits(provider string) runLimits {
	l := runLimits{CPUMaxRunItems, CPUMaxRunIDs, CPUConcurrentRuns}
	if provider == ProviderCUDA {
		l = runLimits{GPUMaxRunItems, GPUMaxRunIDs, GPUConcurrentRuns}
	}
	if o.MaxRunItems > 0 {
		l.maxItems = o.MaxRunItems
	}
	if o.MaxRunIDs > 0 {
		l.maxIDs = o.MaxRunIDs
	}
	if o.ConcurrentRuns > 0 {
		l.concurrent = o.ConcurrentRuns
	}
	return l
}

// Engine synthesises speech. It is safe for concurrent use.
type Engine struct {
	opts     Options
	log      *slog.Logger
	cache    *sessionCache
	provider atomic.Value // string: the provider sessions actually run on
	useCUDA  atomic.Bool  // try CUDA for new sessions
	limits   runLimits
	// slots bounds the runs in flight (limits.concurrent); cpuSlot the
	// runs offloaded to the CPU while the engine runs on CUDA.
	slots   chan struct{}
	cpuSlot chan struct{}

	stats stats
}

// New initialises ONNX Runtime (once per process) and returns an engine.
// Unless Provider is cpu it proves CUDA first: a tiny model runs on the
// CUDA execution provider and its output is checked. With Provider cuda a
// failed proof is an error (the worker exits at once instead of failing
// jobs one by one); with auto the engine falls back to the CPU and logs a
// warning.
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
		driver := CUDADriverVersion()
		err := e.proveCUDA()
		switch {
		case err == nil:
			e.useCUDA.Store(true)
			e.provider.Store(ProviderCUDA)
			e.log.Info("CUDA proven: a test model ran on the CUDA execution provider", "cuda_driver", driver,
				"gpu_mem_limit", opts.GPUMemLimit)
		case opts.Provider == ProviderCUDA:
			return nil, fmt.Errorf("CUDA execution provider requested but unusable (driver supports CUDA %s; ONNX Runtime %s): %w",
				driver, ort.GetVersion(), err)
		default:
			e.log.Warn("CUDA execution provider unusable, running on CPU", "cuda_driver", driver, "error", err.Error())
		}
	}
	e.init(inspect, e.openSession)
	e.log.Info("synthesis engine ready", "provider", e.Provider(), "ort_version", ort.GetVersion(),
		"session_cache", opts.SessionCache, "max_run_items", e.limits.maxItems, "max_run_ids", e.limits.maxIDs,
		"concurrent_runs", e.limits.concurrent, "cpu_offload_ids", e.cpuOffloadIDs())
	return e, nil
}

// init sizes the runs for the provider in use and sets up the session
// cache over inspect and create.
func (e *Engine) init(inspect func(*voice.Voice) (voice.Batching, error), create func(*voice.Voice, string) (*session, error)) {
	e.limits = e.opts.limits(e.Provider())
	e.slots = make(chan struct{}, e.limits.concurrent)
	e.cpuSlot = make(chan struct{}, 1)
	e.cache = newSessionCache(e.opts.SessionCache, inspect, create)
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

func (e *Engine) cpuOffloadIDs() int {
	if e.Provider() != ProviderCUDA {
		return 0
	}
	return e.opts.CPUOffloadIDs
}

// cudaProviderOptions are the CUDA execution provider's settings:
//   - cuDNN convolution algorithm search HEURISTIC: the default exhaustive
//     search re-runs for every new input shape, and every sentence length
//     is a new shape (EXHAUSTIVE measured slower on the bench voice);
//   - the arena grows by what is asked (kSameAsRequested), not by powers of
//     two, and never past gpu_mem_limit: a run that does not fit fails
//     with an out-of-memory error that the engine splits and retries.
func (e *Engine) cudaProviderOptions() map[string]string {
	m := map[string]string{
		"cudnn_conv_algo_search": "HEURISTIC",
		"arena_extend_strategy":  "kSameAsRequested",
		"gpu_mem_limit":          strconv.FormatInt(e.opts.GPUMemLimit, 10),
	}
	for k, v := range e.opts.CUDAOptions {
		m[k] = v
	}
	return m
}

func (e *Engine) sessionOptions(cuda bool) (*ort.SessionOptions, error) {
	opts, err := ort.NewSessionOptions()
	if err != nil {
		return nil, fmt.Errorf("session options: %w", err)
	}
	fail := func(err error) (*ort.SessionOptions, error) {
		opts.Destroy()
		return nil, fmt.Errorf("session options: %w", err)
	}
	if e.opts.IntraOpThreads > 0 {
		if err := opts.SetIntraOpNumThreads(e.opts.IntraOpThreads); err != nil {
			return fail(err)
		}
	}
	if cuda {
		c, err := ort.NewCUDAProviderOptions()
		if err != nil {
			return fail(fmt.Errorf("CUDA provider: %w", err))
		}
		defer c.Destroy()
		if err := c.Update(e.cudaProviderOptions()); err != nil {
			return fail(fmt.Errorf("CUDA provider options: %w", err))
		}
		if err := opts.AppendExecutionProviderCUDA(c); err != nil {
			return fail(fmt.Errorf("CUDA provider: %w", err))
		}
	}
	return opts, nil
}

// inspect checks a voice's model, as declared in its file, against the
// Piper contract and its config, and says how its runs may batch. It
// opens no session (voice.ModelPorts reads the file's graph framing).
func inspect(v *voice.Voice) (voice.Batching, error) {
	if v == nil || v.Config == nil {
		return 0, fmt.Errorf("%w: no voice", ErrInvalidVoice)
	}
	ins, outs, err := voice.ModelPorts(v.ModelPath)
	if err != nil {
		return 0, err
	}
	batching, err := voice.CheckModel(v.Config, ins, outs)
	if err != nil {
		return 0, fmt.Errorf("voice %s: %w", v.Name, err)
	}
	return batching, nil
}

// openSession opens a session of a voice on the given provider (auto:
// CUDA when in use). It opens the voice's prepared graph for that kind of
// session as it is (voice.SessionModel: the lifted graph on one CPU
// thread); a prepared graph that fails to load gives way to the model as
// exported, with a warning.
func (e *Engine) openSession(v *voice.Voice, provider string) (*session, error) {
	start := time.Now()
	if provider == ProviderAuto {
		provider = ProviderCPU
		if e.useCUDA.Load() {
			provider = ProviderCUDA
		}
	}
	if !v.Prepared {
		e.log.Warn("voice has no prepared graphs: its runs are cut by level, carry no durations and run the decoder as exported "+
			"(prepare it: chorus-voices prepare)", "voice", v.Name)
	}
	var (
		mu     sync.Mutex
		opened string // the file the instance last loaded came from
	)
	load := func(cuda bool) (*instance, error) {
		path := v.SessionModel(!cuda && e.liftsDecoder())
		inst, err := e.newInstance(v, path, cuda)
		if err != nil && path != v.ModelPath {
			e.log.Warn("prepared graph does not load; opening the model as exported", "voice", v.Name,
				"graph", path, "error", err.Error())
			path = v.ModelPath
			inst, err = e.newInstance(v, path, cuda)
		}
		if err == nil {
			mu.Lock()
			opened = path
			mu.Unlock()
		}
		return inst, err
	}
	open := func() (*instance, error) { return load(provider == ProviderCUDA) }
	s, err := newSession(provider, open)
	if err != nil && provider == ProviderCUDA && e.opts.Provider == ProviderAuto {
		e.log.Warn("CUDA session failed, falling back to CPU", "voice", v.Name, "error", err.Error())
		e.useCUDA.Store(false)
		e.provider.Store(ProviderCPU)
		provider = ProviderCPU
		s, err = newSession(provider, open)
	}
	if err != nil {
		return nil, fmt.Errorf("open session for voice %s: %w", describeVoice(v), err)
	}
	mu.Lock()
	file := opened
	mu.Unlock()
	e.log.Info("voice session opened", "voice", v.Name, "provider", provider, "speakers", v.Config.NumSpeakers,
		"graph", graphKind(v, file), "ms", time.Since(start).Milliseconds())
	return s, nil
}

// graphKind names the kind of graph a session opened, for its log.
func graphKind(v *voice.Voice, path string) string {
	switch path {
	case v.LiftedPath:
		return "lifted"
	case v.GraphPath:
		return "prepared"
	}
	return "as exported"
}

// newInstance opens the model file at path on the CPU or CUDA, asking
// for the durations output when the file declares it.
func (e *Engine) newInstance(v *voice.Voice, path string, cuda bool) (*instance, error) {
	ins, outs, err := voice.ModelPorts(path)
	if err != nil {
		return nil, err
	}
	if _, err := voice.CheckModel(v.Config, ins, outs); err != nil {
		return nil, fmt.Errorf("voice %s (%s): %w", v.Name, path, err)
	}
	inputs := []string{voice.InputIDs, voice.InputLengths, voice.InputScales}
	if v.Config.MultiSpeaker() {
		inputs = append(inputs, voice.InputSID)
	}
	outputs := []string{outs[0].Name}
	durations := voice.HasDurations(outs)
	if durations {
		outputs = append(outputs, voice.OutputDurations)
	}
	opts, err := e.sessionOptions(cuda)
	if err != nil {
		return nil, err
	}
	defer opts.Destroy()
	s, err := ort.NewDynamicAdvancedSession(path, inputs, outputs, opts)
	if err != nil {
		return nil, err
	}
	r := &ortRunner{sess: s, withSID: len(inputs) == 4, withDurations: durations}
	return &instance{run: r.run, destroy: func() { s.Destroy() }}, nil
}

// Preload opens (and checks) the voice's session ahead of the first request.
func (e *Engine) Preload(ctx context.Context, v *voice.Voice) error {
	if v == nil || v.Config == nil {
		return fmt.Errorf("%w: no voice", ErrInvalidVoice)
	}
	vs, err := e.cache.acquire(v)
	if err != nil {
		return err
	}
	defer e.cache.release(vs)
	_, err = vs.get(ctx, ProviderAuto)
	return err
}

// OpenSessions reports how many sessions are open, of all voices.
func (e *Engine) OpenSessions() int { return e.cache.sessions() }

// CachedVoices reports how many voices the session cache holds (its
// capacity, Options.SessionCache, counts voices).
func (e *Engine) CachedVoices() int { return e.cache.len() }

var errEmptyOutput = errors.New("model returned no audio")
