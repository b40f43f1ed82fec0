package voice

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const goodConfig = `{
  "audio": {"sample_rate": 22050, "quality": "medium"},
  "espeak": {"voice": "en-us"},
  "phoneme_type": "espeak",
  "phoneme_id_map": {"_": [0], "^": [1], "$": [2], " ": [3], "a": [4], "b": [5, 6]},
  "num_symbols": 10,
  "num_speakers": 2,
  "speaker_id_map": {"x": 0, "y": 1},
  "inference": {"noise_scale": 0.5, "length_scale": 1.1, "noise_w": 0.7},
  "dataset": "ignored extra field"
}`

func TestParseConfigGood(t *testing.T) {
	c, err := ParseConfig([]byte(goodConfig))
	if err != nil {
		t.Fatal(err)
	}
	if c.Audio.SampleRate != 22050 || c.NumSpeakers != 2 || !c.MultiSpeaker() || c.Inference.LengthScale != 1.1 {
		t.Errorf("parsed %+v", c)
	}
	if !c.HasSpeaker(1) || c.HasSpeaker(2) || c.HasSpeaker(-1) {
		t.Error("HasSpeaker wrong")
	}
}

func TestParseConfigDefaults(t *testing.T) {
	c, err := ParseConfig([]byte(`{"audio":{"sample_rate":16000},"espeak":{"voice":"ko"},
		"phoneme_id_map":{"_":[0],"^":[1],"$":[2],"a":[7]},"num_speakers":1}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.PhonemeType != PhonemeEspeak || c.NumSymbols != 8 || c.Inference.NoiseScale != DefaultNoiseScale ||
		c.Inference.LengthScale != DefaultLengthScale || c.Inference.NoiseW != DefaultNoiseW {
		t.Errorf("defaults not applied: %+v", c)
	}
}

func TestParseConfigRejects(t *testing.T) {
	tests := []struct{ name, edit, want string }{
		{"json", `{`, "not valid JSON"},
		{"rate", `"sample_rate": 22050` + "→" + `"sample_rate": 1000`, "sample_rate"},
		{"phoneme type", `"phoneme_type": "espeak"` + "→" + `"phoneme_type": "pinyin"`, "phoneme_type"},
		{"espeak voice", `"voice": "en-us"` + "→" + `"voice": "en us; rm"`, "espeak.voice"},
		{"no pad", `"_": [0], ` + "→", `lacks "_"`},
		{"no bos", `"^": [1], ` + "→", `lacks "^"`},
		{"no eos", `"$": [2], ` + "→", `lacks "$"`},
		{"negative id", `"a": [4]` + "→" + `"a": [-4]`, "negative id"},
		{"empty ids", `"a": [4]` + "→" + `"a": []`, "has no ids"},
		{"phoneme_map key", `"phoneme_type": "espeak",` + "→" + `"phoneme_type": "espeak", "phoneme_map": {"ab": ["a"]},`, "phoneme_map key"},
		{"phoneme_map value", `"phoneme_type": "espeak",` + "→" + `"phoneme_type": "espeak", "phoneme_map": {"a": ["bb"]},`, "not one code point"},
		{"num_symbols", `"num_symbols": 10` + "→" + `"num_symbols": 5`, "num_symbols"},
		{"speakers", `"num_speakers": 2` + "→" + `"num_speakers": 0`, "num_speakers"},
		{"speaker id", `"y": 1` + "→" + `"y": 2`, "outside"},
		{"speaker dup", `"y": 1` + "→" + `"y": 0`, "both"},
		{"length_scale", `"length_scale": 1.1` + "→" + `"length_scale": 0`, "length_scale"},
		{"noise", `"noise_scale": 0.5` + "→" + `"noise_scale": -1`, "noise_scale"},
		{"empty map", `"phoneme_id_map": {"_": [0], "^": [1], "$": [2], " ": [3], "a": [4], "b": [5, 6]}` + "→" + `"phoneme_id_map": {}`, "empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := tt.edit
			if from, to, ok := strings.Cut(tt.edit, "→"); ok {
				if !strings.Contains(goodConfig, from) {
					t.Fatalf("test edit %q does not apply", from)
				}
				data = strings.Replace(goodConfig, from, to, 1)
			}
			_, err := ParseConfig([]byte(data))
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}

func FuzzParseConfig(f *testing.F) {
	f.Add([]byte(goodConfig))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseConfig(b)
		if err == nil && (c.NumSpeakers < 1 || len(c.PhonemeIDMap["_"]) == 0) {
			t.Fatalf("accepted invalid config %s", b)
		}
	})
}

func tensor(name string, typ ElemType, dims ...int64) Port {
	return Port{Name: name, Tensor: true, Type: typ, Dims: dims}
}

// piperIO declares the inputs and outputs as Piper's exporter does: batch
// and length axes dynamic, sid fixed at [1].
func piperIO(withSID bool) ([]Port, []Port) {
	ins := []Port{
		tensor(InputIDs, Int64, -1, -1),
		tensor(InputLengths, Int64, -1),
		tensor(InputScales, Float, 3),
	}
	if withSID {
		ins = append(ins, tensor(InputSID, Int64, 1))
	}
	return ins, []Port{tensor("output", Float, -1, 1, -1)}
}

func TestCheckModel(t *testing.T) {
	multi, _ := ParseConfig([]byte(goodConfig))
	single, _ := ParseConfig([]byte(strings.Replace(strings.Replace(goodConfig, `"num_speakers": 2`, `"num_speakers": 1`, 1), `, "y": 1`, ``, 1)))
	if single == nil {
		t.Fatal("single-speaker test config invalid")
	}

	ins, outs := piperIO(true)
	if b, err := CheckModel(multi, ins, outs); err != nil || b != SpeakerPerRun {
		t.Errorf("multi-speaker, sid [1]: %v, %v; want %v", b, err, SpeakerPerRun)
	}
	dyn := append(ins[:3:3], tensor(InputSID, Int64, -1))
	if b, err := CheckModel(multi, dyn, outs); err != nil || b != SpeakerPerItem {
		t.Errorf("multi-speaker, sid [B]: %v, %v; want %v", b, err, SpeakerPerItem)
	}
	ins, outs = piperIO(false)
	if b, err := CheckModel(single, ins, outs); err != nil || b != SingleSpeaker {
		t.Errorf("single-speaker: %v, %v", b, err)
	}
	// Piper's alignment patch (piper.patch_voice_with_alignment) marks the
	// Ceil tensor as a further output, declared without a type.
	rank4 := []Port{tensor("output", Float, 1, 1, 1, -1), {Name: "/Ceil_output_0"}}
	if _, err := CheckModel(single, ins, rank4); err != nil {
		t.Errorf("rank 4 output with an extra output: %v", err)
	}
	withDurations := []Port{tensor("output", Float, -1, 1, -1), tensor(OutputDurations, Float, -1, 1, -1)}
	if _, err := CheckModel(single, ins, withDurations); err != nil || !HasDurations(withDurations) {
		t.Errorf("the durations output [B,1,N]: %v", err)
	}

	bad := []struct {
		name      string
		cfg       *Config
		ins, outs []Port
		want      string
	}{
		{"sid missing", multi, ins, outs, `no "sid" input`},
		{"sid extra", single, func() []Port { i, _ := piperIO(true); return i }(), outs, `takes "sid"`},
		{"sid fixed at 4", multi, append(ins[:3:3], tensor(InputSID, Int64, 4)), outs, `declared [4]`},
		{"sid rank 2", multi, append(ins[:3:3], tensor(InputSID, Int64, 1, 1)), outs, `input "sid"`},
		{"input int32", single, []Port{tensor(InputIDs, Int32, 1, -1), ins[1], ins[2]}, outs, `input "input"`},
		{"input rank", single, []Port{tensor(InputIDs, Int64, -1), ins[1], ins[2]}, outs, `rank 2`},
		{"input not a tensor", single, []Port{{Name: InputIDs}, ins[1], ins[2]}, outs, `not a tensor`},
		{"scales 2", single, []Port{ins[0], ins[1], tensor(InputScales, Float, 2)}, outs, `want 3`},
		{"lengths missing", single, []Port{ins[0], ins[2]}, outs, `lacks input "input_lengths"`},
		{"unexpected", single, append(append([]Port{}, ins...), tensor("pitch", Float, 1)), outs, `unexpected input "pitch"`},
		{"no output", single, ins, nil, "no output"},
		{"output rank 2", single, ins, []Port{tensor("output", Float, 1, -1)}, "want a float tensor"},
		{"output int", single, ins, []Port{tensor("output", Int16, 1, 1, -1)}, "want a float tensor"},
		{"durations of another shape", single, ins, []Port{outs[0], tensor(OutputDurations, Float, 1, -1)}, `output "durations" is float32 [1 -1]`},
		{"durations first", single, ins, []Port{tensor(OutputDurations, Float, -1, 1, -1)}, "the first output is the audio"},
	}
	for _, tt := range bad {
		_, err := CheckModel(tt.cfg, tt.ins, tt.outs)
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want ErrInvalid mentioning %q", tt.name, err, tt.want)
		}
	}
}

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(dir, "x.onnx")
	if err := os.WriteFile(model, []byte("not checked here"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(model, ""); err == nil {
		t.Fatal("want error without x.onnx.json")
	}
	if err := os.WriteFile(model+".json", []byte(goodConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	v, err := Open(model, "")
	if err != nil {
		t.Fatal(err)
	}
	if v.Name != "x" || !filepath.IsAbs(v.ModelPath) || v.Config.NumSpeakers != 2 {
		t.Errorf("voice %+v", v)
	}
	if _, err := Open(dir, model+".json"); !errors.Is(err, ErrInvalid) {
		t.Errorf("directory as model: %v, want ErrInvalid", err)
	}
}

// A config laid out exactly like the ones Piper publishes (voice metadata,
// language block, an empty phoneme_map, num_symbols 256) parses unchanged.
func TestParsePublishedPiperLayout(t *testing.T) {
	c, err := ParseConfig([]byte(`{
  "dataset": "lessac",
  "audio": {"sample_rate": 22050, "quality": "medium"},
  "espeak": {"voice": "en-us"},
  "language": {"code": "en_US", "family": "en", "region": "US", "name_native": "English",
               "name_english": "English", "country_english": "United States"},
  "inference": {"noise_scale": 0.667, "length_scale": 1, "noise_w": 0.8},
  "phoneme_type": "espeak",
  "phoneme_map": {},
  "phoneme_id_map": {"_": [0], "^": [1], "$": [2], " ": [3], "!": [4], ",": [8], ".": [10], "?": [13],
                     "a": [14], "h": [20], "l": [24], "w": [35], "ə": [59], "ɜ": [62], "ɹ": [88],
                     "ˈ": [120], "ˌ": [121], "ː": [122], "d": [17], "o": [27], "ʊ": [100]},
  "num_symbols": 256,
  "num_speakers": 1,
  "speaker_id_map": {},
  "piper_version": "1.0.0"
}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.NumSymbols != 256 || c.MultiSpeaker() || c.Language == nil || c.Language.Code != "en_US" || len(c.PhonemeMap) != 0 {
		t.Errorf("parsed %+v", c)
	}
}
