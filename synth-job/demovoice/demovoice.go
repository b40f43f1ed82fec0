// Package demovoice generates Chorus's demo voices: small ONNX models that
// honour exactly the Piper voice contract, so that a fresh machine with no
// model downloads can run the whole synthesis flow end to end.
//
// A demo voice speaks by concatenating phoneme units, as an old
// concatenative synthesiser does. When Build runs, espeak-ng (its
// command-line program) says every phoneme of the language once per speaker
// — a vowel alone, a consonant before a vowel, cut off again — and the
// graph carries those waveforms as an initialiser. Speakers are espeak-ng
// voice variants (English: f3, the plain voice, f2, m3). The model is not
// trained and makes no claim to sound like a person; it is labelled as a
// demo voice in its config ("chorus": {"demo": true}) and model metadata.
//
// The graph (ONNX opset 17, standard operators only), for ids [B, N]:
//
//	L        = max(floor(SamplesPerID · scales[1]), 1)    samples per id
//	T        = N·L;  item b has S_b = input_lengths[b]·L samples, the rest zeros
//	w_i      = weight[id_i] (≈ ms) · (1 + 0.35 for a vowel after "ˈ"
//	           + 0.6 before "ː"); 0 for pads, marks, symbols without a unit
//	end_i    = ⌊Σ_{j≤i} w_j · (S_b − tail_b) / Σ_j w_j⌋  (int64: padding cannot
//	           change an item's timing); tail_b = min(EndSilence, S_b/4) of silence
//	grain g  : centre c = g·Hop, id = the one sounding at c (ScatterElements
//	           histogram of end grains, CumSum), source position in that
//	           id's unit src = α + β·d + (c − start)·(γ + δ/d), moved by
//	           whole pitch periods so consecutive grains stay in phase
//	sample t : Hann cross-fade of grains ⌊t/Hop⌋ and ⌊t/Hop⌋+1, each read
//	           from the unit table around its src
//	output   = clip(x · (t < S_b), −1, 1)                  [B, 1, T] float32
//
// Vowels, sonorants and fricatives stretch their steady part over their
// duration (grain overlap-add keeps the pitch); stops play their burst at
// its own speed after a silent closure. The output length is N ×
// SamplesPerID × length_scale, samples past each item's input_lengths are
// exactly zero and every sample lies in [−1, 1]. Multi-speaker demo voices
// declare sid as [1], as Piper's exporter does (one speaker per run);
// Options.SIDPerItem declares it [batch]. noise_scale and noise_w are
// accepted and ignored (the demo voice is deterministic).
package demovoice

import (
	"encoding/json"
	"fmt"

	"github.com/chorus-voice/chorus/synth-job/voice"
)

// SampleRate is the demo voices' output rate (that of Piper's medium voices).
const SampleRate = 22050

// SamplesPerID is the number of output samples per phoneme id at
// length_scale 1: the ids of a sentence share its N × SamplesPerID samples
// by weight. English sentences come out about 1.5 times as long as
// espeak-ng's own at its default rate: slow and clear.
const SamplesPerID = 768

// Options describe one demo voice.
type Options struct {
	// Label is shown wherever the voice is listed.
	Label string
	// EspeakVoice is the espeak-ng voice that phonemises text (e.g. "en-us").
	EspeakVoice string
	// LanguageCode is informational, e.g. "en_US".
	LanguageCode string
	// Speakers is the number of speakers (≥1); with more than one the model
	// takes a "sid" input.
	Speakers int
	// SpeakerNames name the speakers in speaker_id_map (optional).
	SpeakerNames []string
	// SpeakerVoices are the espeak-ng voices (with a variant, such as
	// "en-us+f3") whose phonemes speaker i's units are cut from; missing
	// entries default to EspeakVoice.
	SpeakerVoices []string
	// Rank4 makes the output [B,1,1,T] instead of [B,1,T] (both occur in
	// exported Piper voices).
	Rank4 bool
	// SIDPerItem declares sid as [batch] (one speaker per item) instead of
	// [1], which is how Piper's exporter declares it (one speaker per run).
	SIDPerItem bool
}

// English returns the options of the English demo voice (4 speakers).
func English() Options {
	return Options{
		Label: "Chorus demo voice (English, 4 speakers)", EspeakVoice: "en-us", LanguageCode: "en_US",
		Speakers: 4, SpeakerNames: []string{"aria", "ben", "cleo", "dan"},
		SpeakerVoices: []string{"en-us+f3", "en-us", "en-us+f2", "en-us+m3"},
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
	lang, ok := languages[o.EspeakVoice]
	if !ok {
		return nil, nil, fmt.Errorf("demo voice: no unit recipes for espeak-ng voice %q", o.EspeakVoice)
	}
	if len(o.SpeakerVoices) > o.Speakers {
		return nil, nil, fmt.Errorf("demo voice: %d speaker voices for %d speakers", len(o.SpeakerVoices), o.Speakers)
	}
	units := make([][]unit, o.Speakers)
	for i := range units {
		v := o.EspeakVoice
		if i < len(o.SpeakerVoices) {
			v = o.SpeakerVoices[i]
		}
		if units[i], err = cachedUnits(v, o.EspeakVoice); err != nil {
			return nil, nil, fmt.Errorf("demo voice speaker %d: %w", i, err)
		}
	}
	sounding := make([]bool, len(inventory))
	for id, s := range inventory {
		_, has := lang.recipes[s.r]
		sounding[id] = has && sounds(s.cls)
	}
	return graph(o, buildTables(units, sounding)).Marshal(), config, nil
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
