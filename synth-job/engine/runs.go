package engine

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/chorus-voice/chorus/synth-job/voice"
)

// runCost is what a run of n items padded to longest ids weighs against
// the budget: device memory grows with the padded audio, that is ids ×
// frames per id × length_scale.
func runCost(n, longest int, lengthScale float32) int {
	return int(math.Ceil(float64(n) * float64(longest) * float64(lengthScale)))
}

// planRuns packs items into runs: one length_scale per run, one speaker
// per run where the model takes one sid per run, similar lengths together
// (sorted, so padding stays small), each run within maxItems and, but for
// a lone item, within maxIDs of cost.
func planRuns(items []*item, batching voice.Batching, maxItems, maxIDs int) [][]*item {
	perRunSID := batching == voice.SpeakerPerRun
	order := slices.Clone(items)
	slices.SortStableFunc(order, func(a, b *item) int {
		c := cmp.Compare(a.lengthScale, b.lengthScale)
		if perRunSID {
			c = cmp.Or(c, cmp.Compare(a.sid, b.sid))
		}
		return cmp.Or(c, cmp.Compare(len(a.ids), len(b.ids)))
	})
	var runs [][]*item
	var cur []*item
	for _, it := range order {
		if len(cur) > 0 {
			first := cur[0]
			split := first.lengthScale != it.lengthScale || (perRunSID && first.sid != it.sid) ||
				len(cur)+1 > maxItems || runCost(len(cur)+1, len(it.ids), it.lengthScale) > maxIDs
			if split {
				runs = append(runs, cur)
				cur = nil
			}
		}
		cur = append(cur, it)
	}
	if len(cur) > 0 {
		runs = append(runs, cur)
	}
	// Costliest first: the long runs start while the short ones queue.
	slices.SortStableFunc(runs, func(a, b []*item) int {
		return cmp.Compare(runCost(len(b), len(b[len(b)-1].ids), b[0].lengthScale),
			runCost(len(a), len(a[len(a)-1].ids), a[0].lengthScale))
	})
	return runs
}

// execute runs the planned runs. One more run than may be in flight is
// started, so that one run's audio is post-processed while the next one
// runs; the engine-wide slots bound the runs in flight.
func (e *Engine) execute(ctx context.Context, v *voice.Voice, vs *voiceSessions, runs [][]*item) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(e.limits.concurrent + 1)
	for _, run := range runs {
		if gctx.Err() != nil {
			break
		}
		g.Go(func() error { return e.runSplitting(gctx, v, vs, run) })
	}
	if err := g.Wait(); err != nil {
		return err
	}
	return ctx.Err()
}

// runSplitting runs a batch. When it runs out of memory, the session's
// model instance is replaced (see session.reset) and the batch split in
// halves, each run the same way, down to one sentence, which is then run
// once more alone on the fresh instance: if it still does not fit it fails
// with ErrTooLong (permanent), the only sentence of the call to fail.
func (e *Engine) runSplitting(ctx context.Context, v *voice.Voice, vs *voiceSessions, batch []*item) error {
	err := e.runOnce(ctx, v, vs, batch, false)
	var oom *oomError
	if !errors.As(err, &oom) {
		return err
	}
	if err := oom.s.reset(oom.gen); err != nil {
		e.cache.retire(vs)
		return err
	}
	longest := len(batch[len(batch)-1].ids)
	if len(batch) == 1 {
		err := e.runOnce(ctx, v, vs, batch, true)
		if !errors.As(err, &oom) {
			return err
		}
		it := batch[0]
		it.err = fmt.Errorf("%w: a sentence of %d phoneme ids at length_scale %.2f does not fit in the %s memory: %v",
			ErrTooLong, len(it.ids), it.lengthScale, oom.s.provider, oom.err)
		e.log.Warn("sentence too long for the device's memory", "voice", v.Name, "ids", len(it.ids),
			"length_scale", it.lengthScale, "provider", oom.s.provider, "error", oom.err.Error())
		if err := oom.s.reset(oom.gen); err != nil {
			e.cache.retire(vs)
			return err
		}
		return nil
	}
	e.stats.splits.Add(1)
	e.log.Warn("run out of memory: splitting it in halves", "voice", v.Name, "items", len(batch),
		"longest", longest, "provider", oom.s.provider, "error", oom.err.Error())
	half := len(batch) / 2
	if err := e.runSplitting(ctx, v, vs, batch[:half]); err != nil {
		return err
	}
	return e.runSplitting(ctx, v, vs, batch[half:])
}

// runOnce runs one batch (items of one length_scale, sorted by length, of
// one speaker where the model needs it) and stores each item's trimmed
// audio; assemble levels it, one gain per request.
func (e *Engine) runOnce(ctx context.Context, v *voice.Voice, vs *voiceSessions, batch []*item, exclusive bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	cfg := v.Config
	t0 := time.Now()
	b := len(batch)
	n := 0
	for _, it := range batch {
		n = max(n, len(it.ids))
	}
	in := &batchInput{b: b, n: n, ids: make([]int64, b*n), lengths: make([]int64, b),
		scales: []float32{float32(cfg.Inference.NoiseScale), batch[0].lengthScale, float32(cfg.Inference.NoiseW)}}
	pad := cfg.PhonemeIDMap["_"][0]
	for i, it := range batch {
		row := in.ids[i*n : (i+1)*n]
		copy(row, it.ids)
		for j := len(it.ids); j < n; j++ {
			row[j] = pad
		}
		in.lengths[i] = int64(len(it.ids))
	}
	switch vs.batching {
	case voice.SpeakerPerRun:
		in.sids = []int64{batch[0].sid} // planRuns kept one speaker per run
	case voice.SpeakerPerItem:
		in.sids = make([]int64, b)
		for i, it := range batch {
			in.sids[i] = it.sid
		}
	}
	tensors := time.Since(t0)

	out, err := e.runOn(ctx, vs, in, exclusive)
	if err != nil {
		return fmt.Errorf("run %d items of up to %d ids: %w", b, n, err)
	}
	defer out.release()
	e.stats.items.Add(int64(b))
	e.stats.paddedIDs.Add(int64(b * n))
	if out.per == 0 {
		return errEmptyOutput
	}
	// Out of ONNX Runtime's buffer in one pass. This runs after the run
	// gave back its slot, so the next run goes ahead meanwhile.
	t1 := time.Now()
	rate := cfg.Audio.SampleRate
	for i, it := range batch {
		a := out.data[i*out.per : (i+1)*out.per]
		if out.samples != nil {
			// The item's own length, as if alone: exactly its durations.
			a = a[:out.samples[i]]
			it.durations, it.hop = out.durations[i], out.hop
		} else {
			a = trim(a, rate)
		}
		it.audio = make([]float32, len(a))
		for j, v := range a {
			if v == v { // NaN stays 0
				it.audio[j] = v
			}
		}
	}
	e.stats.tensors.Add(int64(tensors + time.Since(t1)))
	return nil
}

// runOn runs in on the voice's session (alone on it when exclusive), or on
// its CPU session when the run is small enough to offload and no other
// offloaded run is in flight. A session is opened only when a run goes to
// it: a call whose runs all go to the CPU never opens the CUDA session.
func (e *Engine) runOn(ctx context.Context, vs *voiceSessions, in *batchInput, exclusive bool) (*batchOutput, error) {
	if limit := e.cpuOffloadIDs(); limit > 0 && !exclusive && runCost(in.b, in.n, in.scales[1]) <= limit {
		select {
		case e.cpuSlot <- struct{}{}:
			defer func() { <-e.cpuSlot }()
			cs, err := vs.get(ctx, ProviderCPU)
			if err != nil {
				return nil, err
			}
			e.stats.offloaded.Add(1)
			return e.timedRun(cs, in, false)
		default: // the CPU is busy with another: the GPU takes it
		}
	}
	s, err := vs.get(ctx, ProviderAuto)
	if err != nil {
		return nil, err
	}
	select {
	case e.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-e.slots }()
	return e.timedRun(s, in, exclusive)
}

func (e *Engine) timedRun(s *session, in *batchInput, exclusive bool) (*batchOutput, error) {
	e.stats.runStarted()
	t := time.Now()
	out, gen, err := s.runBatch(in, exclusive)
	e.stats.run.Add(int64(time.Since(t)))
	e.stats.runs.Add(1)
	e.stats.runEnded()
	if isOutOfMemory(err) {
		return nil, &oomError{err: err, s: s, gen: gen}
	}
	return out, err
}

// oomError is a run that ran out of memory on instance gen of session s.
type oomError struct {
	err error
	s   *session
	gen int64
}

func (e *oomError) Error() string { return e.err.Error() }
func (e *oomError) Unwrap() error { return e.err }
