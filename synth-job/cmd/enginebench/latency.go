package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/chorus-voice/chorus/synth-job/engine"
	"github.com/chorus-voice/chorus/synth-job/voice"
)

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

// latency is the latency section: one short sentence, one longer one and
// one paragraph per call (medians).
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

// newLength is the newlength section: the extra cost of a sentence
// length the session has not seen before.
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
