package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/chorus-voice/chorus/synth-job/demovoice"
	"github.com/chorus-voice/chorus/synth-job/voice"
)

func items(spec ...[3]float64) []*item {
	var its []*item
	for i, s := range spec { // {ids, sid, length_scale}
		its = append(its, &item{req: i, ids: make([]int64, int(s[0])), sid: int64(s[1]), lengthScale: float32(s[2])})
	}
	return its
}

func TestPlanRuns(t *testing.T) {
	for _, tt := range []struct {
		name     string
		items    []*item
		batching voice.Batching
		maxItems int
		maxIDs   int
		want     string // runs as [ids sid ls …], costliest first
	}{
		{"one run", items([3]float64{10, 0, 1}, [3]float64{30, 0, 1}, [3]float64{20, 0, 1}), voice.SingleSpeaker, 8, 1000,
			"[10/0 20/0 30/0]"},
		{"count", items([3]float64{10, 0, 1}, [3]float64{30, 0, 1}, [3]float64{20, 0, 1}), voice.SingleSpeaker, 2, 1000,
			"[10/0 20/0] [30/0]"},
		{"budget counts padding", items([3]float64{10, 0, 1}, [3]float64{11, 0, 1}, [3]float64{50, 0, 1}), voice.SingleSpeaker, 8, 60,
			"[50/0] [10/0 11/0]"},
		{"length_scale scales the budget", items([3]float64{10, 0, 2}, [3]float64{10, 0, 2}, [3]float64{10, 0, 2}), voice.SingleSpeaker, 8, 40,
			"[10/0 10/0] [10/0]"},
		{"a lone item over budget still runs", items([3]float64{500, 0, 1}), voice.SingleSpeaker, 8, 64, "[500/0]"},
		{"sid [1]: one speaker per run", items([3]float64{10, 1, 1}, [3]float64{10, 0, 1}, [3]float64{12, 1, 1}, [3]float64{11, 0, 1}),
			voice.SpeakerPerRun, 8, 1000, "[10/1 12/1] [10/0 11/0]"},
		{"sid [B]: speakers mix", items([3]float64{10, 1, 1}, [3]float64{10, 0, 1}, [3]float64{12, 1, 1}), voice.SpeakerPerItem, 8, 1000,
			"[10/1 10/0 12/1]"},
		{"one length_scale per run", items([3]float64{10, 0, 1}, [3]float64{10, 0, 0.5}), voice.SpeakerPerItem, 8, 1000,
			"[10/0] [10/0]"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var parts []string
			for _, run := range planRuns(tt.items, tt.batching, tt.maxItems, tt.maxIDs) {
				var its []string
				for _, it := range run {
					its = append(its, fmt.Sprintf("%d/%d", len(it.ids), it.sid))
				}
				parts = append(parts, "["+strings.Join(its, " ")+"]")
			}
			if got := strings.Join(parts, " "); got != tt.want {
				t.Errorf("runs %s, want %s", got, tt.want)
			}
		})
	}
}

// fakeModel stands in for an ONNX session: each item becomes SamplesPerID
// samples of a constant per id (so outputs can be told apart), and a run
// whose padded ids exceed memIDs fails the way ONNX Runtime's CUDA arena
// does at its limit.
type fakeModel struct {
	memIDs    int
	runs      atomic.Int64
	instances atomic.Int64
	mu        sync.Mutex
	sizes     []int // b × n of every attempted run
}

const fakeSamplesPerID = 64

func (f *fakeModel) run(in *batchInput) (*batchOutput, error) {
	f.runs.Add(1)
	f.mu.Lock()
	f.sizes = append(f.sizes, in.b*in.n)
	f.mu.Unlock()
	if in.b*in.n > f.memIDs {
		return nil, fmt.Errorf("[ONNXRuntimeError] : 6 : RUNTIME_EXCEPTION : Non-zero status code returned while running Conv node. "+
			"Name:'/dec/ups.0/ConvTranspose' Status Message: BFCArena::AllocateRawInternal Available memory of 12 is smaller than requested bytes of %d", in.b*in.n*1000)
	}
	per := in.n * fakeSamplesPerID
	data := make([]float32, in.b*per)
	for i := range in.b {
		for j := range int(in.lengths[i]) * fakeSamplesPerID {
			data[i*per+j] = 0.5
		}
	}
	return &batchOutput{data: data, per: per, release: func() {}}, nil
}

func (f *fakeModel) open() (*instance, error) {
	f.instances.Add(1)
	return &instance{run: f.run, destroy: func() {}}, nil
}

func singleSpeaker(*voice.Voice) (voice.Batching, error) { return voice.SingleSpeaker, nil }

func fakeEngine(t *testing.T, opts Options, m *fakeModel, batching voice.Batching) (*Engine, *voice.Voice) {
	t.Helper()
	opts.Logger = slog.New(slog.DiscardHandler)
	opts.withDefaults()
	e := &Engine{opts: opts, log: opts.Logger}
	e.provider.Store(ProviderCUDA)
	e.init(func(*voice.Voice) (voice.Batching, error) { return batching, nil }, func(*voice.Voice, string) (*session, error) {
		return newSession(ProviderCUDA, m.open)
	})
	t.Cleanup(func() { e.Close() })
	return e, &voice.Voice{Name: "fake", ModelPath: "/fake.onnx", Config: demovoice.Config(demovoice.English())}
}

// A run that runs out of memory is split in halves down to what fits; a
// sentence that alone does not fit fails its request with ErrTooLong and
// nothing else.
func TestOutOfMemorySplitsTheRun(t *testing.T) {
	m := &fakeModel{}
	e, v := fakeEngine(t, Options{MaxRunItems: 16, MaxRunIDs: 100000}, m, voice.SpeakerPerRun)
	const short = "Hello there, how are you?"
	long := strings.Repeat("Nobody expected such a long sentence to arrive, ", 6) + "the end."
	shortItems, _, _, err := e.prepare(v.Config, 0, Request{Text: short})
	if err != nil {
		t.Fatal(err)
	}
	longItems, _, _, err := e.prepare(v.Config, 0, Request{Text: long})
	if err != nil {
		t.Fatal(err)
	}
	if len(shortItems) != 1 || len(longItems) != 1 {
		t.Fatalf("want one sentence each, got %d and %d", len(shortItems), len(longItems))
	}
	// Four short sentences fit, eight do not; the long one never does.
	n := len(shortItems[0].ids)
	m.memIDs = 4 * n
	if len(longItems[0].ids) <= m.memIDs {
		t.Fatalf("long sentence has %d ids, not over the %d that fit", len(longItems[0].ids), m.memIDs)
	}
	reqs := []Request{{Text: long}}
	for range 12 {
		reqs = append(reqs, Request{Text: short})
	}
	res, err := e.Synthesize(context.Background(), v, reqs)
	if err != nil {
		t.Fatalf("the call failed as a whole: %v", err)
	}
	if !errors.Is(res[0].Err, ErrTooLong) || !IsPermanent(res[0].Err) {
		t.Errorf("long sentence: %v, want a permanent ErrTooLong", res[0].Err)
	}
	for i, r := range res[1:] {
		if r.Err != nil || len(r.Samples) == 0 {
			t.Errorf("request %d: %v (%d samples), want audio", i+1, r.Err, len(r.Samples))
		}
	}
	st := e.Stats()
	// 13 sentences in one run → halves → … until 3 short ones fit; the
	// long one fails twice (in a batch, then alone). Halving, not one by
	// one; each failure replaced the model instance.
	if st.Splits < 2 || st.Items != 12 || st.Runs > 16 {
		t.Errorf("splits %d, items %d, runs %d (sizes %v)", st.Splits, st.Items, st.Runs, m.sizes)
	}
	if n := m.instances.Load(); n < 3 {
		t.Errorf("%d model instances: each out-of-memory failure should replace the instance", n)
	}
	for _, r := range res[1:] {
		if r.Duration != res[1].Duration {
			t.Errorf("same text, durations %v and %v", r.Duration, res[1].Duration)
		}
	}
}

// A failure that is not about memory is not split: it fails the call
// (transient: the worker retries the batch).
func TestOtherRunErrorsFailTheCall(t *testing.T) {
	m := &fakeModel{memIDs: 1 << 30}
	e, v := fakeEngine(t, Options{}, m, voice.SingleSpeaker)
	e.cache.close()
	boom := errors.New("CUDA failure 719: unspecified launch failure")
	e.init(singleSpeaker, func(*voice.Voice, string) (*session, error) {
		return newSession(ProviderCUDA, func() (*instance, error) {
			return &instance{run: func(*batchInput) (*batchOutput, error) { return nil, boom }, destroy: func() {}}, nil
		})
	})
	_, err := e.Synthesize(context.Background(), v, []Request{{Text: "Hello."}, {Text: "Again."}})
	if !errors.Is(err, boom) || IsPermanent(err) || e.Stats().Splits != 0 {
		t.Fatalf("err %v (splits %d), want the run's error, transient, unsplit", err, e.Stats().Splits)
	}
}

func TestIsOutOfMemory(t *testing.T) {
	for _, msg := range []string{
		"CUDA failure 2: out of memory ; GPU=0",
		"Failed to allocate memory for requested buffer of size 123",
		"BFCArena::AllocateRawInternal Available memory of 0 is smaller than requested bytes of 9",
		"CUDNN_STATUS_ALLOC_FAILED",
		"CUBLAS_STATUS_ALLOC_FAILED",
		"std::bad_alloc",
	} {
		if !isOutOfMemory(errors.New(msg)) {
			t.Errorf("%q not recognised as out of memory", msg)
		}
	}
	for _, msg := range []string{"Got invalid dimensions for input: sid", "unspecified launch failure"} {
		if isOutOfMemory(errors.New(msg)) {
			t.Errorf("%q taken for out of memory", msg)
		}
	}
}

// Runs in flight never exceed ConcurrentRuns, even across calls.
func TestConcurrentRunsBounded(t *testing.T) {
	var inFlight, peak atomic.Int64
	m := &fakeModel{memIDs: 1 << 30}
	e, v := fakeEngine(t, Options{ConcurrentRuns: 2, MaxRunItems: 1}, m, voice.SingleSpeaker)
	e.cache.close()
	e.init(singleSpeaker, func(*voice.Voice, string) (*session, error) {
		return newSession(ProviderCUDA, func() (*instance, error) {
			return &instance{run: func(in *batchInput) (*batchOutput, error) {
				n := inFlight.Add(1)
				for {
					p := peak.Load()
					if n <= p || peak.CompareAndSwap(p, n) {
						break
					}
				}
				defer inFlight.Add(-1)
				return m.run(in)
			}, destroy: func() {}}, nil
		})
	})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			reqs := []Request{{Text: "One."}, {Text: "Two two."}, {Text: "Three three three."}}
			if _, err := e.Synthesize(context.Background(), v, reqs); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if p := peak.Load(); p > 2 || p < 1 {
		t.Errorf("peak runs in flight %d, want at most 2", p)
	}
}

// A call whose runs all go to the CPU session (offloaded from CUDA) never
// opens the CUDA session; a run too large to offload opens it.
func TestOffloadedRunsOpenNoCUDASession(t *testing.T) {
	m := &fakeModel{memIDs: 1 << 30}
	e, v := fakeEngine(t, Options{CPUOffloadIDs: 200}, m, voice.SingleSpeaker)
	e.cache.close()
	f := &fakeSessions{}
	e.init(singleSpeaker, func(v *voice.Voice, provider string) (*session, error) {
		if _, err := f.create(v, provider); err != nil {
			return nil, err
		}
		return newSession(provider, m.open)
	})
	opened := func(provider string) int {
		f.mu.Lock()
		defer f.mu.Unlock()
		return f.byProvider[provider]
	}
	if _, err := e.Synthesize(context.Background(), v, []Request{{Text: "Hello there."}}); err != nil {
		t.Fatal(err)
	}
	if opened(ProviderCPU) != 1 || opened(ProviderAuto) != 0 || e.Stats().Offloaded != 1 {
		t.Fatalf("a short sentence opened %d CPU and %d CUDA sessions (offloaded %d); want the CPU one only",
			opened(ProviderCPU), opened(ProviderAuto), e.Stats().Offloaded)
	}
	long := strings.Repeat("A sentence far too long to offload to the processor, ", 5)
	if _, err := e.Synthesize(context.Background(), v, []Request{{Text: long}}); err != nil {
		t.Fatal(err)
	}
	if opened(ProviderAuto) != 1 {
		t.Errorf("a long sentence opened %d CUDA sessions, want 1", opened(ProviderAuto))
	}
	if n := e.CachedVoices(); n != 1 {
		t.Errorf("%d voices cached, want 1 (its two sessions count once)", n)
	}
}
