package main

import (
	"context"
	"fmt"
	"runtime"
	"time"

	"github.com/chorus-voice/chorus/synth-job/engine"
)

// rtf is the rtf section: the real-time factor of single requests at one
// thread (lifted decoder), at all cores, and at one thread with the
// decoder as exported.
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
	e, err := b.engineWith(ctx, engine.ProviderCPU, threads, 0, 0, keepConv1D, b.runItems())
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
