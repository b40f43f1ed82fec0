package engine

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chorus-voice/chorus/shared/textnorm"
	"github.com/chorus-voice/chorus/synth-job/phonemize"
	"github.com/chorus-voice/chorus/synth-job/voice"
	"github.com/chorus-voice/chorus/synth-job/wav"
)

// Request is one text to speak.
type Request struct {
	Text string
	// SpeakerID selects the speaker of a multi-speaker voice (0 otherwise).
	SpeakerID int
	// Speed is the user-facing rate: 1 is the voice's own pace, 2 twice as
	// fast. 0 means 1.
	Speed float64
	// Lexicon holds the member's pronunciations, applied before
	// phonemisation; inline [[ phonemes ]] in Text pass straight through.
	Lexicon phonemize.Lexicon
}

// Result is the outcome of one Request: a WAV file, or Err (permanent, see
// IsPermanent) when this request alone cannot be synthesised.
type Result struct {
	WAV        []byte
	Samples    int
	SampleRate int
	Duration   time.Duration
	// Sentences is how many model items the text became.
	Sentences int
	// MissingPhonemes counts phonemes the voice's map lacks (skipped).
	MissingPhonemes int
	Err             error
}

// item is one sentence of one request: the unit a model run batches.
type item struct {
	req         int
	seq         int // sentence index within the request
	ids         []int64
	sid         int64
	lengthScale float32
	pcm         []byte // trimmed, peak-normalised 16-bit PCM
	err         error  // permanent failure of this item alone (ErrTooLong)
}

// Stats are cumulative timings of the engine's stages, for benchmarks: the
// time outside Run is the engine's own overhead.
type Stats struct {
	Phonemize time.Duration // text normalisation, espeak-ng, ids
	Tensors   time.Duration // building input tensors, copying output
	Run       time.Duration // ONNX Runtime session Run, summed over runs
	// Busy is the wall time during which at least one Run was in flight:
	// with concurrent runs it is less than Run. Wall time minus Busy is
	// the time the engine kept the device waiting.
	Busy time.Duration
	Post time.Duration // trimming, joining, WAV encoding
	Runs int64
	// Items counts sentences run; PaddedIDs the ids of their runs
	// (items × longest), so PaddedIDs / real ids is the padding overhead.
	Items     int64
	PaddedIDs int64
	// Splits counts runs split after running out of memory; Offloaded the
	// runs sent to a CPU session while the engine runs on CUDA.
	Splits    int64
	Offloaded int64
}

type stats struct {
	phonemize, tensors, run, post, runs, items, paddedIDs, splits, offloaded atomic.Int64

	mu        sync.Mutex
	active    int
	busySince time.Time
	busy      time.Duration
}

// runStarted and runEnded track the union of run intervals (Busy).
func (s *stats) runStarted() {
	s.mu.Lock()
	if s.active == 0 {
		s.busySince = time.Now()
	}
	s.active++
	s.mu.Unlock()
}

func (s *stats) runEnded() {
	s.mu.Lock()
	s.active--
	if s.active == 0 {
		s.busy += time.Since(s.busySince)
	}
	s.mu.Unlock()
}

// Stats returns the cumulative stage timings since the engine started.
func (e *Engine) Stats() Stats {
	e.stats.mu.Lock()
	busy := e.stats.busy
	if e.stats.active > 0 {
		busy += time.Since(e.stats.busySince)
	}
	e.stats.mu.Unlock()
	return Stats{
		Phonemize: time.Duration(e.stats.phonemize.Load()),
		Tensors:   time.Duration(e.stats.tensors.Load()),
		Run:       time.Duration(e.stats.run.Load()),
		Busy:      busy,
		Post:      time.Duration(e.stats.post.Load()),
		Runs:      e.stats.runs.Load(),
		Items:     e.stats.items.Load(),
		PaddedIDs: e.stats.paddedIDs.Load(),
		Splits:    e.stats.splits.Load(),
		Offloaded: e.stats.offloaded.Load(),
	}
}

// Synthesize speaks every request with voice v and returns one Result per
// request, in order. Sentences of all requests are packed into model runs
// (see the package comment). A request that cannot be spoken gets its own
// permanent Err; the returned error is for the whole call: an invalid voice
// (permanent, ErrInvalidVoice) or a failure of ONNX Runtime or of ctx
// (transient).
func (e *Engine) Synthesize(ctx context.Context, v *voice.Voice, reqs []Request) ([]Result, error) {
	if v == nil || v.Config == nil {
		return nil, fmt.Errorf("%w: no voice", ErrInvalidVoice)
	}
	cfg := v.Config
	results := make([]Result, len(reqs))
	t0 := time.Now()
	var items []*item
	for i, r := range reqs {
		its, missing, err := e.prepare(cfg, i, r)
		results[i].MissingPhonemes = missing
		if err != nil {
			results[i].Err = err
			continue
		}
		results[i].Sentences = len(its)
		items = append(items, its...)
	}
	e.stats.phonemize.Add(int64(time.Since(t0)))
	if len(items) == 0 {
		return results, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	s, err := e.cache.acquire(ctx, v, ProviderAuto)
	if err != nil {
		return nil, err
	}
	defer e.cache.release(s)

	runs := planRuns(items, s.batching, e.limits.maxItems, e.limits.maxIDs)
	if err := e.execute(ctx, v, s, runs); err != nil {
		return nil, fmt.Errorf("synthesise with voice %s: %w", v.Name, err)
	}
	for _, it := range items {
		if it.err != nil && results[it.req].Err == nil {
			results[it.req].Err = it.err
		}
	}

	t1 := time.Now()
	e.assemble(cfg, items, results)
	e.stats.post.Add(int64(time.Since(t1)))
	return results, nil
}

// prepare validates one request and turns its text into items.
func (e *Engine) prepare(cfg *voice.Config, idx int, r Request) ([]*item, int, error) {
	if !cfg.HasSpeaker(r.SpeakerID) {
		return nil, 0, fmt.Errorf("%w: speaker %d, voice has %d", ErrSpeaker, r.SpeakerID, cfg.NumSpeakers)
	}
	speed := r.Speed
	if speed == 0 {
		speed = 1
	}
	if math.IsNaN(speed) || speed < ModelMinSpeed || speed > ModelMaxSpeed {
		return nil, 0, fmt.Errorf("%w: %v not in [%v, %v]", ErrSpeed, r.Speed, ModelMinSpeed, ModelMaxSpeed)
	}
	ls := float32(cfg.Inference.LengthScale / speed)

	lang := cfg.TextLanguage()
	if !textnorm.SpeakableIn(r.Text, lang) { // the API applies the same rule
		return nil, 0, fmt.Errorf("%w: %q has no letters or digits", ErrNoPhonemes, truncate(r.Text, 80))
	}
	// The member's lexicon turns words into inline phonemes; plain text is
	// normalised for the language, phonemes are left as written.
	segs := phonemize.Segments(r.Lexicon.Apply(r.Text))
	for i := range segs {
		if !segs[i].Inline {
			segs[i].Text = textnorm.Normalize(segs[i].Text, lang)
		}
	}
	sents, err := phonemize.Join(segs, func(text string) ([]phonemize.Sentence, error) {
		var out []phonemize.Sentence
		for _, piece := range textnorm.Split(text, e.opts.MaxTextRunes) {
			if cfg.PhonemeType == voice.PhonemeText {
				out = append(out, phonemize.Text(piece)...)
				continue
			}
			s, err := phonemize.Espeak(cfg.Espeak.Voice, piece)
			if err != nil {
				// espeak-ng rejecting the voice name is a broken voice.
				return nil, fmt.Errorf("%w: %v", ErrInvalidVoice, err)
			}
			out = append(out, s...)
		}
		return out, nil
	})
	if err != nil {
		return nil, 0, err
	}
	var (
		items   []*item
		missing int
	)
	for _, sent := range sents {
		sent = phonemize.MapPhonemes(sent, cfg.PhonemeMap)
		for _, part := range splitSentence(sent, e.opts.MaxPhonemes) {
			ids, miss := phonemize.IDs(part, cfg.PhonemeIDMap)
			for _, n := range miss {
				missing += n
			}
			if len(ids) <= len(cfg.PhonemeIDMap["^"])+len(cfg.PhonemeIDMap["_"])+len(cfg.PhonemeIDMap["$"]) {
				continue // nothing but BOS, pad, EOS
			}
			items = append(items, &item{req: idx, seq: len(items), ids: ids, sid: int64(r.SpeakerID), lengthScale: ls})
		}
	}
	if missing > 0 {
		e.log.Warn("phonemes missing from the voice's map were skipped", "request", idx, "count", missing)
	}
	if len(items) == 0 {
		return nil, missing, fmt.Errorf("%w: %q", ErrNoPhonemes, truncate(r.Text, 80))
	}
	return items, missing, nil
}

// splitSentence cuts a sentence longer than limit phonemes at word spaces
// (or hard at limit when a word is longer).
func splitSentence(s phonemize.Sentence, limit int) []phonemize.Sentence {
	var out []phonemize.Sentence
	for len(s) > limit {
		cut := limit
		for i := limit; i > limit/2; i-- {
			if s[i] == ' ' {
				cut = i
				break
			}
		}
		out = append(out, s[:cut])
		s = s[cut:]
		for len(s) > 0 && s[0] == ' ' {
			s = s[1:]
		}
	}
	if len(s) > 0 {
		out = append(out, s)
	}
	return out
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}

// trim applies the trimming rule of the package comment; it also returns
// the peak magnitude.
func trim(x []float32, sampleRate int) ([]float32, float32) {
	peak := peakOf(x)
	if peak == 0 {
		return x[:0], 0
	}
	thr := TrimRatio * peak
	last := len(x) - 1
	for last >= 0 && x[last] < thr && x[last] > -thr {
		last--
	}
	end := min(len(x), last+1+int(TrimTail.Seconds()*float64(sampleRate)))
	return x[:end], peak
}

// peakOf returns the largest magnitude in x, ignoring NaN (float32
// comparisons only: this runs over every output sample).
func peakOf(x []float32) float32 {
	var hi, lo float32
	for _, v := range x {
		if v > hi {
			hi = v
		} else if v < lo {
			lo = v
		}
	}
	return max(hi, -lo)
}

// assemble joins each request's sentences, separated by silence, into its
// WAV file.
func (e *Engine) assemble(cfg *voice.Config, items []*item, results []Result) {
	rate := cfg.Audio.SampleRate
	gap := int(e.opts.SentenceSilence.Seconds() * float64(rate))
	byReq := make(map[int][]*item)
	for _, it := range items {
		byReq[it.req] = append(byReq[it.req], it)
	}
	for req, its := range byReq {
		if results[req].Err != nil {
			continue // a sentence of it failed alone (ErrTooLong)
		}
		slices.SortFunc(its, func(a, b *item) int { return cmp.Compare(a.seq, b.seq) })
		total := 0
		for i, it := range its {
			if i > 0 {
				total += gap
			}
			total += len(it.pcm) / 2
		}
		res := &results[req]
		file, err := wav.New(total, rate)
		if err != nil {
			res.Err = fmt.Errorf("encode WAV: %w", err)
			continue
		}
		at := wav.HeaderSize
		for i, it := range its {
			if i > 0 {
				at += 2 * gap // New left the gap silent
			}
			at += copy(file[at:], it.pcm)
			it.pcm = nil
		}
		res.WAV = file
		res.Samples = total
		res.SampleRate = rate
		res.Duration = time.Duration(float64(total) / float64(rate) * float64(time.Second))
	}
}
