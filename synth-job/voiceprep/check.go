package voiceprep

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/chorus-voice/chorus/synth-job/engine"
	"github.com/chorus-voice/chorus/synth-job/voice"
)

// Tolerance is how far a prepared graph's audio may stray from the model's
// with noise off: one step of 16-bit PCM.
const Tolerance = 1.0 / 32768

// ErrMismatch means a prepared graph does not compute what the model does.
var ErrMismatch = errors.New("prepared graph differs from the model")

// checkTexts are the id sequences Check runs: built from the voice's own
// phoneme map (BOS, pad after every symbol, EOS), of a short and a longer
// sentence's length, so that a run of both pads the first.
var checkLengths = []int{9, 31}

// checkIDs returns the check's id sequences for cfg: symbols of the map
// taken in sorted order, cycling, with Piper's layout ^ _ s1 _ s2 … _ $.
func checkIDs(cfg *voice.Config) [][]int64 {
	var syms []string
	for s := range cfg.PhonemeIDMap {
		switch s {
		case "^", "_", "$", " ":
		default:
			syms = append(syms, s)
		}
	}
	slices.Sort(syms)
	id := func(s string) int64 { return cfg.PhonemeIDMap[s][0] }
	out := make([][]int64, len(checkLengths))
	k := 0
	for i, n := range checkLengths {
		ids := []int64{id("^"), id("_")}
		for j := 0; j < n; j++ {
			s := " "
			if len(syms) > 0 && (j%5 != 4 || cfg.PhonemeIDMap[" "] == nil) {
				s = syms[(k*7)%len(syms)] // a spread of the map, not its first few
				k++
			}
			ids = append(ids, id(s), id("_"))
		}
		out[i] = append(ids, id("$"))
	}
	return out
}

// runResult is one run's audio (rows of per samples) and durations (rows
// of n ids), copied out of ONNX Runtime.
type runResult struct {
	audio     []float32
	per       int
	durations []float32
	n         int
}

// runner runs the model file at path with noise off.
type runner struct {
	sess      *ort.DynamicAdvancedSession
	cfg       *voice.Config
	sid       bool
	durations bool
}

func openRunner(path string, cfg *voice.Config, threads int) (*runner, error) {
	_, outs, err := voice.ModelPorts(path)
	if err != nil {
		return nil, err
	}
	inputs := []string{voice.InputIDs, voice.InputLengths, voice.InputScales}
	if cfg.MultiSpeaker() {
		inputs = append(inputs, voice.InputSID)
	}
	if len(outs) == 0 {
		return nil, fmt.Errorf("%w: model has no output", voice.ErrInvalid)
	}
	outputs := []string{outs[0].Name}
	durations := voice.HasDurations(outs)
	if durations {
		outputs = append(outputs, voice.OutputDurations)
	}
	opts, err := ort.NewSessionOptions()
	if err != nil {
		return nil, err
	}
	defer opts.Destroy()
	if err := opts.SetIntraOpNumThreads(threads); err != nil {
		return nil, err
	}
	s, err := ort.NewDynamicAdvancedSession(path, inputs, outputs, opts)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return &runner{sess: s, cfg: cfg, sid: cfg.MultiSpeaker(), durations: durations}, nil
}

func (r *runner) close() { r.sess.Destroy() }

// run runs items padded into one batch, noise off, at the voice's
// length_scale, as the last speaker.
func (r *runner) run(items [][]int64) (*runResult, error) {
	b, n := len(items), 0
	for _, it := range items {
		n = max(n, len(it))
	}
	pad := r.cfg.PhonemeIDMap["_"][0]
	ids := make([]int64, b*n)
	lengths := make([]int64, b)
	for i, it := range items {
		row := ids[i*n : (i+1)*n]
		for j := range row {
			row[j] = pad
		}
		copy(row, it)
		lengths[i] = int64(len(it))
	}
	var vals []ort.Value
	defer func() {
		for _, v := range vals {
			v.Destroy()
		}
	}()
	add := func(v ort.Value, err error) error {
		if err == nil {
			vals = append(vals, v)
		}
		return err
	}
	scales := []float32{0, float32(r.cfg.Inference.LengthScale), 0}
	if err := add(ort.NewTensor(ort.NewShape(int64(b), int64(n)), ids)); err != nil {
		return nil, err
	}
	if err := add(ort.NewTensor(ort.NewShape(int64(b)), lengths)); err != nil {
		return nil, err
	}
	if err := add(ort.NewTensor(ort.NewShape(3), scales)); err != nil {
		return nil, err
	}
	if r.sid {
		if err := add(ort.NewTensor(ort.NewShape(1), []int64{int64(r.cfg.NumSpeakers - 1)})); err != nil {
			return nil, err
		}
	}
	outs := []ort.Value{nil}
	if r.durations {
		outs = append(outs, nil)
	}
	if err := r.sess.Run(vals, outs); err != nil {
		return nil, err
	}
	defer func() {
		for _, o := range outs {
			if o != nil {
				o.Destroy()
			}
		}
	}()
	audio, ok := outs[0].(*ort.Tensor[float32])
	if !ok {
		return nil, fmt.Errorf("%w: audio output is %T", voice.ErrInvalid, outs[0])
	}
	res := &runResult{audio: slices.Clone(audio.GetData()), n: n}
	res.per = len(res.audio) / b
	if r.durations {
		d, ok := outs[1].(*ort.Tensor[float32])
		if !ok || len(d.GetData()) != b*n {
			return nil, fmt.Errorf("%w: durations output is %T of shape %v for %d×%d ids", ErrMismatch, outs[1], outs[1].GetShape(), b, n)
		}
		res.durations = slices.Clone(d.GetData())
	}
	return res, nil
}

// frames sums row i of the durations (its first length ids).
func (r *runResult) frames(i, length int) float64 {
	var sum float64
	for _, d := range r.durations[i*r.n : i*r.n+length] {
		sum += float64(d)
	}
	return max(sum, 1)
}

// Check runs the model file and each prepared file with noise off on the
// check sentences, each alone and both in one padded run. It returns an
// error wrapping voice.ErrInvalid when the model itself does not run, and
// one wrapping ErrMismatch unless every prepared graph loads, runs and
// gives the model's audio within Tolerance, and its durations, summed over each
// item's ids, give exactly that item's frames: the samples of an item
// run alone, and of a padded run, each a whole number of one hop.
// Prepared graphs that are "" are skipped; liftedPath runs on one thread,
// as the sessions that open it do. ortLibrary is the ONNX Runtime library
// (engine.InitRuntime).
func Check(ctx context.Context, ortLibrary, modelPath, graphPath, liftedPath string, cfg *voice.Config) error {
	if err := engine.InitRuntime(ortLibrary); err != nil {
		return err
	}
	items := checkIDs(cfg)
	ref, err := openRunner(modelPath, cfg, 0)
	if err != nil {
		return fmt.Errorf("%w: %w", voice.ErrInvalid, err)
	}
	want := make([]*runResult, len(items))
	for i, it := range items {
		if want[i], err = ref.run([][]int64{it}); err != nil {
			ref.close()
			return fmt.Errorf("%w: run the model: %w", voice.ErrInvalid, err)
		}
	}
	ref.close()
	for _, c := range []struct {
		path, what string
		threads    int
	}{{graphPath, "prepared graph", 0}, {liftedPath, "lifted graph", 1}} {
		if c.path == "" {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := checkOne(c.path, c.threads, cfg, items, want); err != nil {
			if !errors.Is(err, ErrMismatch) {
				err = fmt.Errorf("%w: %w", ErrMismatch, err)
			}
			return fmt.Errorf("%s: %w", c.what, err)
		}
	}
	return nil
}

func checkOne(path string, threads int, cfg *voice.Config, items [][]int64, want []*runResult) error {
	r, err := openRunner(path, cfg, threads)
	if err != nil {
		return err
	}
	defer r.close()
	hop := 0
	for i, it := range items {
		got, err := r.run([][]int64{it})
		if err != nil {
			return err
		}
		if len(got.audio) != len(want[i].audio) {
			return fmt.Errorf("%w: item %d: %d samples, the model gives %d", ErrMismatch, i, len(got.audio), len(want[i].audio))
		}
		var worst float64
		for j, x := range got.audio {
			worst = max(worst, math.Abs(float64(x)-float64(want[i].audio[j])))
		}
		if !(worst <= Tolerance) { // NaN fails too
			return fmt.Errorf("%w: item %d: a sample differs by %.3g (tolerance %.3g)", ErrMismatch, i, worst, Tolerance)
		}
		if !r.durations {
			continue
		}
		f := got.frames(0, len(it))
		if len(got.audio)%int(f) != 0 {
			return fmt.Errorf("%w: item %d: %d samples are not a whole number of %v frames", ErrMismatch, i, len(got.audio), f)
		}
		h := len(got.audio) / int(f)
		if hop != 0 && h != hop {
			return fmt.Errorf("%w: item %d: hop %d, item 0 had %d", ErrMismatch, i, h, hop)
		}
		hop = h
	}
	if !r.durations || len(items) < 2 {
		return nil
	}
	// Padded together, each item keeps its durations, and the run is as
	// long as its longest item.
	both, err := r.run(items)
	if err != nil {
		return err
	}
	longest := 0.0
	for i, it := range items {
		f := both.frames(i, len(it))
		alone := len(want[i].audio) / hop
		if int(f) != alone {
			return fmt.Errorf("%w: item %d: durations sum to %v frames in a padded run, %d alone", ErrMismatch, i, f, alone)
		}
		for _, d := range both.durations[i*both.n+len(it) : (i+1)*both.n] {
			if d != 0 {
				return fmt.Errorf("%w: item %d: a padding id has a duration of %v", ErrMismatch, i, d)
			}
		}
		longest = max(longest, f)
	}
	if both.per != int(longest)*hop {
		return fmt.Errorf("%w: a padded run gives %d samples per item, want %v frames × %d", ErrMismatch, both.per, longest, hop)
	}
	return nil
}
