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
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

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
	runItems, offload                             int
	gpuMemLimit                                   int64
	cudaOpts                                      map[string]string
	label                                         string
	keepConv1D                                    bool
}

func main() {
	var o options
	var budgets, concurrent, cudaOpts, gpuMem string
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
	flag.IntVar(&o.runItems, "run-items", 0, "sentences per run at most (0: the provider's default)")
	flag.IntVar(&o.offload, "cpu-offload-ids", 0, "on CUDA, runs of at most this many padded ids go to the CPU")
	flag.StringVar(&gpuMem, "gpu-mem-limit", "", "CUDA arena limit in bytes, or with GiB/MiB (default: the engine's)")
	flag.StringVar(&cudaOpts, "cuda-opt", "", "extra CUDA provider options, key=value,key=value")
	flag.BoolVar(&o.keepConv1D, "keep-conv1d", false, "one-thread CPU sessions keep Piper's decoder as exported (the rtf section measures both)")
	flag.Parse()
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	var err error
	if o.budgets, err = ints(budgets); err == nil {
		o.concurrent, err = ints(concurrent)
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
	return b.engineWith(ctx, provider, threads, budget, concurrent, b.o.keepConv1D)
}

// engineWith is engine, with the decoder as exported when keepConv1D.
func (b *bench) engineWith(ctx context.Context, provider string, threads, budget, concurrent int, keepConv1D bool) (*engine.Engine, error) {
	e, err := engine.New(engine.Options{LibraryPath: b.o.ortLib, Provider: provider, IntraOpThreads: threads, KeepConv1D: keepConv1D,
		SessionCache: 2, MaxRunItems: b.o.runItems, MaxRunIDs: budget, ConcurrentRuns: concurrent,
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

func (b *bench) rtf(ctx context.Context) error {
	var lifted, exported float64
	for _, c := range []struct {
		threads int
		keep    bool
	}{{1, false}, {0, false}, {1, true}} {
		rtf, err := b.rtfOne(ctx, c.threads, c.keep)
		if err != nil {
			return err
		}
		if c.threads == 1 && c.keep {
			exported = rtf
		} else if c.threads == 1 {
			lifted = rtf
		}
	}
	fmt.Printf("| CPU RTF, 1 thread: lifted / exported decoder | %.3f | the engine's 2-D decoder over Piper's 1-D one, same run |\n", lifted/exported)
	b.record("rtf_lift_ratio", map[string]any{"ratio": lifted / exported})
	return nil
}

func (b *bench) rtfOne(ctx context.Context, threads int, keepConv1D bool) (float64, error) {
	e, err := b.engineWith(ctx, engine.ProviderCPU, threads, 0, 0, keepConv1D)
	if err != nil {
		return 0, err
	}
	defer e.Close()
	// Warm up every sentence length once, then measure.
	for _, s := range sentences[:8] {
		if _, err := synth(ctx, e, b.v, []engine.Request{{Text: s}}); err != nil {
			return 0, err
		}
	}
	var wall time.Duration
	var audio float64
	before := e.Stats()
	for i := range 24 {
		t0 := time.Now()
		secs, err := synth(ctx, e, b.v, []engine.Request{{Text: sentences[i%8]}})
		wall += time.Since(t0)
		if err != nil {
			return 0, err
		}
		audio += secs
	}
	st := e.Stats()
	outside := 1 - (st.Busy-before.Busy).Seconds()/wall.Seconds()
	n := "1 thread"
	if threads == 0 {
		n = fmt.Sprintf("all %d cores", runtime.NumCPU())
	}
	if keepConv1D {
		n += ", decoder as exported"
	}
	rtf := wall.Seconds() / audio
	fmt.Printf("| CPU RTF, %-14s | %.4f | %.1f s of audio in %s; outside Run %.1f%% |\n",
		n, rtf, audio, wall.Round(time.Millisecond), 100*outside)
	b.record("rtf", map[string]any{"threads": threads, "rtf": rtf, "outside_run": outside, "decoder_as_exported": keepConv1D})
	return rtf, nil
}

// timeOne returns the median wall time of n calls of one request.
func timeOne(ctx context.Context, e *engine.Engine, v *voice.Voice, text string, n int) (time.Duration, float64, error) {
	var times []time.Duration
	var secs float64
	for range n {
		t0 := time.Now()
		s, err := synth(ctx, e, v, []engine.Request{{Text: text}})
		if err != nil {
			return 0, 0, err
		}
		times = append(times, time.Since(t0))
		secs = s
	}
	slices.Sort(times)
	return times[len(times)/2], secs, nil
}

func (b *bench) latency(ctx context.Context) error {
	e, err := b.engine(ctx, b.o.provider, b.o.threads, 0, 0)
	if err != nil {
		return err
	}
	defer e.Close()
	// Warm-up: the first run of a session is slow (cuDNN, arenas).
	if _, _, err := timeOne(ctx, e, b.v, shortSentence, 3); err != nil {
		return err
	}
	if _, _, err := timeOne(ctx, e, b.v, paragraph, 1); err != nil {
		return err
	}
	short, shortSecs, err := timeOne(ctx, e, b.v, shortSentence, 21)
	if err != nil {
		return err
	}
	if _, _, err := timeOne(ctx, e, b.v, mediumSentence, 2); err != nil {
		return err
	}
	medium, mediumSecs, err := timeOne(ctx, e, b.v, mediumSentence, 11)
	if err != nil {
		return err
	}
	para, paraSecs, err := timeOne(ctx, e, b.v, paragraph, 5)
	if err != nil {
		return err
	}
	name := e.Provider() + label(b.o.label)
	if b.o.provider == engine.ProviderCPU {
		name = fmt.Sprintf("cpu, %s threads%s", orDefault(b.o.threads), label(b.o.label))
	}
	fmt.Printf("| %s: one short sentence (%.2f s of audio) | %.1f ms | median of 21, offloaded runs %d |\n",
		name, shortSecs, ms(short), e.Stats().Offloaded)
	fmt.Printf("| %s: one longer sentence (%.2f s of audio) | %.1f ms | median of 11 |\n", name, mediumSecs, ms(medium))
	fmt.Printf("| %s: one paragraph (%.1f s of audio, 6 sentences) | %.0f ms | RTF %.4f, median of 5 |\n",
		name, paraSecs, ms(para), para.Seconds()/paraSecs)
	b.record("latency", map[string]any{"short_ms": ms(short), "short_audio_s": shortSecs, "medium_ms": ms(medium),
		"medium_audio_s": mediumSecs, "paragraph_ms": ms(para),
		"paragraph_audio_s": paraSecs, "paragraph_rtf": para.Seconds() / paraSecs, "threads": b.o.threads, "cpu_offload_ids": b.o.offload})
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func (b *bench) newLength(ctx context.Context) error {
	e, err := b.engine(ctx, b.o.provider, b.o.threads, 0, 0)
	if err != nil {
		return err
	}
	defer e.Close()
	if _, _, err := timeOne(ctx, e, b.v, shortSentence, 3); err != nil {
		return err
	}
	words := strings.Fields("one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen")
	var ratios []float64
	for n := 3; n <= len(words); n++ {
		text := strings.Join(words[:n], " ") + "."
		first, _, err := timeOne(ctx, e, b.v, text, 1)
		if err != nil {
			return err
		}
		again, _, err := timeOne(ctx, e, b.v, text, 3)
		if err != nil {
			return err
		}
		ratios = append(ratios, first.Seconds()/again.Seconds())
	}
	slices.Sort(ratios)
	med := ratios[len(ratios)/2]
	fmt.Printf("| %s: a sentence length never seen before | %+.0f%% | median of %d lengths (first run / later runs) |\n",
		e.Provider(), 100*(med-1), len(ratios))
	b.record("newlength", map[string]any{"penalty": med - 1})
	return nil
}

// workload returns n requests of one or two sentences, the same every run.
func workload(n int) []engine.Request {
	r := rand.New(rand.NewPCG(1, 2))
	reqs := make([]engine.Request, n)
	for i := range reqs {
		text := sentences[r.IntN(len(sentences))]
		if r.IntN(2) == 1 {
			text += " " + sentences[r.IntN(len(sentences))]
		}
		reqs[i] = engine.Request{Text: text}
	}
	return reqs
}

func (b *bench) throughput(ctx context.Context) error {
	budgets := b.o.budgets
	if len(budgets) == 0 {
		budgets = []int{0}
	}
	concs := b.o.concurrent
	if len(concs) == 0 {
		concs = []int{0}
	}
	reqs := workload(b.o.requests)
	for _, c := range concs {
		for _, budget := range budgets {
			if err := b.throughputOne(ctx, reqs, budget, c); err != nil {
				return err
			}
		}
	}
	return nil
}

func (b *bench) throughputOne(ctx context.Context, reqs []engine.Request, budget, concurrent int) error {
	vram := newVRAMWatch(b.o.provider)
	defer vram.stop()
	e, err := b.engine(ctx, b.o.provider, b.o.threads, budget, concurrent)
	if err != nil {
		return err
	}
	defer e.Close()
	// Warm up on a slice of the same workload (new shapes, arenas).
	if _, err := synth(ctx, e, b.v, reqs[:min(len(reqs), b.o.batch)]); err != nil {
		return err
	}
	before := e.Stats()
	var next atomic.Int64
	var audio atomic.Int64 // ms
	var refused atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, b.o.callers)
	t0 := time.Now()
	for range b.o.callers {
		wg.Go(func() {
			for {
				start := int(next.Add(int64(b.o.batch))) - b.o.batch
				if start >= len(reqs) {
					return
				}
				secs, oom, err := synthCounting(ctx, e, b.v, reqs[start:min(start+b.o.batch, len(reqs))])
				if err != nil {
					errs <- err
					return
				}
				audio.Add(int64(secs * 1000))
				refused.Add(int64(oom))
			}
		})
	}
	wg.Wait()
	wall := time.Since(t0)
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	st := e.Stats()
	d := struct{ busy, runs, items, padded, splits, off int64 }{int64(st.Busy - before.Busy), st.Runs - before.Runs,
		st.Items - before.Items, st.PaddedIDs - before.PaddedIDs, st.Splits - before.Splits, st.Offloaded - before.Offloaded}
	secs := float64(audio.Load()) / 1000
	outside := 1 - time.Duration(d.busy).Seconds()/wall.Seconds()
	peak := vram.peak()
	mem := ""
	if peak > 0 {
		mem = fmt.Sprintf(", peak VRAM %.1f GB", float64(peak)/1e9)
	}
	fmt.Printf("| %s throughput, budget %s ids, %s runs in flight, %d callers × %d%s | %.0f audio-s/s | %d requests in %s; %d runs, %.1f items/run; outside Run %.1f%%; %d OOM splits, %d sentences too long for the device%s |\n",
		e.Provider(), orDefault(budget), orDefault(concurrent), b.o.callers, b.o.batch, label(b.o.label), secs/wall.Seconds(), len(reqs),
		wall.Round(time.Millisecond), d.runs, float64(d.items)/float64(max(d.runs, 1)), 100*outside, d.splits, refused.Load(), mem)
	b.record("throughput", map[string]any{"budget": budget, "concurrent": concurrent, "callers": b.o.callers, "batch": b.o.batch,
		"requests": len(reqs), "audio_s_per_s": secs / wall.Seconds(), "wall_s": wall.Seconds(), "runs": d.runs,
		"items_per_run": float64(d.items) / float64(max(d.runs, 1)), "outside_run": outside, "splits": d.splits, "refused": refused.Load(),
		"peak_vram_bytes": peak, "gpu_mem_limit": b.o.gpuMemLimit, "cuda_opts": b.o.cudaOpts, "threads": b.o.threads})
	return nil
}

func orDefault(n int) string {
	if n == 0 {
		return "default"
	}
	return strconv.Itoa(n)
}

func (b *bench) rss(ctx context.Context) error {
	e, err := b.engine(ctx, engine.ProviderCPU, b.o.threads, 0, 0)
	if err != nil {
		return err
	}
	defer e.Close()
	// RSS after 100 syntheses, halfway and at the end: memory that is
	// still settling grows less in the second half than in the first; a
	// leak grows as much.
	half := (100 + b.o.rssRuns) / 2
	var rss100, rssHalf int64
	for i := 1; i <= b.o.rssRuns; i++ {
		if _, err := synth(ctx, e, b.v, []engine.Request{{Text: sentences[i%len(sentences)]}}); err != nil {
			return err
		}
		switch i {
		case 100:
			rss100, err = vmRSS()
		case half:
			rssHalf, err = vmRSS()
		}
		if err != nil {
			return err
		}
	}
	rssN, err := vmRSS()
	if err != nil {
		return err
	}
	perRun := func(from, to int64, runs int) float64 { return float64(to-from) / float64(max(runs, 1)) }
	fmt.Printf("| RSS after 100 / %d / %d syntheses | %.1f / %.1f / %.1f MiB | ratio %.3f; %.1f KiB per synthesis in the first half, %.1f in the second |\n",
		half, b.o.rssRuns, float64(rss100)/1024, float64(rssHalf)/1024, float64(rssN)/1024, float64(rssN)/float64(rss100),
		perRun(rss100, rssHalf, half-100), perRun(rssHalf, rssN, b.o.rssRuns-half))
	b.record("rss", map[string]any{"rss100_kib": rss100, "rss_half_kib": rssHalf, "rssN_kib": rssN, "runs": b.o.rssRuns})
	return nil
}

// vmRSS reads the process's resident set size in KiB from /proc/self/status.
func vmRSS() (int64, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, fmt.Errorf("read RSS: %w", err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(s.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("parse VmRSS %q: %w", rest, err)
			}
			return kb, nil
		}
	}
	return 0, errors.New("no VmRSS in /proc/self/status")
}

// vramWatch samples the device memory in use (nvidia-smi) every 100 ms
// while a CUDA measurement runs. ONNX Runtime's arena keeps what it took,
// so the peak is what the configuration needs.
type vramWatch struct {
	on   bool
	done chan struct{}
	wg   sync.WaitGroup
	mu   sync.Mutex
	max  int64
}

func newVRAMWatch(provider string) *vramWatch {
	w := &vramWatch{done: make(chan struct{})}
	if provider == engine.ProviderCPU {
		return w
	}
	if _, err := exec.LookPath("nvidia-smi"); err != nil {
		return w
	}
	w.on = true
	w.wg.Go(func() {
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			if used := usedVRAM(); used > 0 {
				w.mu.Lock()
				w.max = max(w.max, used)
				w.mu.Unlock()
			}
			select {
			case <-w.done:
				return
			case <-t.C:
			}
		}
	})
	return w
}

func (w *vramWatch) stop() {
	select {
	case <-w.done:
	default:
		close(w.done)
	}
	w.wg.Wait()
}

// peak is the most device memory seen in use, in bytes (0 when unknown).
func (w *vramWatch) peak() int64 {
	if !w.on {
		return 0
	}
	if used := usedVRAM(); used > 0 {
		w.mu.Lock()
		w.max = max(w.max, used)
		w.mu.Unlock()
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.max
}

// usedVRAM asks nvidia-smi for the memory in use on GPU 0, in bytes.
func usedVRAM() int64 {
	out, err := exec.Command("nvidia-smi", "--query-gpu=memory.used", "--format=csv,noheader,nounits", "-i", "0").Output()
	if err != nil {
		return 0
	}
	mib, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
	if err != nil {
		return 0
	}
	return mib << 20
}
