package engine_test

import (
	"context"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/chorus-voice/chorus/synth-job/engine"
	"github.com/chorus-voice/chorus/synth-job/internal/benchvoice"
	"github.com/chorus-voice/chorus/synth-job/internal/testenv"
	"github.com/chorus-voice/chorus/synth-job/voice"
)

// These tests use the benchmark voices of ../shared/voices: Piper's own
// "medium" export (random weights, real cost), sid declared [1] in the
// four-speaker one, exactly as Piper's exporter declares it.

// lookAheadLimit bounds the end of a sentence that depends on what follows
// it in the decoder (about 7 frames of 256 samples for Piper's medium
// HiFi-GAN, measured 77 ms).
const lookAheadLimit = 100 * time.Millisecond

var benchTexts = []string{
	"Hello everyone, thank you for coming tonight.",
	"We practised every single day for this show.",
	"Are you ready?",
	"Please take care on the way home, and stay warm.",
}

// noiseOff is the voice with the graph's noise off (noise_scale and
// noise_w 0): deterministic audio.
func noiseOff(v *voice.Voice) *voice.Voice {
	cfg := *v.Config
	cfg.Inference.NoiseScale, cfg.Inference.NoiseW = 0, 0
	q := *v
	q.Config = &cfg
	return &q
}

func TestPiperMultiSpeakerExportBatches(t *testing.T) {
	multi := testenv.BenchVoice(t, benchvoice.Medium4Spk)
	single := testenv.BenchVoice(t, benchvoice.Medium)
	e := newEngine(t, engine.Options{IntraOpThreads: 2})
	ctx := context.Background()

	// One request of three sentences for speaker 2: one run of three items
	// with sid [1].
	res, err := e.Synthesize(ctx, multi, []engine.Request{{
		Text: "The stage lights came up slowly. Everyone in the hall went quiet. Then the first song began.", SpeakerID: 2}})
	if err != nil {
		t.Fatal(err)
	}
	if r := res[0]; r.Err != nil || r.Sentences != 3 || r.Duration < 3*time.Second {
		t.Fatalf("three sentences for speaker 2: err %v, %d sentences, %v", r.Err, r.Sentences, r.Duration)
	}

	// One call of 8 requests over 4 speakers.
	var reqs, same []engine.Request
	for i := range 8 {
		reqs = append(reqs, engine.Request{Text: benchTexts[i%len(benchTexts)], SpeakerID: i % 4})
		same = append(same, engine.Request{Text: benchTexts[i%len(benchTexts)]})
	}
	before := e.Stats()
	got, err := e.Synthesize(ctx, multi, reqs)
	if err != nil {
		t.Fatalf("8 requests over 4 speakers: %v", err)
	}
	if runs := e.Stats().Runs - before.Runs; runs < 4 {
		t.Errorf("%d runs for 4 speakers of a sid [1] voice, want one speaker per run", runs)
	}
	want, err := e.Synthesize(ctx, single, same)
	if err != nil {
		t.Fatal(err)
	}
	for i := range got {
		if got[i].Err != nil {
			t.Fatalf("request %d (speaker %d): %v", i, reqs[i].SpeakerID, got[i].Err)
		}
		// Same graph, same durations per phoneme: the same text lasts about
		// as long with either voice.
		if r := got[i].Duration.Seconds() / want[i].Duration.Seconds(); r < 0.9 || r > 1.1 {
			t.Errorf("request %d: %v with the 4-speaker voice, %v with the single-speaker one", i, got[i].Duration, want[i].Duration)
		}
	}
}

// Padding never becomes audio: with the graph's noise off, a sentence
// synthesised alone and the same sentence in one run with much longer ones
// come out the same (duration within 50 ms, samples within ±1 up to the
// trim point), compared before the level.
//
// The engine levels each request with one gain computed from its whole
// audio, and the last few frames that the decoder's look-ahead lets differ
// (see below) change that audio, and so its gain, very slightly: the two
// WAVs are compared with the batched one brought back to the gain of the
// one alone. The level is set low enough (−30 LUFS) for the bench voice
// never to reach the true-peak ceiling, so that levelling is that gain
// alone (no limiter), as the test checks.
func TestPaddingNeverBecomesAudio(t *testing.T) {
	quiet := noiseOff(testenv.BenchVoice(t, benchvoice.Medium))
	e := newEngine(t, engine.Options{IntraOpThreads: 2, MaxRunItems: 8, MaxRunIDs: 1 << 20, Loudness: -30})
	ctx := context.Background()

	const short = "See you soon."
	alone, err := e.Synthesize(ctx, quiet, []engine.Request{{Text: short}})
	if err != nil {
		t.Fatal(err)
	}
	before := e.Stats()
	batched, err := e.Synthesize(ctx, quiet, []engine.Request{
		{Text: short},
		{Text: "Nobody in the audience expected the band to play for three more hours without a single break"},
		{Text: "After the encore the lights went down and thousands of voices kept singing the chorus all the way home"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if runs := e.Stats().Runs - before.Runs; runs != 1 {
		t.Fatalf("%d runs, want the three sentences in one padded run", runs)
	}
	a, b := decode(t, alone[0]), decode(t, batched[0])
	if d := alone[0].Duration - batched[0].Duration; d > 50*time.Millisecond || d < -50*time.Millisecond {
		t.Errorf("alone %v, batched %v: padding changed the duration", alone[0].Duration, batched[0].Duration)
	}
	if long := decode(t, batched[1]); len(long.Samples) < 3*len(b.Samples) {
		t.Fatalf("the long sentence (%d samples) is not much longer than the short one (%d)", len(long.Samples), len(b.Samples))
	}
	// Up to the decoder's look-ahead before the end, samples agree within
	// ±1. In the last frames HiFi-GAN's convolutions read a few frames past
	// the sentence: alone, those are the convolution's zero padding; in a
	// batch, the upsampler's spill into the masked frames. A trained voice
	// says its final pad and EOS there (near-silence); the bench voice,
	// whose every frame is noise, shows the difference, bounded here.
	if len(a.Samples) != len(b.Samples) {
		t.Errorf("alone %d samples, batched %d: want exactly the same length", len(a.Samples), len(b.Samples))
	}
	la, lb := alone[0].Level, batched[0].Level
	if la.Reduction != 0 || lb.Reduction != 0 {
		t.Fatalf("the limiter worked (%.2f dB, %.2f dB): levelling is not one gain", la.Reduction, lb.Reduction)
	}
	// b brought to a's gain (b·ga/gb, rounded to 16 bits again): with
	// equal gains, exactly the comparison this test made before one gain
	// per request.
	ratio := la.Gain / lb.Gain
	if math.Abs(20*math.Log10(ratio)) > 0.1 {
		t.Errorf("gains %.4f alone and %.4f batched differ by more than 0.1 dB", la.Gain, lb.Gain)
	}
	n := min(len(a.Samples), len(b.Samples))
	lookAhead := int(lookAheadLimit.Seconds() * float64(alone[0].SampleRate))
	first := n
	for i := range n {
		if d := float64(a.Samples[i]) - math.Round(float64(b.Samples[i])*ratio); d > 1 || d < -1 {
			first = i
			break
		}
	}
	if first < n-lookAhead {
		t.Errorf("samples differ by more than ±1 from sample %d of %d (%.0f ms before the end): padding leaked into the audio",
			first, n, float64(n-first)/float64(alone[0].SampleRate)*1000)
	}
	t.Logf("%d samples; identical within ±1 up to %d (the last %.0f ms are the decoder's look-ahead); gains %.6f alone, %.6f batched",
		n, first, float64(n-first)/float64(alone[0].SampleRate)*1000, la.Gain, lb.Gain)
}

// The durations contract (voice.OutputDurations): with the bench voice
// and noise off, each item's durations summed over its ids, times the
// hop, give exactly the samples the engine cut for it — alone, and in a
// padded run with longer sentences — and the spans tile the audio with
// the sentence silence between them.
func TestDurationsGiveTheFramesCut(t *testing.T) {
	v := noiseOff(testenv.BenchVoice(t, benchvoice.Medium))
	e := newEngine(t, engine.Options{IntraOpThreads: 2, MaxRunItems: 8, MaxRunIDs: 1 << 20})
	ctx := context.Background()
	text := "See you soon. " + benchTexts[0] + " Are you ready?"
	alone, err := e.Synthesize(ctx, v, []engine.Request{{Text: text}})
	if err != nil {
		t.Fatal(err)
	}
	batched, err := e.Synthesize(ctx, v, []engine.Request{{Text: text}, {Text: benchTexts[3] + " " + benchTexts[1]}})
	if err != nil {
		t.Fatal(err)
	}
	gap := int(0.2 * float64(v.Config.Audio.SampleRate))
	for name, r := range map[string]engine.Result{"alone": alone[0], "batched": batched[0]} {
		if r.Err != nil || len(r.Spans) != 3 {
			t.Fatalf("%s: %v, %d spans, want 3", name, r.Err, len(r.Spans))
		}
		end := 0
		for i, s := range r.Spans {
			if s.Hop != 256 || len(s.Frames) != len(s.IDs) {
				t.Fatalf("%s span %d: hop %d, %d frames for %d ids; want Piper's hop 256 and one count per id", name, i, s.Hop, len(s.Frames), len(s.IDs))
			}
			frames := 0
			for _, f := range s.Frames {
				frames += f
			}
			if frames*s.Hop != s.Len {
				t.Errorf("%s span %d: durations sum to %d frames × %d = %d samples, the engine cut %d", name, i, frames, s.Hop, frames*s.Hop, s.Len)
			}
			if want := end + min(i, 1)*gap; s.Start != want || s.Sentence != i {
				t.Errorf("%s span %d: starts at %d (sentence %d), want %d (sentence %d)", name, i, s.Start, s.Sentence, want, i)
			}
			end = s.Start + s.Len
		}
		if end != len(r.Samples) {
			t.Errorf("%s: the spans end at %d of %d samples", name, end, len(r.Samples))
		}
	}
	for i := range alone[0].Spans {
		if a, b := alone[0].Spans[i], batched[0].Spans[i]; !slices.Equal(a.Frames, b.Frames) || a.Len != b.Len {
			t.Errorf("span %d: %v alone, %v in a padded run", i, a.Frames, b.Frames)
		}
	}
}
