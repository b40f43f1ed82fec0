package demovoice

import (
	"math"

	"github.com/chorus-voice/chorus/synth-job/onnxpb"
	"github.com/chorus-voice/chorus/synth-job/voice"
)

func i64(v int64) *int64   { return &v }
func str(v string) *string { return &v }

func scalarF(name string, v float32) onnxpb.Tensor {
	return onnxpb.Tensor{Name: name, Type: onnxpb.Float, Floats: []float32{v}}
}

func scalarI(name string, v int64) onnxpb.Tensor {
	return onnxpb.Tensor{Name: name, Type: onnxpb.Int64, Int64s: []int64{v}}
}

func vecF(name string, v []float32) onnxpb.Tensor {
	return onnxpb.Tensor{Name: name, Type: onnxpb.Float, Dims: []int64{int64(len(v))}, Floats: v}
}

func vecI(name string, v []int64) onnxpb.Tensor {
	return onnxpb.Tensor{Name: name, Type: onnxpb.Int64, Dims: []int64{int64(len(v))}, Int64s: v}
}

// tables is what the graph looks up: per symbol (index id), and per
// speaker and symbol (index sid·len(inventory) + id) into one waveform table.
type tables struct {
	weight, vowel, stress, length []float32 // per symbol
	wave                          []float32 // every unit's samples, one after another
	offset                        []int64   // per speaker and symbol: where its unit starts in wave
	alpha, beta, gamma, delta     []float32 // per speaker and symbol: see unit
	period, maxSrc                []float32 // per speaker and symbol
}

// buildTables lays out the units of every speaker (units[s][id]) and
// scales the waveforms so that no sample exceeds peakLevel. Symbols that
// have no sound in the language (sounding[id] false) take no time, except
// spaces and punctuation, which are pauses.
func buildTables(units [][]unit, sounding []bool) *tables {
	t := &tables{}
	for id, s := range inventory {
		vowel, st, ln := float32(0), stressGain[s.r], lengthGain[s.r]
		if s.cls == clsVowel {
			vowel = 1
		}
		w := s.weight
		if s.cls != clsSpace && s.cls != clsPause && !sounding[id] {
			w = 0
		}
		t.weight = append(t.weight, w)
		t.vowel = append(t.vowel, vowel)
		t.stress = append(t.stress, st)
		t.length = append(t.length, ln)
	}
	for _, us := range units {
		for _, u := range us {
			if len(u.buf) == 0 {
				u = silentUnit()
			}
			t.offset = append(t.offset, int64(len(t.wave)))
			t.wave = append(t.wave, u.buf...)
			t.alpha = append(t.alpha, u.alpha)
			t.beta = append(t.beta, u.beta)
			t.gamma = append(t.gamma, u.gamma)
			t.delta = append(t.delta, u.delta)
			p := u.period
			if p < 1 {
				p = 1 // snapping to whole samples changes nothing
			}
			t.period = append(t.period, p)
			t.maxSrc = append(t.maxSrc, float32(len(u.buf)-Hop))
		}
	}
	var peak float32
	for _, v := range t.wave {
		peak = max(peak, v, -v)
	}
	if peak > peakLevel {
		g := peakLevel / peak
		for i := range t.wave {
			t.wave[i] *= g
		}
	}
	return t
}

// EndSilence is the silence, in samples, at the end of each item's audio
// (at most a quarter of it): sentences end quietly, as a trained voice's do,
// and an item's audio is the same padded in a batch or alone, also after
// trimming by level (engine.TrimTail keeps 50 ms after the last sound).
const EndSilence = 1500

// peakLevel bounds every unit sample; the output mixes two grains with
// weights that sum to one, so it stays within ±peakLevel too.
const peakLevel = 0.95

func graph(o Options, t *tables) *onnxpb.Model {
	nSym := int64(len(inventory))
	g := onnxpb.Graph{
		Name: "chorus_demo_voice",
		Initializers: []onnxpb.Tensor{
			scalarF("samples_per_id", SamplesPerID),
			scalarF("one_f", 1),
			scalarF("half", 0.5),
			scalarF("pi", math.Pi),
			scalarF("hop_f", Hop),
			scalarF("min_src", Hop),
			scalarF("neg_one_f", -1),
			scalarI("zero_i", 0),
			scalarI("one_i", 1),
			scalarI("two_i", 2),
			scalarI("hop_i", Hop),
			scalarI("hop_minus_one", Hop-1),
			scalarI("four_i", 4),
			scalarI("end_silence", EndSilence),
			scalarI("n_sym", nSym),
			vecI("axis1", []int64{1}),
			vecI("pads_front", []int64{0, 2, 0, 0}),
			vecI("pads_back", []int64{0, 0, 0, 2}),
			vecI("s0", []int64{0}), vecI("s1", []int64{1}), vecI("s2", []int64{2}),
			vecI("e_m2", []int64{-2}), vecI("e_m1", []int64{-1}), vecI("e_max", []int64{math.MaxInt64}),
			vecF("weight_table", t.weight),
			vecF("vowel_table", t.vowel),
			vecF("stress_table", t.stress),
			vecF("length_table", t.length),
			vecF("wave", t.wave),
			vecI("offset_table", t.offset),
			vecF("alpha_table", t.alpha),
			vecF("beta_table", t.beta),
			vecF("gamma_table", t.gamma),
			vecF("delta_table", t.delta),
			vecF("period_table", t.period),
			vecF("max_src_table", t.maxSrc),
		},
		Inputs: []onnxpb.ValueInfo{
			{Name: voice.InputIDs, Type: onnxpb.Int64, Shape: []onnxpb.Dim{{Param: "batch_size"}, {Param: "phonemes"}}},
			{Name: voice.InputLengths, Type: onnxpb.Int64, Shape: []onnxpb.Dim{{Param: "batch_size"}}},
			{Name: voice.InputScales, Type: onnxpb.Float, Shape: []onnxpb.Dim{{Value: 3}}},
		},
	}
	node := func(op string, inputs []string, output string, attrs ...onnxpb.Attr) {
		g.Nodes = append(g.Nodes, onnxpb.Node{
			OpType: op, Name: output + "_" + op, Inputs: inputs, Outputs: []string{output}, Attrs: attrs,
		})
	}
	castTo := func(t onnxpb.DataType) onnxpb.Attr { return onnxpb.Attr{Name: "to", Int: i64(int64(t))} }
	axis := func(a int64) onnxpb.Attr { return onnxpb.Attr{Name: "axis", Int: i64(a)} }

	// Samples per id, L = max(floor(SamplesPerID · length_scale), 1); the
	// output has N·L samples, item b's audio the first input_lengths[b]·L.
	node("Gather", []string{voice.InputScales, "one_i"}, "length_scale")
	node("Mul", []string{"samples_per_id", "length_scale"}, "l_raw")
	node("Floor", []string{"l_raw"}, "l_floor")
	node("Max", []string{"l_floor", "one_f"}, "l_f")
	node("Cast", []string{"l_f"}, "l_i", castTo(onnxpb.Int64))
	node("Shape", []string{voice.InputIDs}, "ids_shape")
	node("Gather", []string{"ids_shape", "one_i"}, "n_ids")
	node("Sub", []string{"n_ids", "one_i"}, "last_id")
	node("Mul", []string{"n_ids", "l_i"}, "t_total")

	// Durations. Each id's weight, lengthened for a vowel right after a
	// stress mark or right before a length mark (one pad may sit between),
	// zero past input_lengths, scaled so the item's ids fill its samples.
	node("Range", []string{"zero_i", "n_ids", "one_i"}, "id_pos")
	node("Unsqueeze", []string{voice.InputLengths, "axis1"}, "lengths_col")
	node("Less", []string{"id_pos", "lengths_col"}, "id_valid")
	node("Cast", []string{"id_valid"}, "id_valid_f", castTo(onnxpb.Float))
	node("Gather", []string{"weight_table", voice.InputIDs}, "w_base")
	node("Gather", []string{"vowel_table", voice.InputIDs}, "is_vowel")
	node("Pad", []string{voice.InputIDs, "pads_front"}, "ids_front")
	node("Slice", []string{"ids_front", "s1", "e_m1", "s1"}, "prev1")
	node("Slice", []string{"ids_front", "s0", "e_m2", "s1"}, "prev2")
	node("Pad", []string{voice.InputIDs, "pads_back"}, "ids_back")
	node("Slice", []string{"ids_back", "s1", "e_m1", "s1"}, "next1")
	node("Slice", []string{"ids_back", "s2", "e_max", "s1"}, "next2")
	node("Gather", []string{"stress_table", "prev1"}, "stress1")
	node("Gather", []string{"stress_table", "prev2"}, "stress2")
	node("Max", []string{"stress1", "stress2"}, "stress")
	node("Gather", []string{"length_table", "next1"}, "length1")
	node("Gather", []string{"length_table", "next2"}, "length2")
	node("Max", []string{"length1", "length2"}, "lengthen")
	node("Add", []string{"stress", "lengthen"}, "gain_v")
	node("Mul", []string{"gain_v", "is_vowel"}, "gain")
	node("Add", []string{"gain", "one_f"}, "factor")
	node("Mul", []string{"w_base", "factor"}, "w_raw")
	// From here on durations are whole samples in int64, so that an item's
	// timing does not depend on the padding around it (no float sums).
	node("Round", []string{"w_raw"}, "w_round")
	node("Cast", []string{"w_round"}, "w_whole", castTo(onnxpb.Int64))
	node("Cast", []string{"id_valid"}, "id_valid_i", castTo(onnxpb.Int64))
	node("Mul", []string{"w_whole", "id_valid_i"}, "w")
	node("CumSum", []string{"w", "one_i"}, "w_cum")
	node("Sub", []string{"w_cum", "w"}, "w_before")
	node("Slice", []string{"w_cum", "e_m1", "e_max", "s1"}, "w_sum") // [B,1]
	node("Max", []string{"w_sum", "one_i"}, "w_sum_pos")
	node("Mul", []string{voice.InputLengths, "l_i"}, "limit_b")
	node("Unsqueeze", []string{"limit_b", "axis1"}, "limit") // [B,1] samples of each item
	// The item ends in silence (EndSilence samples, at most a quarter of it);
	// its ids share the rest: end = ⌊w_cum · speech / w_sum⌋,
	// start = ⌊w_before · speech / w_sum⌋.
	node("Div", []string{"limit", "four_i"}, "limit_quarter")
	node("Min", []string{"limit_quarter", "end_silence"}, "tail")
	node("Sub", []string{"limit", "tail"}, "speech")
	node("Mul", []string{"w_cum", "speech"}, "end_num")
	node("Div", []string{"end_num", "w_sum_pos"}, "end_i")
	node("Mul", []string{"w_before", "speech"}, "start_num")
	node("Div", []string{"start_num", "w_sum_pos"}, "start_i")
	node("Sub", []string{"end_i", "start_i"}, "dur_i")
	node("Cast", []string{"start_i"}, "start", castTo(onnxpb.Float))
	node("Cast", []string{"dur_i"}, "dur", castTo(onnxpb.Float))

	// Grains: centre c = g·Hop for g = 0 … T/Hop+1. The id sounding at c is
	// the number of ids that end at or before c: a histogram of the grains
	// where ids end (ScatterElements, add), summed (CumSum).
	node("Div", []string{"t_total", "hop_i"}, "t_hops")
	node("Add", []string{"t_hops", "two_i"}, "n_grains")
	node("Sub", []string{"n_grains", "one_i"}, "last_grain")
	node("Range", []string{"zero_i", "n_grains", "one_i"}, "grain")
	node("Cast", []string{"grain"}, "grain_f", castTo(onnxpb.Float))
	node("Mul", []string{"grain_f", "hop_f"}, "centre") // [G]
	// ⌈end / Hop⌉ = (end + Hop − 1) / Hop
	node("Add", []string{"end_i", "hop_minus_one"}, "end_up")
	node("Div", []string{"end_up", "hop_i"}, "end_grain_raw")
	node("Min", []string{"end_grain_raw", "last_grain"}, "end_grain")
	node("Gather", []string{"ids_shape", "zero_i"}, "n_batch")
	node("Unsqueeze", []string{"n_batch", "s0"}, "n_batch_v")
	node("Unsqueeze", []string{"n_grains", "s0"}, "n_grains_v")
	node("Concat", []string{"n_batch_v", "n_grains_v"}, "hist_shape", axis(0))
	node("ConstantOfShape", []string{"hist_shape"}, "hist_zero",
		onnxpb.Attr{Name: "value", Tensor: &onnxpb.Tensor{Type: onnxpb.Int64, Dims: []int64{1}, Int64s: []int64{0}}})
	node("ConstantOfShape", []string{"ids_shape"}, "ones_ids",
		onnxpb.Attr{Name: "value", Tensor: &onnxpb.Tensor{Type: onnxpb.Int64, Dims: []int64{1}, Int64s: []int64{1}}})
	node("ScatterElements", []string{"hist_zero", "end_grain", "ones_ids"}, "hist",
		axis(1), onnxpb.Attr{Name: "reduction", String: str("add")})
	node("CumSum", []string{"hist", "one_i"}, "ended")
	node("Min", []string{"ended", "last_id"}, "grain_pos") // [B,G]
	node("GatherElements", []string{voice.InputIDs, "grain_pos"}, "grain_id", axis(1))
	node("GatherElements", []string{"start", "grain_pos"}, "grain_start", axis(1))
	node("GatherElements", []string{"dur", "grain_pos"}, "grain_dur", axis(1))

	// The unit of (speaker, id).
	if o.Speakers > 1 {
		// Piper's exporter leaves sid out of the dynamic axes: [1], the
		// speaker of the whole run, broadcast over the batch.
		sidShape := []onnxpb.Dim{{Value: 1}}
		if o.SIDPerItem {
			sidShape = []onnxpb.Dim{{Param: "batch_size"}}
		}
		g.Inputs = append(g.Inputs, onnxpb.ValueInfo{Name: voice.InputSID, Type: onnxpb.Int64, Shape: sidShape})
		node("Mul", []string{voice.InputSID, "n_sym"}, "sid_base_b")
		node("Unsqueeze", []string{"sid_base_b", "axis1"}, "sid_base")
		node("Add", []string{"grain_id", "sid_base"}, "grain_unit")
	} else {
		node("Identity", []string{"grain_id"}, "grain_unit")
	}
	for _, name := range []string{"offset", "alpha", "beta", "gamma", "delta", "period", "max_src"} {
		node("Gather", []string{name + "_table", "grain_unit"}, "u_"+name)
	}
	// Position of the grain centre in the unit:
	// src = alpha + beta·d + o·(gamma + delta/d), o = c − start.
	node("Sub", []string{"centre", "grain_start"}, "grain_o")
	node("Max", []string{"grain_dur", "one_f"}, "grain_dur_pos")
	node("Div", []string{"u_delta", "grain_dur_pos"}, "stretch")
	node("Add", []string{"u_gamma", "stretch"}, "rate")
	node("Mul", []string{"grain_o", "rate"}, "advance")
	node("Mul", []string{"u_beta", "grain_dur"}, "shift")
	node("Add", []string{"u_alpha", "shift"}, "src_start")
	node("Add", []string{"src_start", "advance"}, "src_raw")
	// Keep src − c a whole number of pitch periods, so that a grain lines
	// up with the one before it where they overlap.
	node("Sub", []string{"src_raw", "centre"}, "lag")
	node("Div", []string{"lag", "u_period"}, "lag_periods")
	node("Round", []string{"lag_periods"}, "lag_whole")
	node("Mul", []string{"lag_whole", "u_period"}, "lag_snapped")
	node("Add", []string{"centre", "lag_snapped"}, "src_snapped")
	node("Max", []string{"src_snapped", "min_src"}, "src_lo")
	node("Min", []string{"src_lo", "u_max_src"}, "src_f")
	node("Round", []string{"src_f"}, "src_round")
	node("Cast", []string{"src_round"}, "src_i", castTo(onnxpb.Int64))
	node("Add", []string{"u_offset", "src_i"}, "grain_base") // [B,G] index into wave

	// Samples: t = g·Hop + m lies under grains g (weight cos²(π·m/2Hop))
	// and g+1 (the rest); each grain reads the wave around its centre.
	node("Range", []string{"zero_i", "t_total", "one_i"}, "t")
	node("Div", []string{"t", "hop_i"}, "t_grain")
	node("Mod", []string{"t", "hop_i"}, "t_in")
	node("Add", []string{"t_grain", "one_i"}, "t_grain_next")
	node("Gather", []string{"grain_base", "t_grain"}, "base0", axis(1))
	node("Gather", []string{"grain_base", "t_grain_next"}, "base1", axis(1))
	node("Add", []string{"base0", "t_in"}, "idx0")
	node("Sub", []string{"t_in", "hop_i"}, "t_in_next")
	node("Add", []string{"base1", "t_in_next"}, "idx1")
	node("Gather", []string{"wave", "idx0"}, "x0")
	node("Gather", []string{"wave", "idx1"}, "x1")
	node("Cast", []string{"t_in"}, "t_in_f", castTo(onnxpb.Float))
	node("Div", []string{"t_in_f", "hop_f"}, "frac")
	node("Mul", []string{"frac", "pi"}, "fade_phase")
	node("Cos", []string{"fade_phase"}, "fade_cos")
	node("Mul", []string{"fade_cos", "half"}, "fade_half")
	node("Add", []string{"fade_half", "half"}, "fade") // 1 → 0 over the hop
	node("Sub", []string{"x0", "x1"}, "x_diff")
	node("Mul", []string{"x_diff", "fade"}, "x_faded")
	node("Add", []string{"x1", "x_faded"}, "mixed")
	// Zero every sample past each item's input_lengths · L, and keep the
	// output within [-1, 1] whatever the tables hold.
	node("Less", []string{"t", "limit"}, "valid")
	node("Cast", []string{"valid"}, "mask", castTo(onnxpb.Float))
	node("Mul", []string{"mixed", "mask"}, "masked")
	node("Clip", []string{"masked", "neg_one_f", "one_f"}, "audio")
	outShape := []onnxpb.Dim{{Param: "batch_size"}, {Value: 1}, {Param: "time"}}
	if o.Rank4 {
		g.Initializers = append(g.Initializers, vecI("axes12", []int64{1, 2}))
		node("Unsqueeze", []string{"audio", "axes12"}, "output")
		outShape = []onnxpb.Dim{{Param: "batch_size"}, {Value: 1}, {Value: 1}, {Param: "time"}}
	} else {
		node("Unsqueeze", []string{"audio", "axis1"}, "output")
	}
	g.Outputs = []onnxpb.ValueInfo{{Name: "output", Type: onnxpb.Float, Shape: outShape}}

	return &onnxpb.Model{
		IRVersion:    8,
		Opset:        17,
		ProducerName: "chorus-demovoice",
		DocString:    "Chorus demo voice: " + o.Label + ". Generated from espeak-ng's phonemes; not a trained model.",
		Graph:        g,
		Metadata:     map[string]string{"chorus.demo": "true", "chorus.label": o.Label},
	}
}
