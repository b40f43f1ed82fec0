package engine_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/chorus-voice/chorus/synth-job/demovoice"
	"github.com/chorus-voice/chorus/synth-job/engine"
)

var benchSentences = []string{
	"Hello everyone, thank you for coming tonight.",
	"It costs $49.95, which is 20% less than last year.",
	"We practised every single day for this show.",
	"I hope you enjoy the new song as much as we do!",
}

// BenchmarkSynthesizeOne is one request per call; it reports the real-time
// factor and the share of time spent outside session.Run.
func BenchmarkSynthesizeOne(b *testing.B) {
	e := newEngine(b, engine.Options{IntraOpThreads: 1})
	v := writeVoice(b, b.TempDir(), "en", demovoice.English(), nil)
	ctx := context.Background()
	if err := e.Preload(ctx, v); err != nil {
		b.Fatal(err)
	}
	before := e.Stats()
	var audio float64
	i := 0
	for b.Loop() {
		res, err := e.Synthesize(ctx, v, []engine.Request{{Text: benchSentences[i%len(benchSentences)], SpeakerID: i % 4}})
		if err != nil || res[0].Err != nil {
			b.Fatal(err, res[0].Err)
		}
		audio += res[0].Duration.Seconds()
		i++
	}
	st := e.Stats()
	elapsed := b.Elapsed().Seconds()
	b.ReportMetric(elapsed/audio, "RTF")
	b.ReportMetric(100*(elapsed-(st.Run-before.Run).Seconds())/elapsed, "%outside-run")
}

// BenchmarkSynthesize64 synthesises 64 requests per call at several batch sizes.
func BenchmarkSynthesize64(b *testing.B) {
	for _, batch := range []int{1, 8} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			e := newEngine(b, engine.Options{IntraOpThreads: 1, MaxRunItems: batch})
			v := writeVoice(b, b.TempDir(), "en", demovoice.English(), nil)
			reqs := make([]engine.Request, 64)
			for i := range reqs {
				reqs[i] = engine.Request{Text: benchSentences[i%len(benchSentences)], SpeakerID: i % 4}
			}
			ctx := context.Background()
			for b.Loop() {
				if _, err := e.Synthesize(ctx, v, reqs); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(64*float64(b.N)/b.Elapsed().Seconds(), "requests/s")
		})
	}
}
