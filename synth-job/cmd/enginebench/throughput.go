package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chorus-voice/chorus/synth-job/engine"
)

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

// throughput is the throughput section: requests from concurrent callers
// in batches, for each run budget and concurrency.
func (b *bench) throughput(ctx context.Context) error {
	budgets := b.o.budgets
	if len(budgets) == 0 {
		budgets = []int{0}
	}
	concs := b.o.concurrent
	if len(concs) == 0 {
		concs = []int{0}
	}
	items := b.o.runItems
	if len(items) == 0 {
		items = []int{0}
	}
	reqs := workload(b.o.requests)
	for _, n := range items {
		for _, c := range concs {
			for _, budget := range budgets {
				if err := b.throughputOne(ctx, reqs, n, budget, c); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// throughputOne measures one run size, budget and concurrency.
func (b *bench) throughputOne(ctx context.Context, reqs []engine.Request, runItems, budget, concurrent int) error {
	vram := newVRAMWatch(b.o.provider)
	defer vram.stop()
	e, err := b.engineWith(ctx, b.o.provider, b.o.threads, budget, concurrent, b.o.keepConv1D, runItems)
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
	fmt.Printf("| %s throughput, runs of %s sentences, budget %s ids, %s runs in flight, %d callers × %d%s | %.0f audio-s/s | %d requests in %s; %d runs, %.1f items/run; outside Run %.1f%%; %d OOM splits, %d sentences too long for the device%s |\n",
		e.Provider(), orDefault(runItems), orDefault(budget), orDefault(concurrent), b.o.callers, b.o.batch, label(b.o.label), secs/wall.Seconds(), len(reqs),
		wall.Round(time.Millisecond), d.runs, float64(d.items)/float64(max(d.runs, 1)), 100*outside, d.splits, refused.Load(), mem)
	b.record("throughput", map[string]any{"run_items": runItems, "budget": budget, "concurrent": concurrent, "callers": b.o.callers, "batch": b.o.batch,
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
