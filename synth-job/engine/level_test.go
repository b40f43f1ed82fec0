package engine_test

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chorus-voice/chorus/shared/textnorm"
	"github.com/chorus-voice/chorus/synth-job/demovoice"
	"github.com/chorus-voice/chorus/synth-job/engine"
	"github.com/chorus-voice/chorus/synth-job/internal/benchvoice"
	"github.com/chorus-voice/chorus/synth-job/internal/testenv"
	"github.com/chorus-voice/chorus/synth-job/loudness"
	"github.com/chorus-voice/chorus/synth-job/voice"
)

var levelTexts = map[string][]string{
	"en": {
		"Hi.", // at speed 2, shorter than one 400 ms block
		"Are you ready?",
		"Hello everyone, thank you for coming tonight. We practised every single day for this show!",
		"The stage lights came up slowly. Everyone in the hall went quiet, and then the first song began. " +
			"Nobody wanted the night to end. Please take care on the way home, and stay warm.",
	},
	"ko": {
		"준비됐어요?",
		"안녕하세요, 오늘 와 주셔서 고마워요. 매일 연습했어요!",
		"무대 조명이 천천히 켜졌어요. 모두 조용해졌고, 첫 곡이 시작됐어요. 조심히 들어가세요!",
	},
}

// Every request comes out at −16 LUFS integrated (±1 LU) with its true
// peak at or under −1.5 dBTP, as an independent meter (ffmpeg's ebur128
// filter, which resamples to 48 kHz and oversamples 4× again) reads the
// WAV: for the generated demo voices (English with two of its speakers,
// Korean) and the bench voice (Piper's medium architecture), three texts
// or four each, at four speeds. A clip under 400 ms ("Hi." at speed 2) is
// measured looped ten times: ffmpeg has no integrated loudness for it
// otherwise, and the engine levels it by its momentary loudness.
func TestLevelMeasuredByFFmpeg(t *testing.T) {
	testenv.FFmpeg(t)
	dir := t.TempDir()
	type voiceCase struct {
		name     string
		v        *voice.Voice
		lang     string
		speakers []int
	}
	voices := []voiceCase{
		{"demo-en", writeVoice(t, dir, "en", demovoice.English(), nil), "en", []int{0, 3}},
		{"demo-ko", writeVoice(t, dir, "ko", demovoice.Korean(), nil), "ko", []int{0}},
		{"bench-medium", testenv.BenchVoice(t, benchvoice.Medium), "en", []int{0}},
	}
	speeds := []float64{0.5, 1, 1.5, 2}
	e := newEngine(t, engine.Options{IntraOpThreads: 2})
	var report strings.Builder
	fmt.Fprintf(&report, "%-13s %-4s %-5s %-6s %7s %9s %9s %8s %8s %7s %8s\n", "voice", "spk", "text", "speed", "length", "ffmpeg I", "ffmpeg TP", "own I", "own TP", "gain dB", "limit dB")
	for _, vc := range voices {
		var reqs []engine.Request
		for _, spk := range vc.speakers {
			for _, text := range levelTexts[vc.lang] {
				for _, sp := range speeds {
					reqs = append(reqs, engine.Request{Text: text, SpeakerID: spk, Speed: sp})
				}
			}
		}
		res, err := e.Synthesize(context.Background(), vc.v, reqs)
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range res {
			if r.Err != nil {
				t.Fatalf("%s request %d: %v", vc.name, i, r.Err)
			}
			q := reqs[i]
			textNo := 1 + (i/len(speeds))%len(levelTexts[vc.lang])
			loops := 1
			if r.Duration < 400*time.Millisecond {
				loops = 10 // shorter than one block: see MeasureEBUR128
			}
			got := testenv.MeasureEBUR128(t, wavOf(t, r), loops)
			fmt.Fprintf(&report, "%-13s %-4d %-5d %-6.1f %6.2fs %9.1f %9.1f %8.2f %8.2f %7.1f %8.1f\n", vc.name, q.SpeakerID, textNo, q.Speed, r.Duration.Seconds(),
				got.Integrated, got.TruePeak, r.Level.Integrated, r.Level.TruePeakDBTP(), 20*math.Log10(r.Level.Gain), r.Level.Reduction)
			// ffmpeg prints one decimal: allow its rounding.
			if math.Abs(got.Integrated-engine.DefaultLoudness) > 1.05 {
				t.Errorf("%s speaker %d text %d speed %v: %.1f LUFS, want %.0f ± 1", vc.name, q.SpeakerID, textNo, q.Speed,
					got.Integrated, engine.DefaultLoudness)
			}
			if got.TruePeak > engine.DefaultTruePeak+0.05 {
				t.Errorf("%s speaker %d text %d speed %v: true peak %.1f dBTP, want ≤ %.1f", vc.name, q.SpeakerID, textNo, q.Speed,
					got.TruePeak, engine.DefaultTruePeak)
			}
			if os.Getenv("CHORUS_KEEP_AUDIO") != "" {
				_ = os.WriteFile(filepath.Join(os.Getenv("CHORUS_KEEP_AUDIO"), fmt.Sprintf("%s-%d-%d-%v.wav", vc.name, q.SpeakerID, textNo, q.Speed)), wavOf(t, r), 0o644)
			}
		}
	}
	t.Logf("loudness of every request, as ffmpeg's ebur128 reads it and as the engine measured it:\n%s", report.String())
}

// One gain per request: a short exclamation and a long sentence of the
// same request are not both brought to the same peak, as per-sentence
// peak normalisation did; the request as a whole is at the target, its
// true peak under the ceiling, and the WAV holds what the engine measured.
func TestOneGainPerRequest(t *testing.T) {
	e := newEngine(t, engine.Options{})
	v := writeVoice(t, t.TempDir(), "en", demovoice.English(), nil)
	res, err := e.Synthesize(context.Background(), v, []engine.Request{
		{Text: "Hi! And this second sentence is a good deal longer than the first one, so it says much more."},
	})
	if err != nil {
		t.Fatal(err)
	}
	r := res[0]
	a := decode(t, r)
	if len(r.Cues) != 2 {
		t.Fatalf("%d cues, want 2", len(r.Cues))
	}
	if r.Level.Gain <= 0 || r.Level.Gain > engine.MaxGain {
		t.Fatalf("gain %v", r.Level.Gain)
	}
	if math.Abs(r.Level.Integrated-engine.DefaultLoudness) > 0.1 || r.Level.TruePeakDBTP() > engine.DefaultTruePeak {
		t.Errorf("level %.2f LUFS, true peak %.2f dBTP", r.Level.Integrated, r.Level.TruePeakDBTP())
	}
	f := make([]float32, len(a.Samples))
	for i, s := range a.Samples {
		f[i] = float32(s) / 32767
	}
	m := loudness.Measure(f, a.SampleRate)
	if math.Abs(m.Integrated-r.Level.Integrated) > 0.01 || math.Abs(m.TruePeakDBTP()-r.Level.TruePeakDBTP()) > 0.01 {
		t.Errorf("the WAV measures %.3f LUFS %.3f dBTP; the engine said %.3f LUFS %.3f dBTP",
			m.Integrated, m.TruePeakDBTP(), r.Level.Integrated, r.Level.TruePeakDBTP())
	}
	// Both sentences at one gain, not each brought to full scale as the
	// old per-sentence peak normalisation did (to 0.95): levelled to a
	// quiet −30 LUFS, where no limiter acts, neither sentence comes near
	// full scale. (At −16 LUFS the speaking demo voice reaches the true-
	// peak ceiling in both sentences, so their peaks prove nothing there.)
	quiet := newEngine(t, engine.Options{Loudness: -30})
	res, err = quiet.Synthesize(context.Background(), v, []engine.Request{{Text: "Hi! And this second sentence is a good deal longer than the first one, so it says much more."}})
	if err != nil {
		t.Fatal(err)
	}
	q := decode(t, res[0])
	first := int(res[0].Cues[0].End.Seconds() * float64(q.SampleRate))
	p1, p2 := peak(q.Samples[:first]), peak(q.Samples[first:])
	if p1 > 32767/2 || p2 > 32767/2 {
		t.Errorf("at −30 LUFS the sentences peak at %d and %d of 32767: levelled one by one?", p1, p2)
	}
}

// Captions: one cue per sentence written, in order, with the sentence as
// written; cues follow each other without gaps from 0, and the last ends
// with the audio (±20 ms, measured on the PCM before any encoding).
func TestCaptionsFollowTheSamples(t *testing.T) {
	e := newEngine(t, engine.Options{MaxPhonemes: 40})
	dir := t.TempDir()
	en := writeVoice(t, dir, "en", demovoice.English(), nil)
	ko := writeVoice(t, dir, "ko", demovoice.Korean(), nil)
	long := "And then the music played on without any pause at all, for hours and hours, until the sun came up."
	for _, tt := range []struct {
		v     *voice.Voice
		lang  string
		text  string
		speed float64
	}{
		{en, "en", "Hello world.", 1},
		{en, "en", "It costs $49.95. Thank you! Dr. Kim & Mr. Lee say <hi>.", 1},
		{en, "en", "Hello! 🎤🎤 See you soon. " + long, 0.5}, // the long one is cut into several items
		{en, "en", "No end mark here, just a clause", 2},
		{ko, "ko", "안녕하세요. 오늘 날씨가 정말 좋네요! 또 만나요.", 1.5},
	} {
		res, err := e.Synthesize(context.Background(), tt.v, []engine.Request{{Text: tt.text, Speed: tt.speed}})
		if err != nil {
			t.Fatal(err)
		}
		r := res[0]
		a := decode(t, r)
		want := textnorm.Sentences(tt.text, tt.lang)
		if len(r.Cues) != len(want) {
			t.Fatalf("%q: %d cues, want one per sentence: %q", tt.text, len(r.Cues), want)
		}
		for i, c := range r.Cues {
			if c.Text != want[i] {
				t.Errorf("%q: cue %d says %q, want %q", tt.text, i, c.Text, want[i])
			}
			if c.End <= c.Start || (i == 0 && c.Start != 0) || (i > 0 && c.Start != r.Cues[i-1].End) {
				t.Errorf("%q: cue %d %v–%v does not follow on", tt.text, i, c.Start, c.End)
			}
		}
		pcm := time.Duration(float64(len(a.Samples)) / float64(a.SampleRate) * float64(time.Second))
		if d := r.Cues[len(r.Cues)-1].End - pcm; d > 20*time.Millisecond || d < -20*time.Millisecond {
			t.Errorf("%q: last cue ends at %v, the audio at %v", tt.text, r.Cues[len(r.Cues)-1].End, pcm)
		}
		// A sentence boundary is a silence the engine wrote: the samples
		// just before the next cue starts are the 200 ms gap.
		for _, c := range r.Cues[1:] {
			at := int(c.Start.Seconds() * float64(a.SampleRate))
			for _, s := range a.Samples[at-int(0.19*float64(a.SampleRate)) : at-1] {
				if s != 0 {
					t.Errorf("%q: no silence before the cue at %v", tt.text, c.Start)
					break
				}
			}
		}
		if r.Sentences < len(want) {
			t.Errorf("%q: %d items for %d sentences", tt.text, r.Sentences, len(want))
		}
	}
}
