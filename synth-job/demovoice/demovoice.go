// Package demovoice generates Chorus's demo voices: small ONNX models that
// honour exactly the Piper voice contract, so that a fresh machine with no
// model downloads can run the whole synthesis flow end to end.
//
// A demo voice does not speak words. Every phoneme id becomes a Hann-windowed
// burst of SamplesPerID × length_scale samples: a fundamental whose pitch
// depends on the speaker, plus two formant-like tones whose frequencies
// depend on the phoneme (vowels get textbook F1/F2 values, other classes a
// band of their own). The pad symbol "_" and word spaces are near-silent, so
// the result sounds like syllables with pauses and different speakers are
// audibly different. It is labelled as a demo voice in its config
// ("chorus": {"demo": true}).
//
// The graph (ONNX opset 17, standard operators only):
//
//	L      = max(floor(SamplesPerID · scales[1]), 1)        samples per id
//	t      = 0 … N·L-1;  p = t / L;  o = t mod L            sample, id index, offset
//	id     = input[:, p]                                    [B, T]
//	window = ½ − ½·cos(2π·o/L)
//	x      = amp[id] · window · (voice[id]·sin(2π·F0[sid]·o/sr)
//	         + 0.3·sin(2π·F1[id]·o/sr) + 0.2·sin(2π·F2[id]·o/sr))
//	output = x · (t < input_lengths·L)                      [B, 1, T] float32
//
// so the output length is N × SamplesPerID × length_scale and samples past
// each item's input_lengths are exactly zero. Multi-speaker demo voices
// declare sid as [1], as Piper's exporter does (one speaker per run);
// Options.SIDPerItem declares it [batch]. noise_scale and noise_w are
// accepted and ignored (the demo voice is deterministic).
package demovoice

import (
	"encoding/json"
	"fmt"
	"math"

	"github.com/chorus-voice/chorus/synth-job/onnxpb"
	"github.com/chorus-voice/chorus/synth-job/voice"
)

// SampleRate is the demo voices' output rate (that of Piper's medium voices).
const SampleRate = 22050

// SamplesPerID is the number of output samples per phoneme id at
// length_scale 1 (the demo model's "hop").
const SamplesPerID = 1024

// Options describe one demo voice.
type Options struct {
	// Label is shown wherever the voice is listed.
	Label string
	// EspeakVoice is the espeak-ng voice that phonemises text (e.g. "en-us").
	EspeakVoice string
	// LanguageCode is informational, e.g. "en_US".
	LanguageCode string
	// Speakers is the number of speakers (≥1); with more than one the model
	// takes a "sid" input. Speaker i has fundamental F0(i).
	Speakers int
	// SpeakerNames name the speakers in speaker_id_map (optional).
	SpeakerNames []string
	// Rank4 makes the output [B,1,1,T] instead of [B,1,T] (both occur in
	// exported Piper voices).
	Rank4 bool
	// SIDPerItem declares sid as [batch] (one speaker per item) instead of
	// [1], which is how Piper's exporter declares it (one speaker per run).
	SIDPerItem bool
}

// F0 is the fundamental frequency of speaker i, in Hz.
func F0(i int) float32 {
	pitches := []float32{120, 165, 210, 250, 140, 190, 230, 100}
	return pitches[i%len(pitches)] * float32(1+0.02*float64(i/len(pitches)))
}

// English returns the options of the English demo voice (4 speakers).
func English() Options {
	return Options{
		Label: "Chorus demo voice (English, 4 speakers)", EspeakVoice: "en-us", LanguageCode: "en_US",
		Speakers: 4, SpeakerNames: []string{"aria", "ben", "cleo", "dan"},
	}
}

// Korean returns the options of the Korean demo voice (one speaker).
func Korean() Options {
	return Options{
		Label: "Chorus demo voice (Korean)", EspeakVoice: "ko", LanguageCode: "ko_KR", Speakers: 1,
	}
}

// Build generates the model (.onnx bytes) and its Piper config (.onnx.json
// bytes) for the options.
func Build(o Options) (model, config []byte, err error) {
	if o.Speakers < 1 {
		return nil, nil, fmt.Errorf("demo voice: %d speakers, want at least 1", o.Speakers)
	}
	if len(o.SpeakerNames) > 0 && len(o.SpeakerNames) != o.Speakers {
		return nil, nil, fmt.Errorf("demo voice: %d speaker names for %d speakers", len(o.SpeakerNames), o.Speakers)
	}
	cfg := Config(o)
	if err := cfg.Validate(); err != nil {
		return nil, nil, fmt.Errorf("demo voice config: %w", err)
	}
	config, err = json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return nil, nil, fmt.Errorf("demo voice config: %w", err)
	}
	m := graph(o)
	return m.Marshal(), config, nil
}

// Config returns the Piper config of the demo voice.
func Config(o Options) *voice.Config {
	ids := make(map[string][]int64, len(inventory))
	for i, s := range inventory {
		ids[string(s.r)] = []int64{int64(i)}
	}
	c := &voice.Config{
		Audio:        voice.Audio{SampleRate: SampleRate, Quality: "low"},
		Espeak:       voice.Espeak{Voice: o.EspeakVoice},
		Inference:    voice.Inference{NoiseScale: voice.DefaultNoiseScale, LengthScale: 1, NoiseW: voice.DefaultNoiseW},
		PhonemeType:  voice.PhonemeEspeak,
		PhonemeIDMap: ids,
		NumSymbols:   len(inventory),
		NumSpeakers:  o.Speakers,
		SpeakerIDMap: map[string]int{},
		Chorus:       &voice.Chorus{Demo: true, Label: o.Label},
	}
	if o.LanguageCode != "" {
		c.Language = &voice.Language{Code: o.LanguageCode}
	}
	for i, n := range o.SpeakerNames {
		c.SpeakerIDMap[n] = i
	}
	return c
}

func f32(v float32) *float32 { return &v }
func i64(v int64) *int64     { return &v }

func scalarF(name string, v float32) onnxpb.Tensor {
	return onnxpb.Tensor{Name: name, Type: onnxpb.Float, Floats: []float32{v}}
}

func scalarI(name string, v int64) onnxpb.Tensor {
	return onnxpb.Tensor{Name: name, Type: onnxpb.Int64, Int64s: []int64{v}}
}

func graph(o Options) *onnxpb.Model {
	n := len(inventory)
	f1, f2, amp, voiced := make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n)
	for i, s := range inventory {
		f1[i], f2[i], amp[i], voiced[i] = s.f1, s.f2, s.amp, s.voiced
	}
	f0 := make([]float32, o.Speakers)
	for i := range f0 {
		f0[i] = F0(i)
	}
	g := onnxpb.Graph{
		Name: "chorus_demo_voice",
		Initializers: []onnxpb.Tensor{
			scalarF("samples_per_id", SamplesPerID),
			scalarF("one_f", 1),
			scalarF("half", 0.5),
			scalarF("two_pi", 2*math.Pi),
			scalarF("two_pi_over_sr", float32(2*math.Pi/SampleRate)),
			scalarF("w_f1", 0.3),
			scalarF("w_f2", 0.2),
			scalarI("zero_i", 0),
			scalarI("one_i", 1),
			{Name: "axis1", Type: onnxpb.Int64, Dims: []int64{1}, Int64s: []int64{1}},
			{Name: "f1_table", Type: onnxpb.Float, Dims: []int64{int64(n)}, Floats: f1},
			{Name: "f2_table", Type: onnxpb.Float, Dims: []int64{int64(n)}, Floats: f2},
			{Name: "amp_table", Type: onnxpb.Float, Dims: []int64{int64(n)}, Floats: amp},
			{Name: "voiced_table", Type: onnxpb.Float, Dims: []int64{int64(n)}, Floats: voiced},
			{Name: "f0_table", Type: onnxpb.Float, Dims: []int64{int64(o.Speakers)}, Floats: f0},
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

	// Samples per id, L = max(floor(SamplesPerID · length_scale), 1).
	node("Gather", []string{voice.InputScales, "one_i"}, "length_scale")
	node("Mul", []string{"samples_per_id", "length_scale"}, "l_raw")
	node("Floor", []string{"l_raw"}, "l_floor")
	node("Max", []string{"l_floor", "one_f"}, "l_f")
	node("Cast", []string{"l_f"}, "l_i", castTo(onnxpb.Int64))
	// t = 0 … N·L-1, p = t / L, o = t mod L.
	node("Shape", []string{voice.InputIDs}, "ids_shape")
	node("Gather", []string{"ids_shape", "one_i"}, "n_ids")
	node("Mul", []string{"n_ids", "l_i"}, "t_total")
	node("Range", []string{"zero_i", "t_total", "one_i"}, "t")
	node("Div", []string{"t", "l_i"}, "p")
	node("Mod", []string{"t", "l_i"}, "o_i")
	node("Cast", []string{"o_i"}, "o", castTo(onnxpb.Float))
	// Per-sample phoneme id and its tables.
	node("Gather", []string{voice.InputIDs, "p"}, "id", onnxpb.Attr{Name: "axis", Int: i64(1)})
	node("Gather", []string{"f1_table", "id"}, "f1")
	node("Gather", []string{"f2_table", "id"}, "f2")
	node("Gather", []string{"amp_table", "id"}, "amp")
	node("Gather", []string{"voiced_table", "id"}, "voiced")
	// Hann window over each id's samples.
	node("Div", []string{"o", "l_f"}, "frac")
	node("Mul", []string{"frac", "two_pi"}, "win_phase")
	node("Cos", []string{"win_phase"}, "win_cos")
	node("Mul", []string{"win_cos", "half"}, "win_half")
	node("Sub", []string{"half", "win_half"}, "window")
	// Tones: phase relative to the start of each id keeps float32 precise.
	node("Mul", []string{"o", "two_pi_over_sr"}, "rad_per_hz")
	if o.Speakers > 1 {
		// Piper's exporter leaves sid out of the dynamic axes: [1], the
		// speaker of the whole run, broadcast over the batch below.
		sidShape := []onnxpb.Dim{{Value: 1}}
		if o.SIDPerItem {
			sidShape = []onnxpb.Dim{{Param: "batch_size"}}
		}
		g.Inputs = append(g.Inputs, onnxpb.ValueInfo{Name: voice.InputSID, Type: onnxpb.Int64, Shape: sidShape})
		node("Gather", []string{"f0_table", voice.InputSID}, "f0_b")
		node("Unsqueeze", []string{"f0_b", "axis1"}, "f0")
	} else {
		g.Initializers = append(g.Initializers, onnxpb.Tensor{Name: "f0", Type: onnxpb.Float, Dims: []int64{1, 1}, Floats: f0})
	}
	node("Mul", []string{"f0", "rad_per_hz"}, "ph0")
	node("Sin", []string{"ph0"}, "s0")
	node("Mul", []string{"s0", "voiced"}, "s0v")
	node("Mul", []string{"f1", "rad_per_hz"}, "ph1")
	node("Sin", []string{"ph1"}, "s1")
	node("Mul", []string{"s1", "w_f1"}, "s1w")
	node("Mul", []string{"f2", "rad_per_hz"}, "ph2")
	node("Sin", []string{"ph2"}, "s2")
	node("Mul", []string{"s2", "w_f2"}, "s2w")
	node("Add", []string{"s0v", "s1w"}, "s01")
	node("Add", []string{"s01", "s2w"}, "tone")
	node("Mul", []string{"tone", "amp"}, "tone_amp")
	node("Mul", []string{"tone_amp", "window"}, "signal")
	// Zero every sample past each item's input_lengths · L.
	node("Mul", []string{voice.InputLengths, "l_i"}, "limit_b")
	node("Unsqueeze", []string{"limit_b", "axis1"}, "limit")
	node("Less", []string{"t", "limit"}, "valid")
	node("Cast", []string{"valid"}, "mask", castTo(onnxpb.Float))
	node("Mul", []string{"signal", "mask"}, "audio")
	outShape := []onnxpb.Dim{{Param: "batch_size"}, {Value: 1}, {Param: "time"}}
	if o.Rank4 {
		g.Initializers = append(g.Initializers, onnxpb.Tensor{Name: "axes12", Type: onnxpb.Int64, Dims: []int64{2}, Int64s: []int64{1, 2}})
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
		DocString:    "Chorus demo voice: " + o.Label + ". Generated; not a trained model.",
		Graph:        g,
		Metadata:     map[string]string{"chorus.demo": "true", "chorus.label": o.Label},
	}
}
