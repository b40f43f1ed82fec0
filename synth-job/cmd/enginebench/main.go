// Command enginebench measures the synthesis engine, in one run, and prints
// one table. Sections (-sections, comma separated):
//
//	rtf         real-time factor (synthesis time / audio time) of single
//	            requests at 1 intra-op thread and at all cores, and at 1
//	            thread with Piper's decoder as exported (1-D convolutions)
//	            beside the engine's lifted one
//	latency     one short sentence, and one paragraph, per call (median)
//	newlength   the extra cost of a sentence length the session has not
//	            seen before (first run over second run of the same text)
//	throughput  requests of 1–2 sentences from -callers goroutines in
//	            batches of -batch, for each run budget of -budgets and
//	            concurrency of -concurrent: audio seconds per second, the
//	            share of wall time with no Run in flight, padding, and on
//	            CUDA the peak device memory (nvidia-smi)
//	rss         resident memory after 100 syntheses, halfway to -rss-runs
//	            and after -rss-runs (settling memory grows less in the
//	            second half; a leak grows as much)
//	sherpa      sherpa-onnx beside Chorus on the same voice and texts,
//	            interleaved: load time, memory after load and at peak, time
//	            at one and two threads on a paragraph and mixed sentences,
//	            and the output sentence by sentence (sherpa.go); run it in
//	            a process of its own, so that its memory figures are its own
//
// (The worker's own costs around the engine, uploads and Firestore, are
// measured by the load run, scripts/load.sh.)
//
// The voice is -voice: "demo" (generated), "bench" (Piper's medium graph
// from ../shared/voices, unpacked into the cache; when it is absent the
// command says so and uses the demo voice) or a path to NAME.onnx.
//
//	CHORUS_ORT_LIBRARY=$(scripts/setup-ort.sh) go run ./synth-job/cmd/enginebench -voice bench
//
// -json FILE appends one JSON record per measurement, for scripts.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"github.com/chorus-voice/chorus/synth-job/demovoice"
	"github.com/chorus-voice/chorus/synth-job/engine"
	"github.com/chorus-voice/chorus/synth-job/internal/benchvoice"
	"github.com/chorus-voice/chorus/synth-job/voice"
	"github.com/chorus-voice/chorus/synth-job/voiceprep"
)

var sentences = []string{
	"Hello everyone, thank you for coming tonight.",
	"It costs $49.95, which is 20% less than last year.",
	"We practised every single day for this show.",
	"Mr. Smith said the concert starts at eight.",
	"I hope you enjoy the new song as much as we do!",
	"Are you ready?",
	"Please take care on the way home.",
	"See you again soon, and stay warm.",
	"The tickets for the second night sold out in under an hour, so we added a third.",
	"Thank you.",
	"Our drummer wrote this one on a train between two cities, somewhere in the middle of the night.",
	"Let's sing it together, one more time, as loud as you can!",
	"Good evening, Seoul!",
	"When we started, we played to twelve people in a basement, and we still remember every one of them.",
	"Water, snacks and merchandise are on the left side of the hall.",
	"This next song is about home.",
}

const (
	shortSentence  = "Hello there."
	mediumSentence = "Thank you all for coming out tonight, it means the world to us."
	paragraph      = "Welcome to the show, everyone. We have waited a long time for this night. " +
		"Before we start, please take a moment to find the exits. Phones are welcome, flash is not. " +
		"We will play for about two hours, with a short break in the middle. Now, let's begin!"
)

type options struct {
	ortLib, provider, voiceArg, sections, jsonOut string
	threads, callers, batch, requests, rssRuns    int
	budgets, concurrent                           []int
	runItems                                      []int
	offload                                       int
	gpuMemLimit                                   int64
	cudaOpts                                      map[string]string
	label                                         string
	keepConv1D                                    bool
	// The sherpa section: sherpa-onnx's node_modules, its driver script
	// and the espeak-ng data it phonemises with.
	sherpaModules, sherpaDriver, espeakData string
}

func main() {
	var o options
	var budgets, concurrent, runItems, cudaOpts, gpuMem string
	flag.StringVar(&o.ortLib, "ort", os.Getenv("CHORUS_ORT_LIBRARY"), "ONNX Runtime shared library")
	flag.StringVar(&o.provider, "provider", engine.ProviderCPU, "execution provider: auto, cuda or cpu")
	flag.StringVar(&o.voiceArg, "voice", "demo", "demo, bench, or a path to NAME.onnx")
	flag.StringVar(&o.sections, "sections", "rtf,latency,throughput,rss", "sections to run (see the package doc)")
	flag.StringVar(&o.jsonOut, "json", "", "append one JSON record per measurement to this file")
	flag.StringVar(&o.label, "label", "", "a label for this configuration in the output")
	flag.IntVar(&o.threads, "threads", 0, "intra-op threads for latency/throughput/rss (0: all cores)")
	flag.IntVar(&o.callers, "callers", 2, "throughput: goroutines calling the engine (the worker's CHORUS_CONCURRENCY)")
	flag.IntVar(&o.batch, "batch", 64, "throughput: requests per call (the worker's CHORUS_BATCH_SIZE)")
	flag.IntVar(&o.requests, "requests", 256, "throughput: requests in all")
	flag.IntVar(&o.rssRuns, "rss-runs", 1000, "rss: syntheses (RSS read after 100 and after this many)")
	flag.StringVar(&budgets, "budgets", "", "throughput: run budgets in padded ids, comma separated (default: the provider's)")
	flag.StringVar(&concurrent, "concurrent", "", "throughput: runs in flight, comma separated (default: the provider's)")
	flag.StringVar(&runItems, "run-items", "", "sentences per run at most, comma separated: throughput measures each (default: the provider's)")
	flag.IntVar(&o.offload, "cpu-offload-ids", 0, "on CUDA, runs of at most this many padded ids go to the CPU")
	flag.StringVar(&gpuMem, "gpu-mem-limit", "", "CUDA arena limit in bytes, or with GiB/MiB (default: the engine's)")
	flag.StringVar(&cudaOpts, "cuda-opt", "", "extra CUDA provider options, key=value,key=value")
	flag.StringVar(&o.sherpaModules, "sherpa-modules", "", "sherpa: the node_modules folder of sherpa-onnx-node (scripts/sherpa/setup.sh prints it)")
	flag.StringVar(&o.sherpaDriver, "sherpa-driver", "scripts/sherpa/driver.js", "sherpa: the driver script")
	flag.StringVar(&o.espeakData, "espeak-data", "/usr/lib/x86_64-linux-gnu/espeak-ng-data", "sherpa: espeak-ng's data folder (Debian's)")
	flag.BoolVar(&o.keepConv1D, "keep-conv1d", false, "one-thread CPU sessions keep Piper's decoder as exported (the rtf section measures both)")
	flag.Parse()
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	var err error
	if o.budgets, err = ints(budgets); err == nil {
		o.concurrent, err = ints(concurrent)
	}
	if err == nil {
		o.runItems, err = ints(runItems)
	}
	if err == nil && gpuMem != "" {
		o.gpuMemLimit, err = parseBytes(gpuMem)
	}
	if err == nil && cudaOpts != "" {
		o.cudaOpts = map[string]string{}
		for _, kv := range strings.Split(cudaOpts, ",") {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				err = fmt.Errorf("-cuda-opt %q: want key=value", kv)
				break
			}
			o.cudaOpts[k] = v
		}
	}
	if err == nil {
		err = run(context.Background(), log, &o)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "enginebench:", err)
		os.Exit(1)
	}
}

func ints(s string) ([]int, error) {
	if s == "" {
		return nil, nil
	}
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return nil, fmt.Errorf("%q is not a number", f)
		}
		out = append(out, n)
	}
	return out, nil
}

func parseBytes(s string) (int64, error) {
	for suffix, unit := range map[string]int64{"GiB": 1 << 30, "MiB": 1 << 20} {
		if n, ok := strings.CutSuffix(s, suffix); ok {
			v, err := strconv.ParseFloat(n, 64)
			return int64(v * float64(unit)), err
		}
	}
	return strconv.ParseInt(s, 10, 64)
}

type bench struct {
	o    *options
	log  *slog.Logger
	v    *voice.Voice
	json *json.Encoder
}

func run(ctx context.Context, log *slog.Logger, o *options) error {
	dir, err := os.MkdirTemp("", "enginebench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	v, err := openVoice(context.Background(), dir, o.voiceArg, o.ortLib)
	if err != nil {
		return err
	}
	b := &bench{o: o, log: log, v: v}
	if o.jsonOut != "" {
		f, err := os.OpenFile(o.jsonOut, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			return err
		}
		defer f.Close()
		b.json = json.NewEncoder(f)
	}
	fmt.Printf("enginebench: voice %s, provider %s, %d cores, ONNX Runtime %s%s\n", v.Name, o.provider, runtime.NumCPU(), o.ortLib, label(o.label))
	for _, s := range strings.Split(o.sections, ",") {
		var err error
		switch strings.TrimSpace(s) {
		case "rtf":
			err = b.rtf(ctx)
		case "latency":
			err = b.latency(ctx)
		case "newlength":
			err = b.newLength(ctx)
		case "throughput":
			err = b.throughput(ctx)
		case "rss":
			err = b.rss(ctx)
		case "sherpa":
			err = b.sherpa(ctx)
		default:
			err = fmt.Errorf("unknown section %q", s)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
	}
	return nil
}

func label(l string) string {
	if l == "" {
		return ""
	}
	return " [" + l + "]"
}

// openVoice opens the voice to measure with its prepared graphs, as the
// worker opens them (made beside the model the first time).
func openVoice(ctx context.Context, dir, arg, ortLib string) (*voice.Voice, error) {
	switch arg {
	case "demo":
		return writeDemo(ctx, dir, ortLib)
	case "bench":
		v, err := benchvoice.Open(ctx, benchvoice.CacheDir(), benchvoice.Medium, ortLib)
		if errors.Is(err, benchvoice.ErrMissing) {
			fmt.Printf("enginebench: the bench voice is not here (%v); measuring the demo voice instead\n", err)
			return writeDemo(ctx, dir, ortLib)
		}
		return v, err
	}
	return voiceprep.Open(ctx, ortLib, arg, "", nil)
}

func writeDemo(ctx context.Context, dir, ortLib string) (*voice.Voice, error) {
	model, config, err := demovoice.Build(demovoice.English())
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, "chorus-demo-en.onnx")
	if err := os.WriteFile(path, model, 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(path+".json", config, 0o644); err != nil {
		return nil, err
	}
	return voiceprep.Open(ctx, ortLib, path, "", nil)
}

// engine opens an engine with the bench's settings and preloads the voice.
func (b *bench) engine(ctx context.Context, provider string, threads, budget, concurrent int) (*engine.Engine, error) {
	return b.engineWith(ctx, provider, threads, budget, concurrent, b.o.keepConv1D, b.runItems())
}

// runItems is the first of -run-items (0: the provider's default).
func (b *bench) runItems() int {
	if len(b.o.runItems) == 0 {
		return 0
	}
	return b.o.runItems[0]
}

// engineWith is engine, with the decoder as exported when keepConv1D and
// runs of at most runItems sentences (0: the provider's default).
func (b *bench) engineWith(ctx context.Context, provider string, threads, budget, concurrent int, keepConv1D bool, runItems int) (*engine.Engine, error) {
	e, err := engine.New(engine.Options{LibraryPath: b.o.ortLib, Provider: provider, IntraOpThreads: threads, KeepConv1D: keepConv1D,
		SessionCache: 2, MaxRunItems: runItems, MaxRunIDs: budget, ConcurrentRuns: concurrent,
		GPUMemLimit: b.o.gpuMemLimit, CUDAOptions: b.o.cudaOpts, CPUOffloadIDs: b.o.offload, Logger: b.log})
	if err != nil {
		return nil, err
	}
	if err := e.Preload(ctx, b.v); err != nil {
		e.Close()
		return nil, err
	}
	return e, nil
}

func (b *bench) record(kind string, fields map[string]any) {
	if b.json == nil {
		return
	}
	fields["kind"], fields["voice"], fields["provider"], fields["label"] = kind, b.v.Name, b.o.provider, b.o.label
	_ = b.json.Encode(fields)
}

// synth runs one call and returns its audio seconds.
func synth(ctx context.Context, e *engine.Engine, v *voice.Voice, reqs []engine.Request) (float64, error) {
	secs, _, err := synthCounting(ctx, e, v, reqs)
	return secs, err
}

// synthCounting is synth that counts the requests refused as too long for
// the device (engine.ErrTooLong, permanent) instead of failing on them.
func synthCounting(ctx context.Context, e *engine.Engine, v *voice.Voice, reqs []engine.Request) (float64, int, error) {
	res, err := e.Synthesize(ctx, v, reqs)
	if err != nil {
		return 0, 0, err
	}
	var secs float64
	tooLong := 0
	for _, r := range res {
		switch {
		case errors.Is(r.Err, engine.ErrTooLong):
			tooLong++
		case r.Err != nil:
			return 0, 0, r.Err
		}
		secs += r.Duration.Seconds()
	}
	return secs, tooLong, nil
}
