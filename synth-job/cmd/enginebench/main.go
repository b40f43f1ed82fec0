// Command enginebench measures the synthesis engine on a generated demo
// voice, in one run:
//
//   - real-time factor (synthesis time / audio time) for single requests;
//
//   - the share of time spent outside ONNX Runtime's Run (phonemes,
//     tensors, trimming, WAV encoding) — the engine's own overhead;
//
//   - throughput of N requests batched (MaxBatch B) against one at a time;
//
//   - resident memory (VmRSS) after 100 and after 1,000 syntheses, and their
//     ratio, to catch a per-run leak (ONNX Runtime 1.24 was reported to leak
//     per inference call).
//
//     CHORUS_ORT_LIBRARY=$(scripts/setup-ort.sh) go run ./synth-job/cmd/enginebench
//
// Flags tune the sizes. The demo voice is cheap to run, so the overhead
// share it shows is an upper bound of what a real VITS voice shows.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/fsouza/fake-gcs-server/fakestorage"

	"github.com/chorus-voice/chorus/shared/blob"
	"github.com/chorus-voice/chorus/synth-job/demovoice"
	"github.com/chorus-voice/chorus/synth-job/engine"
	"github.com/chorus-voice/chorus/synth-job/voice"
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
}

func main() {
	var (
		ortLib   = flag.String("ort", os.Getenv("CHORUS_ORT_LIBRARY"), "ONNX Runtime shared library")
		provider = flag.String("provider", engine.ProviderCPU, "execution provider: auto, cuda or cpu")
		requests = flag.Int("requests", 64, "requests in the throughput comparison")
		batch    = flag.Int("batch", 8, "batch size of the batched engine")
		rssRuns  = flag.Int("rss-runs", 1000, "syntheses in the memory measurement (RSS read after 100 and after this many)")
		threads  = flag.Int("threads", 1, "ONNX Runtime intra-op threads (0 = ORT default)")
	)
	flag.Parse()
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if err := run(context.Background(), log, *ortLib, *provider, *requests, *batch, *rssRuns, *threads); err != nil {
		log.Error("enginebench failed", "error", err.Error())
		os.Exit(1)
	}
}

func run(ctx context.Context, log *slog.Logger, ortLib, provider string, nReq, batch, rssRuns, threads int) error {
	if rssRuns < 100 {
		return errors.New("-rss-runs must be at least 100")
	}
	dir, err := os.MkdirTemp("", "enginebench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	v, err := writeDemo(dir)
	if err != nil {
		return err
	}
	newEngine := func(maxBatch int) (*engine.Engine, error) {
		return engine.New(engine.Options{LibraryPath: ortLib, Provider: provider, MaxRunItems: maxBatch,
			IntraOpThreads: threads, SessionCache: 1, Logger: log})
	}
	batched, err := newEngine(batch)
	if err != nil {
		return err
	}
	defer batched.Close()
	single, err := newEngine(1)
	if err != nil {
		return err
	}
	defer single.Close()
	for _, e := range []*engine.Engine{batched, single} {
		if err := e.Preload(ctx, v); err != nil {
			return err
		}
	}
	fmt.Printf("enginebench: ONNX Runtime library %s, provider %s, intra-op threads %d, demo voice %s\n",
		ortLib, batched.Provider(), threads, v.Name)

	// Uploads go to an in-process GCS fake over loopback HTTP, through the
	// same code the worker uses (blob.Put with its precondition).
	gcs, err := fakestorage.NewServerWithOptions(fakestorage.Options{Scheme: "http", Host: "127.0.0.1", Port: 0})
	if err != nil {
		return fmt.Errorf("gcs fake: %w", err)
	}
	defer gcs.Stop()
	gcs.CreateBucketWithOpts(fakestorage.CreateBucketOpts{Name: "bench-audio"})
	bucket := gcs.Client().Bucket("bench-audio")

	// 1. Real-time factor and overhead: one request per call.
	var (
		wall   time.Duration
		audio  time.Duration
		upload time.Duration
	)
	before := single.Stats()
	for i := range 200 {
		t0 := time.Now()
		res, err := single.Synthesize(ctx, v, []engine.Request{{Text: sentences[i%len(sentences)], SpeakerID: i % 4}})
		wall += time.Since(t0)
		if err != nil {
			return err
		}
		if res[0].Err != nil {
			return res[0].Err
		}
		audio += res[0].Duration
		t1 := time.Now()
		if _, err := blob.Put(ctx, bucket, fmt.Sprintf("audio/%d.wav", i), res[0].WAV, "audio/wav"); err != nil {
			return err
		}
		upload += time.Since(t1)
	}
	st := diff(single.Stats(), before)
	outside := wall - st.Run
	fmt.Printf("real-time factor: %.5f (%s of synthesis for %.1f s of audio, 200 single requests)\n",
		wall.Seconds()/audio.Seconds(), wall.Round(time.Millisecond), audio.Seconds())
	fmt.Printf("time outside session.Run: %.1f%% (phonemes %s, tensors %s, post/WAV %s, other %s; Run %s) [target < 10%%]\n",
		100*outside.Seconds()/wall.Seconds(), st.Phonemize.Round(time.Microsecond), st.Tensors.Round(time.Microsecond),
		st.Post.Round(time.Microsecond), (outside - st.Phonemize - st.Tensors - st.Post).Round(time.Microsecond),
		st.Run.Round(time.Microsecond))
	fmt.Printf("time outside session.Run with the WAV upload: %.1f%% (upload %s for 200 objects to a loopback GCS fake; real GCS adds tens of ms per object)\n",
		100*(outside+upload).Seconds()/(wall+upload).Seconds(), upload.Round(time.Microsecond))

	// 2. Throughput: the same requests batched and one at a time.
	reqs := make([]engine.Request, nReq)
	for i := range reqs {
		reqs[i] = engine.Request{Text: sentences[i%len(sentences)], SpeakerID: i % 4}
	}
	var rates []float64
	for _, c := range []struct {
		name string
		e    *engine.Engine
	}{{fmt.Sprintf("batch %d", batch), batched}, {"batch 1", single}} {
		b := c.e.Stats()
		t0 := time.Now()
		res, err := c.e.Synthesize(ctx, v, reqs)
		el := time.Since(t0)
		if err != nil {
			return err
		}
		var secs float64
		for _, r := range res {
			if r.Err != nil {
				return r.Err
			}
			secs += r.Duration.Seconds()
		}
		d := diff(c.e.Stats(), b)
		fmt.Printf("throughput %-8s: %d requests in %s = %.1f requests/s, %.0f audio s/s (%d runs)\n",
			c.name, nReq, el.Round(time.Millisecond), float64(nReq)/el.Seconds(), secs/el.Seconds(), d.Runs)
		rates = append(rates, float64(nReq)/el.Seconds())
	}
	fmt.Printf("batching speed-up: %.2fx (batch %d throughput / one-at-a-time throughput, same requests)\n", rates[0]/rates[1], batch)

	// 3. Memory over many syntheses (single requests, one Run each).
	var rss100 int64
	for i := 1; i <= rssRuns; i++ {
		res, err := single.Synthesize(ctx, v, []engine.Request{{Text: sentences[i%len(sentences)], SpeakerID: i % 4}})
		if err != nil {
			return err
		}
		if res[0].Err != nil {
			return res[0].Err
		}
		if i == 100 {
			if rss100, err = vmRSS(); err != nil {
				return err
			}
		}
	}
	rssN, err := vmRSS()
	if err != nil {
		return err
	}
	fmt.Printf("RSS after 100 syntheses: %.1f MiB; after %d: %.1f MiB; ratio %.3f (growth %.1f KiB per synthesis)\n",
		float64(rss100)/1024, rssRuns, float64(rssN)/1024, float64(rssN)/float64(rss100),
		float64(rssN-rss100)/float64(rssRuns-100))
	return nil
}

func diff(a, b engine.Stats) engine.Stats {
	return engine.Stats{
		Phonemize: a.Phonemize - b.Phonemize, Tensors: a.Tensors - b.Tensors, Run: a.Run - b.Run,
		Post: a.Post - b.Post, Runs: a.Runs - b.Runs, Items: a.Items - b.Items,
	}
}

func writeDemo(dir string) (*voice.Voice, error) {
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
	return voice.Open(path, "")
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
