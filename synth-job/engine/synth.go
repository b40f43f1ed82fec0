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
	"unicode/utf8"

	"github.com/chorus-voice/chorus/shared/utterance"
	"github.com/chorus-voice/chorus/synth-job/captions"
	"github.com/chorus-voice/chorus/synth-job/loudness"
	"github.com/chorus-voice/chorus/synth-job/phonemize"
	"github.com/chorus-voice/chorus/synth-job/voice"
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

// Result is the outcome of one Request: its levelled audio and captions,
// or Err (permanent, see IsPermanent) when this request alone cannot be
// synthesised. Encoding the samples (WAV, Opus, MP3) is synth-job/encode's.
type Result struct {
	// Samples is the request's audio, mono, at SampleRate: its sentences
	// joined by silence and levelled (see the package comment), so within
	// [-1, 1] below the true-peak ceiling.
	Samples    []float32
	SampleRate int
	Duration   time.Duration
	// Cues time each sentence of the text as written (textnorm.Sentences)
	// on Samples, silences included: they follow each other without gaps,
	// the first starts at 0 and the last ends with the audio. A sentence
	// the voice found nothing to say in has no cue.
	Cues []captions.Cue
	// Spans place each model item (a sentence, or a piece of a long one)
	// on Samples, in order, with the phoneme ids it ran and, where the
	// voice outputs them, each id's frames: what word timings are built on.
	Spans []Span
	// Sentences is how many model items the text became.
	Sentences int
	// MissingPhonemes counts phonemes the voice's map lacks (skipped).
	MissingPhonemes int
	// Level is how the request was levelled: its one gain, how far the
	// limiter lowered its highest peak, and its loudness and true peak
	// after it (see the package comment).
	Level loudness.Levelled
	Err   error
}

// Span is one model item of a request's audio.
type Span struct {
	// Sentence indexes the request's sentences as written (the cue it
	// belongs to).
	Sentence int
	// Start is the item's first sample in Result.Samples; Len its samples
	// (the silence after it not included).
	Start, Len int
	// IDs are the phoneme ids the model ran, BOS, pads and EOS included.
	IDs []int64
	// Frames holds each id's length in output frames (the voice's
	// voice.OutputDurations), and Hop the samples of one frame, so that id
	// k spans samples Start + Hop·Σ_{j<k} Frames[j] onward and
	// Hop·Σ Frames = Len, but for an item of no frames at all, which the
	// model pads to one. Frames is nil and Hop 0 where the voice has no
	// durations output (its items are cut by level).
	Frames []int
	Hop    int
}

// item is one sentence of one request: the unit a model run batches.
type item struct {
	req         int
	seq         int // item index within the request
	sent        int // the sentence of the request's text it speaks (its cue)
	ids         []int64
	sid         int64
	lengthScale float32
	audio       []float32 // cut to its length, not yet levelled
	durations   []int     // frames per id, nil when the voice has none
	hop         int
	err         error // permanent failure of this item alone (ErrTooLong)
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
	Post time.Duration // joining and levelling
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
	sentences := make([][]string, len(reqs))
	t0 := time.Now()
	var items []*item
	for i, r := range reqs {
		its, sents, missing, err := e.prepare(cfg, i, r)
		sentences[i] = sents
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

	vs, err := e.cache.acquire(v)
	if err != nil {
		return nil, err
	}
	defer e.cache.release(vs)

	runs := planRuns(items, vs.batching, e.limits.maxItems, e.limits.maxIDs)
	if err := e.execute(ctx, v, vs, runs); err != nil {
		return nil, fmt.Errorf("synthesise with voice %s: %w", v.Name, err)
	}
	for _, it := range items {
		if it.err != nil && results[it.req].Err == nil {
			results[it.req].Err = it.err
		}
	}

	t1 := time.Now()
	e.assemble(cfg, items, sentences, results)
	e.stats.post.Add(int64(time.Since(t1)))
	return results, nil
}

// prepare validates one request and turns its text into items. The text
// is split into the sentences the user wrote first (shared/utterance, with
// the normalisation and the lexicon), and each is spoken on its own, so that every item knows the sentence it
// speaks: the captions' cue texts are those sentences, untouched.
func (e *Engine) prepare(cfg *voice.Config, idx int, r Request) ([]*item, []string, int, error) {
	if !cfg.HasSpeaker(r.SpeakerID) {
		return nil, nil, 0, fmt.Errorf("%w: speaker %d, voice has %d", ErrSpeaker, r.SpeakerID, cfg.NumSpeakers)
	}
	speed := r.Speed
	if speed == 0 {
		speed = 1
	}
	if math.IsNaN(speed) || speed < ModelMinSpeed || speed > ModelMaxSpeed {
		return nil, nil, 0, fmt.Errorf("%w: %v not in [%v, %v]", ErrSpeed, r.Speed, ModelMinSpeed, ModelMaxSpeed)
	}
	ls := float32(cfg.Inference.LengthScale / speed)

	// What is spoken is shared/utterance's to decide, as the result
	// cache's key is (the API applies the same speakable rule).
	u := utterance.Prepare(r.Text, cfg.TextLanguage(), r.Lexicon)
	if !u.Speakable() {
		// Errors carry lengths, never the fan's text: they reach logs.
		return nil, nil, 0, fmt.Errorf("%w: a text of %d characters has no letters or digits", ErrNoPhonemes, utf8.RuneCountInString(r.Text))
	}
	pv := phonemize.Voice{Espeak: cfg.Espeak.Voice, Text: cfg.PhonemeType == voice.PhonemeText, MaxTextRunes: e.opts.MaxTextRunes}
	var (
		items   []*item
		missing int
	)
	for si, s := range u.Sentences {
		sents, err := pv.Speak(s.Parts)
		if err != nil {
			// espeak-ng rejecting the voice name is a broken voice.
			return nil, nil, 0, fmt.Errorf("%w: espeak-ng %s: %v", ErrInvalidVoice, cfg.Espeak.Voice, err)
		}
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
				items = append(items, &item{req: idx, seq: len(items), sent: si, ids: ids, sid: int64(r.SpeakerID), lengthScale: ls})
			}
		}
	}
	if missing > 0 {
		e.log.Warn("phonemes missing from the voice's map were skipped", "request", idx, "count", missing)
	}
	if len(items) == 0 {
		return nil, nil, missing, fmt.Errorf("%w: a text of %d characters gave no phonemes the voice has", ErrNoPhonemes, utf8.RuneCountInString(r.Text))
	}
	return items, u.Captions(), missing, nil
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

// trim applies the trimming rule of the package comment.
func trim(x []float32, sampleRate int) []float32 {
	peak := peakOf(x)
	if peak == 0 {
		return x[:0]
	}
	thr := TrimRatio * peak
	last := len(x) - 1
	for last >= 0 && x[last] < thr && x[last] > -thr {
		last--
	}
	end := min(len(x), last+1+int(TrimTail.Seconds()*float64(sampleRate)))
	return x[:end]
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

// assemble joins each request's sentences, separated by silence, levels
// the whole request with one gain (see the package comment), and times
// its captions and spans on the samples.
func (e *Engine) assemble(cfg *voice.Config, items []*item, sentences [][]string, results []Result) {
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
			total += len(it.audio)
		}
		res := &results[req]
		// The request's audio as one signal (the gaps silent), where its
		// sentences start, and then one gain for all of it.
		pcm := make([]float32, total)
		at := 0
		starts := make([]int, len(its))
		res.Spans = make([]Span, len(its))
		for i, it := range its {
			if i > 0 {
				at += gap
			}
			starts[i] = at
			res.Spans[i] = Span{Sentence: it.sent, Start: at, Len: len(it.audio), IDs: it.ids, Frames: it.durations, Hop: it.hop}
			at += copy(pcm[at:], it.audio)
			it.audio = nil
		}
		res.Level = loudness.Level(pcm, rate, e.opts.Loudness, e.opts.TruePeak, MaxGain)
		res.Samples = pcm
		res.SampleRate = rate
		res.Duration = samplesToDuration(total, rate)
		res.Cues = cues(its, starts, total, rate, sentences[req])
	}
}

// cues times one cue per sentence: from the first sample of its first item
// to the first sample of the next sentence (the silence between them
// belongs to the one before), the last to the end of the audio.
func cues(its []*item, starts []int, total, rate int, sentences []string) []captions.Cue {
	var out []captions.Cue
	for i, it := range its {
		if i > 0 && its[i-1].sent == it.sent {
			continue
		}
		if len(out) > 0 {
			out[len(out)-1].End = samplesToDuration(starts[i], rate)
		}
		out = append(out, captions.Cue{Start: samplesToDuration(starts[i], rate), Text: sentences[it.sent]})
	}
	if len(out) > 0 {
		out[len(out)-1].End = samplesToDuration(total, rate)
	}
	return out
}

func samplesToDuration(n, rate int) time.Duration {
	return time.Duration(float64(n) / float64(rate) * float64(time.Second))
}
