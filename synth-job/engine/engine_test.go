package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/chorus-voice/chorus/synth-job/demovoice"
	"github.com/chorus-voice/chorus/synth-job/engine"
	"github.com/chorus-voice/chorus/synth-job/internal/benchvoice"
	"github.com/chorus-voice/chorus/synth-job/internal/testenv"
	"github.com/chorus-voice/chorus/synth-job/phonemize"
	"github.com/chorus-voice/chorus/synth-job/voice"
	"github.com/chorus-voice/chorus/synth-job/wav"
)

func newEngine(t testing.TB, opts engine.Options) *engine.Engine {
	t.Helper()
	opts.LibraryPath = testenv.ORTLibrary(t)
	if opts.Provider == "" {
		opts.Provider = engine.ProviderCPU
	}
	e, err := engine.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// writeVoice generates a demo voice into dir; mutate may change its config.
func writeVoice(t testing.TB, dir, name string, o demovoice.Options, mutate func(*voice.Config)) *voice.Voice {
	t.Helper()
	model, _, err := demovoice.Build(o)
	if err != nil {
		t.Fatal(err)
	}
	cfg := demovoice.Config(o)
	if mutate != nil {
		mutate(cfg)
	}
	cfgJSON, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name+".onnx")
	if err := os.WriteFile(path, model, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path+".json", cfgJSON, 0o644); err != nil {
		t.Fatal(err)
	}
	v, err := voice.Open(path, "")
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// wavOf is the result as the worker stores it in WAV.
func wavOf(t testing.TB, r engine.Result) []byte {
	t.Helper()
	if r.Err != nil {
		t.Fatalf("result error: %v", r.Err)
	}
	b, err := wav.Encode(r.Samples, r.SampleRate)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// decode is the result's 16-bit samples, as a WAV file holds them.
func decode(t *testing.T, r engine.Result) *wav.Audio {
	t.Helper()
	a, err := wav.Decode(wavOf(t, r))
	if err != nil {
		t.Fatal(err)
	}
	if a.SampleRate != r.SampleRate || len(a.Samples) != len(r.Samples) {
		t.Fatalf("WAV has rate %d and %d samples, result says %d and %d", a.SampleRate, len(a.Samples), r.SampleRate, len(r.Samples))
	}
	want := time.Duration(float64(len(r.Samples)) / float64(r.SampleRate) * float64(time.Second))
	if d := r.Duration - want; d > time.Millisecond || d < -time.Millisecond {
		t.Fatalf("duration %v, want %v", r.Duration, want)
	}
	return a
}

func TestSynthesizeEnglishBatch(t *testing.T) {
	e := newEngine(t, engine.Options{})
	v := writeVoice(t, t.TempDir(), "en", demovoice.English(), nil)
	reqs := []engine.Request{
		{Text: "Hello world.", SpeakerID: 0},
		{Text: "Hello world.", SpeakerID: 3},
		{Text: "Hello world.", SpeakerID: 0, Speed: 2},
		{Text: "It costs $49.95. Thank you!", SpeakerID: 1},
	}
	res, err := e.Synthesize(context.Background(), v, reqs)
	if err != nil {
		t.Fatal(err)
	}
	a0, a1, a2, a3 := decode(t, res[0]), decode(t, res[1]), decode(t, res[2]), decode(t, res[3])
	if res[0].SampleRate != demovoice.SampleRate || res[0].Sentences != 1 || res[3].Sentences != 2 {
		t.Errorf("rate %d sentences %d/%d", res[0].SampleRate, res[0].Sentences, res[3].Sentences)
	}
	// "Hello world." is 14 phonemes (həlˈoʊ wˈɜːld.) → 31 ids × 1024 samples
	// before trimming; trimming drops at most the final "_ $" pads.
	if n := len(a0.Samples); n < 28*demovoice.SamplesPerID || n > 31*demovoice.SamplesPerID {
		t.Errorf("speaker 0: %d samples, want about 31 ids × %d", n, demovoice.SamplesPerID)
	}
	if d := len(a1.Samples) - len(a0.Samples); d > demovoice.SamplesPerID || d < -demovoice.SamplesPerID {
		t.Errorf("speaker changes length beyond trimming: %d vs %d", len(a1.Samples), len(a0.Samples))
	}
	if same(a0.Samples, a1.Samples) {
		t.Error("speakers 0 and 3 sound the same")
	}
	if ratio := float64(len(a2.Samples)) / float64(len(a0.Samples)); ratio < 0.45 || ratio > 0.6 {
		t.Errorf("speed 2 gives %.2f of the length, want about 0.5", ratio)
	}
	// Two sentences joined by 0.2 s of exact silence.
	gap := int(0.2 * demovoice.SampleRate)
	if longestZeroRun(a3.Samples) < gap {
		t.Errorf("no %d-sample silence between sentences (longest %d)", gap, longestZeroRun(a3.Samples))
	}
	// Each request is levelled as a whole: −16 LUFS, or the true-peak
	// ceiling when it would be exceeded, never above it.
	for i, r := range res {
		if lufs, tp := r.Level.Integrated, r.Level.TruePeakDBTP(); tp > engine.DefaultTruePeak || math.Abs(lufs-engine.DefaultLoudness) > 0.1 {
			t.Errorf("request %d: %.2f LUFS, true peak %.2f dBTP", i, lufs, tp)
		}
	}
	if p := peak(a0.Samples); p > 27600 {
		t.Errorf("sample peak %d over the −1.5 dBTP ceiling", p)
	}
}

func same(a, b []int16) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func longestZeroRun(x []int16) int {
	best, cur := 0, 0
	for _, v := range x {
		if v == 0 {
			cur++
			best = max(best, cur)
		} else {
			cur = 0
		}
	}
	return best
}

func peak(x []int16) int {
	p := 0
	for _, v := range x {
		p = max(p, int(math.Abs(float64(v))))
	}
	return p
}

// Batching must not change what anyone hears.
func TestBatchedEqualsOneAtATime(t *testing.T) {
	dir := t.TempDir()
	v := writeVoice(t, dir, "en", demovoice.English(), nil)
	reqs := []engine.Request{
		{Text: "A short one.", SpeakerID: 2},
		{Text: "This sentence is quite a lot longer than the first one, with a clause.", SpeakerID: 1},
		{Text: "Medium length words here. And a second sentence.", SpeakerID: 0, Speed: 1.25},
		{Text: "Hi.", SpeakerID: 3},
	}
	batched := newEngine(t, engine.Options{MaxRunItems: 8})
	single := newEngine(t, engine.Options{MaxRunItems: 1})
	rb, err := batched.Synthesize(context.Background(), v, reqs)
	if err != nil {
		t.Fatal(err)
	}
	before := single.Stats().Runs
	var rs []engine.Result
	for _, r := range reqs {
		one, err := single.Synthesize(context.Background(), v, []engine.Request{r})
		if err != nil {
			t.Fatal(err)
		}
		rs = append(rs, one[0])
	}
	for i := range reqs {
		if !slices.Equal(rb[i].Samples, rs[i].Samples) {
			a, b := decode(t, rb[i]), decode(t, rs[i])
			t.Errorf("request %d: batched %d samples, alone %d samples, differ", i, len(a.Samples), len(b.Samples))
		}
	}
	if got := single.Stats().Runs - before; got != 5 {
		t.Errorf("one at a time made %d runs, want 5 (one per sentence)", got)
	}
}

func TestPerRequestPermanentErrors(t *testing.T) {
	e := newEngine(t, engine.Options{})
	v := writeVoice(t, t.TempDir(), "en", demovoice.English(), nil)
	res, err := e.Synthesize(context.Background(), v, []engine.Request{
		{Text: "Fine.", SpeakerID: 0},
		{Text: "Fine.", SpeakerID: 4},
		{Text: "Fine.", SpeakerID: -1},
		{Text: "  ... !? ", SpeakerID: 0},
		{Text: "", SpeakerID: 0},
		{Text: "Fine.", Speed: 10},
		{Text: "Fine.", Speed: math.NaN()},
	})
	if err != nil {
		t.Fatal(err)
	}
	decode(t, res[0])
	want := []error{nil, engine.ErrSpeaker, engine.ErrSpeaker, engine.ErrNoPhonemes, engine.ErrNoPhonemes, engine.ErrSpeed, engine.ErrSpeed}
	for i, w := range want[1:] {
		r := res[i+1]
		if !errors.Is(r.Err, w) || !engine.IsPermanent(r.Err) || r.Samples != nil {
			t.Errorf("request %d: err %v, want %v (permanent, no audio)", i+1, r.Err, w)
		}
	}
}

func TestInvalidVoices(t *testing.T) {
	e := newEngine(t, engine.Options{})
	dir := t.TempDir()
	// The model has no sid input but the config claims 4 speakers.
	one := demovoice.Korean()
	mismatch := writeVoice(t, dir, "mismatch", one, func(c *voice.Config) { c.NumSpeakers = 4 })
	_, err := e.Synthesize(context.Background(), mismatch, []engine.Request{{Text: "안녕하세요."}})
	if !errors.Is(err, engine.ErrInvalidVoice) || !engine.IsPermanent(err) || !strings.Contains(err.Error(), `no "sid" input`) {
		t.Errorf("mismatched voice: %v", err)
	}
	// Not an ONNX file at all.
	garbage := writeVoice(t, dir, "garbage", demovoice.English(), nil)
	if err := os.WriteFile(garbage.ModelPath, []byte("definitely not protobuf"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Synthesize(context.Background(), garbage, []engine.Request{{Text: "Hi."}}); !errors.Is(err, engine.ErrInvalidVoice) {
		t.Errorf("garbage model: %v", err)
	}
	// espeak-ng does not know the voice.
	noEspeak := writeVoice(t, dir, "noespeak", demovoice.English(), func(c *voice.Config) { c.Espeak.Voice = "xx-nope" })
	res, err := e.Synthesize(context.Background(), noEspeak, []engine.Request{{Text: "Hi."}})
	if err != nil || !errors.Is(res[0].Err, engine.ErrInvalidVoice) {
		t.Errorf("unknown espeak voice: %v / %v", err, res[0].Err)
	}
	if _, err := e.Synthesize(context.Background(), nil, nil); !errors.Is(err, engine.ErrInvalidVoice) {
		t.Errorf("nil voice: %v", err)
	}
}

func TestKoreanSingleSpeakerRank4(t *testing.T) {
	e := newEngine(t, engine.Options{})
	o := demovoice.Korean()
	o.Rank4 = true
	v := writeVoice(t, t.TempDir(), "ko", o, nil)
	res, err := e.Synthesize(context.Background(), v, []engine.Request{{Text: "안녕하세요. 오늘 날씨가 정말 좋네요!"}})
	if err != nil {
		t.Fatal(err)
	}
	a := decode(t, res[0])
	if res[0].Sentences != 2 || len(a.Samples) < demovoice.SampleRate {
		t.Errorf("%d sentences, %d samples", res[0].Sentences, len(a.Samples))
	}
	if res[0].MissingPhonemes != 0 {
		t.Errorf("%d phonemes missing from the demo map", res[0].MissingPhonemes)
	}
}

func TestTextPhonemesAndMissingSymbols(t *testing.T) {
	e := newEngine(t, engine.Options{})
	dir := t.TempDir()
	text := writeVoice(t, dir, "text", demovoice.English(), func(c *voice.Config) { c.PhonemeType = voice.PhonemeText })
	res, err := e.Synthesize(context.Background(), text, []engine.Request{{Text: "hello"}})
	if err != nil {
		t.Fatal(err)
	}
	decode(t, res[0])
	// ^ _ h _ e _ l _ l _ o _ $ = 13 ids.
	if n := len(res[0].Samples); n > 13*demovoice.SamplesPerID || n < 11*demovoice.SamplesPerID {
		t.Errorf("text voice: %d samples for 13 ids", n)
	}
	sparse := writeVoice(t, dir, "sparse", demovoice.English(), func(c *voice.Config) { delete(c.PhonemeIDMap, "ə") })
	res, err = e.Synthesize(context.Background(), sparse, []engine.Request{{Text: "Hello world."}})
	if err != nil {
		t.Fatal(err)
	}
	decode(t, res[0])
	if res[0].MissingPhonemes != 1 {
		t.Errorf("MissingPhonemes = %d, want 1 (ə)", res[0].MissingPhonemes)
	}
}

func TestLongTextIsBounded(t *testing.T) {
	e := newEngine(t, engine.Options{MaxTextRunes: 50, MaxPhonemes: 40})
	v := writeVoice(t, t.TempDir(), "en", demovoice.English(), nil)
	long := strings.Repeat("and then the music played on without any pause at all ", 8)
	res, err := e.Synthesize(context.Background(), v, []engine.Request{{Text: long}})
	if err != nil {
		t.Fatal(err)
	}
	decode(t, res[0])
	if res[0].Sentences < 10 {
		t.Errorf("%d items for %d runes; want pieces of ≤50 runes / ≤40 phonemes", res[0].Sentences, len(long))
	}
	st := e.Stats()
	if st.Items != int64(res[0].Sentences) {
		t.Errorf("stats items %d, sentences %d", st.Items, res[0].Sentences)
	}
}

func TestSessionCacheEvictsAndConcurrency(t *testing.T) {
	e := newEngine(t, engine.Options{SessionCache: 2, MaxRunItems: 3})
	dir := t.TempDir()
	voices := []*voice.Voice{
		writeVoice(t, dir, "a", demovoice.English(), nil),
		writeVoice(t, dir, "b", demovoice.Korean(), nil),
		writeVoice(t, dir, "c", demovoice.English(), nil),
	}
	texts := []string{"Hello there. General greeting!", "안녕하세요.", "One, two, three."}
	want := make([][]float32, len(voices))
	for i, v := range voices {
		res, err := e.Synthesize(context.Background(), v, []engine.Request{{Text: texts[i], SpeakerID: 0}})
		if err != nil {
			t.Fatal(err)
		}
		want[i] = res[0].Samples
	}
	if n := e.OpenSessions(); n != 2 {
		t.Errorf("%d open sessions, want the cache bound 2", n)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range 6 {
				i := (g + k) % len(voices)
				res, err := e.Synthesize(context.Background(), voices[i], []engine.Request{{Text: texts[i]}, {Text: texts[i]}})
				if err != nil {
					errs <- err
					return
				}
				for _, r := range res {
					if !slices.Equal(r.Samples, want[i]) {
						errs <- fmt.Errorf("voice %d: audio differs under concurrency", i)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := e.OpenSessions(); n > 2 {
		t.Errorf("%d open sessions, cache bound 2", n)
	}
}

func TestCloseAndCancel(t *testing.T) {
	e := newEngine(t, engine.Options{})
	v := writeVoice(t, t.TempDir(), "en", demovoice.English(), nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := e.Synthesize(ctx, v, []engine.Request{{Text: "Hi."}}); !errors.Is(err, context.Canceled) || engine.IsPermanent(err) {
		t.Errorf("cancelled: %v", err)
	}
	if err := e.Preload(context.Background(), v); err != nil {
		t.Fatal(err)
	}
	e.Close()
	if _, err := e.Synthesize(context.Background(), v, []engine.Request{{Text: "Hi."}}); err == nil {
		t.Error("Synthesize after Close succeeded")
	}
}

func TestProviders(t *testing.T) {
	lib := testenv.ORTLibrary(t)
	cpu := newEngine(t, engine.Options{Provider: engine.ProviderCPU})
	if cpu.Provider() != engine.ProviderCPU {
		t.Errorf("cpu engine reports %q", cpu.Provider())
	}
	cuda, cudaErr := engine.New(engine.Options{LibraryPath: lib, Provider: engine.ProviderCUDA})
	auto := newEngine(t, engine.Options{Provider: engine.ProviderAuto})
	if cudaErr != nil {
		// CPU-only library (the npm build): cuda fails, auto falls back.
		if !strings.Contains(cudaErr.Error(), "CUDA") {
			t.Errorf("cuda error does not say why: %v", cudaErr)
		}
		if auto.Provider() != engine.ProviderCPU {
			t.Errorf("auto without CUDA reports %q", auto.Provider())
		}
	} else {
		defer cuda.Close()
		if cuda.Provider() != engine.ProviderCUDA || auto.Provider() != engine.ProviderCUDA {
			t.Errorf("with CUDA: cuda engine %q, auto engine %q", cuda.Provider(), auto.Provider())
		}
	}
	// Whatever the provider, auto synthesises.
	v := writeVoice(t, t.TempDir(), "en", demovoice.English(), nil)
	res, err := auto.Synthesize(context.Background(), v, []engine.Request{{Text: "Hello."}})
	if err != nil || res[0].Err != nil {
		t.Fatalf("auto: %v %v", err, res[0].Err)
	}
	if _, err := engine.New(engine.Options{LibraryPath: lib, Provider: "tpu"}); err == nil {
		t.Error("unknown provider accepted")
	}
	if err := engine.InitRuntime("/some/other/libonnxruntime.so"); err == nil {
		t.Error("switching the library path was accepted")
	}
}

// A lexicon entry for a member's own name changes the audio, not only the ids.
func TestLexiconChangesTheAudio(t *testing.T) {
	e := newEngine(t, engine.Options{})
	v := writeVoice(t, t.TempDir(), "en", demovoice.English(), nil)
	ctx := context.Background()
	say := func(lex phonemize.Lexicon) []float32 {
		res, err := e.Synthesize(ctx, v, []engine.Request{{Text: "Aria sings tonight.", Lexicon: lex}})
		if err != nil || res[0].Err != nil {
			t.Fatal(err, res[0].Err)
		}
		return res[0].Samples
	}
	if plain, named := say(nil), say(phonemize.Lexicon{"Aria": "ɑːɹˈiːɑː"}); slices.Equal(plain, named) {
		t.Fatal("the lexicon entry did not change the audio")
	}
}

// The engine reads a model's ports from the file (voice.ModelPorts, no
// session): they are what ONNX Runtime itself reports, for the generated
// voices and for Piper's export as exported and as prepared — names,
// kinds, types, ranks and fixed sizes. (ONNX Runtime infers shapes first:
// it may know the size of an axis the file leaves symbolic, as Piper's
// declared [batch_size, time, 1, T] output, whose "time" it reports as 1.)
func TestModelPortsAsONNXRuntimeReportsThem(t *testing.T) {
	newEngine(t, engine.Options{}) // initialises ONNX Runtime
	dir := t.TempDir()
	perItem, rank4 := demovoice.English(), demovoice.Korean()
	perItem.SIDPerItem, rank4.Rank4 = true, true
	paths := []string{
		writeVoice(t, dir, "en", demovoice.English(), nil).ModelPath,
		writeVoice(t, dir, "en-per-item", perItem, nil).ModelPath,
		writeVoice(t, dir, "ko-rank4", rank4, nil).ModelPath,
	}
	if testing.Short() {
		t.Log("-short: the generated voices only")
	} else {
		bench := testenv.BenchVoice(t, benchvoice.Medium4Spk)
		paths = append(paths, bench.ModelPath, bench.GraphPath, bench.LiftedPath)
	}
	for _, path := range paths {
		ins, outs, err := voice.ModelPorts(path)
		if err != nil {
			t.Fatal(err)
		}
		oins, oouts, err := ort.GetInputOutputInfo(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			got  []voice.Port
			want []ort.InputOutputInfo
		}{{ins, oins}, {outs, oouts}} {
			if len(c.got) != len(c.want) {
				t.Fatalf("%s: %d ports read, ONNX Runtime reports %d", filepath.Base(path), len(c.got), len(c.want))
			}
			for i, w := range c.want {
				g := c.got[i]
				same := len(g.Dims) == len(w.Dimensions)
				for j := range g.Dims {
					same = same && (g.Dims[j] == w.Dimensions[j] || g.Dims[j] < 0)
				}
				if g.Name != w.Name || g.Tensor != (w.OrtValueType == ort.ONNXTypeTensor) || int(g.Type) != int(w.DataType) || !same {
					t.Errorf("%s: port %s %v, ONNX Runtime: %s %v %v", filepath.Base(path), g.Name, g, w.Name, w.DataType, w.Dimensions)
				}
			}
		}
	}
}
