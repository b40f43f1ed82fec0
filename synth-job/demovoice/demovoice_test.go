package demovoice

import (
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/chorus-voice/chorus/synth-job/engine"
	"github.com/chorus-voice/chorus/synth-job/internal/testenv"
	"github.com/chorus-voice/chorus/synth-job/voice"
)

var ortErr error

// needEspeak skips the test when the espeak-ng program is missing (Build
// renders the units with it) — locally; in CI it fails the test.
func needEspeak(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("espeak-ng"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("espeak-ng program: %v", err)
		}
		t.Skipf("espeak-ng program not installed (scripts/setup-system.sh): %v", err)
	}
}

// build is Build for tests.
func build(t *testing.T, o Options) (model, config []byte) {
	t.Helper()
	needEspeak(t)
	model, config, err := Build(o)
	if err != nil {
		t.Fatal(err)
	}
	return model, config
}

// needORT initialises ONNX Runtime from CHORUS_ORT_LIBRARY; without it the
// test skips locally and fails in CI.
func needORT(t *testing.T) string {
	t.Helper()
	lib := testenv.ORTLibrary(t)
	if ortErr = engine.InitRuntime(lib); ortErr != nil {
		t.Fatalf("initialise ONNX Runtime: %v", ortErr)
	}
	return lib
}

func TestInventoryUnique(t *testing.T) {
	seen := map[rune]int{}
	for i, s := range inventory {
		if j, dup := seen[s.r]; dup {
			t.Errorf("symbol %q at %d and %d", s.r, j, i)
		}
		seen[s.r] = i
	}
	if inventory[0].r != '_' || inventory[1].r != '^' || inventory[2].r != '$' {
		t.Error("pad, BOS, EOS must be ids 0, 1, 2 as in Piper")
	}
}

func TestConfigIsValidPiperConfig(t *testing.T) {
	for _, o := range []Options{English(), Korean()} {
		_, cfgJSON := build(t, o)
		c, err := voice.ParseConfig(cfgJSON)
		if err != nil {
			t.Fatalf("%s: %v", o.Label, err)
		}
		if c.Chorus == nil || !c.Chorus.Demo || c.Chorus.Label != o.Label {
			t.Errorf("%s: config not marked as demo voice: %+v", o.Label, c.Chorus)
		}
		if c.NumSpeakers != o.Speakers || c.Espeak.Voice != o.EspeakVoice {
			t.Errorf("%s: speakers %d voice %q", o.Label, c.NumSpeakers, c.Espeak.Voice)
		}
	}
}

// run feeds one batch through the model.
func run(t *testing.T, model []byte, multi bool, ids [][]int64, lengthScale float32, sids []int64) ([]float32, ort.Shape) {
	t.Helper()
	names := []string{voice.InputIDs, voice.InputLengths, voice.InputScales}
	if multi {
		names = append(names, voice.InputSID)
	}
	sess, err := ort.NewDynamicAdvancedSessionWithONNXData(model, names, []string{"output"}, nil)
	if err != nil {
		t.Fatalf("session: %v", err)
	}
	defer sess.Destroy()
	n := 0
	for _, r := range ids {
		n = max(n, len(r))
	}
	flat := make([]int64, len(ids)*n)
	lengths := make([]int64, len(ids))
	for b, r := range ids {
		copy(flat[b*n:], r)
		lengths[b] = int64(len(r))
	}
	in, _ := ort.NewTensor(ort.NewShape(int64(len(ids)), int64(n)), flat)
	defer in.Destroy()
	ln, _ := ort.NewTensor(ort.NewShape(int64(len(ids))), lengths)
	defer ln.Destroy()
	sc, _ := ort.NewTensor(ort.NewShape(3), []float32{0.667, lengthScale, 0.8})
	defer sc.Destroy()
	inputs := []ort.Value{in, ln, sc}
	if multi {
		sid, _ := ort.NewTensor(ort.NewShape(int64(len(sids))), sids)
		defer sid.Destroy()
		inputs = append(inputs, sid)
	}
	outs := []ort.Value{nil}
	if err := sess.Run(inputs, outs); err != nil {
		t.Fatalf("run: %v", err)
	}
	defer outs[0].Destroy()
	out := outs[0].(*ort.Tensor[float32])
	return append([]float32(nil), out.GetData()...), out.GetShape().Clone()
}

func rms(x []float32) float64 {
	var s float64
	for _, v := range x {
		s += float64(v) * float64(v)
	}
	return math.Sqrt(s / float64(max(len(x), 1)))
}

func TestModelHonoursPiperContract(t *testing.T) {
	needORT(t)
	for _, tt := range []struct {
		perItem bool
		want    voice.Batching
	}{{false, voice.SpeakerPerRun}, {true, voice.SpeakerPerItem}} {
		o := English()
		o.SIDPerItem = tt.perItem
		model, _ := build(t, o)
		ins, outs, err := voice.ModelPortsFromBytes(model)
		if err != nil {
			t.Fatal(err)
		}
		if b, err := voice.CheckModel(Config(o), ins, outs); err != nil || b != tt.want {
			t.Fatalf("per-item sid %v: batching %v, %v; want %v", tt.perItem, b, err, tt.want)
		}
	}
	o := English()
	o.SIDPerItem = true
	model, _ := build(t, o)

	// Two items of different lengths, two speakers, length_scale 1.5.
	a := ids(t, "^_h_ə_l_ˈ_o_ʊ_ _w_ˈ_ɜ_ː_l_d_._$") // həlˈoʊ wˈɜːld.
	b := ids(t, "^_ˈ_a_ɪ_$")                       // ˈaɪ
	const ls = 1.5
	per := int(math.Floor(SamplesPerID * ls))
	data, shape := run(t, model, true, [][]int64{a, b}, ls, []int64{0, 3})
	if !shape.Equals(ort.NewShape(2, 1, int64(len(a)*per))) {
		t.Fatalf("shape = %v, want [2 1 %d]", shape, len(a)*per)
	}
	T := len(a) * per
	itemA, itemB := data[:T], data[T:]
	for i, v := range itemB[len(b)*per:] {
		if v != 0 {
			t.Fatalf("item B sample %d past input_lengths = %v, want 0", len(b)*per+i, v)
		}
	}
	for _, v := range data {
		if math.IsNaN(float64(v)) || v > 1 || v < -1 {
			t.Fatalf("sample %v out of [-1, 1]", v)
		}
	}
	if r := rms(itemA); r < 0.02 {
		t.Errorf("item A rms %v, want speech", r)
	}
	if r := rms(itemB[:len(b)*per]); r < 0.02 {
		t.Errorf("item B rms %v, want speech", r)
	}
	// Padding never becomes audio: each item sounds exactly as it does alone.
	aloneB, _ := run(t, model, true, [][]int64{b}, ls, []int64{3})
	for i := range aloneB {
		if aloneB[i] != itemB[i] {
			t.Fatalf("item B sample %d: %v in the batch, %v alone", i, itemB[i], aloneB[i])
		}
	}
	// The speaker changes the sound of the same phonemes, not their timing.
	otherA, _ := run(t, model, true, [][]int64{a}, ls, []int64{3})
	if d := rms(sub(itemA, otherA)); d < 0.02 {
		t.Errorf("speakers 0 and 3 differ by rms %v", d)
	}
	// Different phonemes sound different.
	c := ids(t, "^_h_ə_l_ˈ_i_ʊ_ _w_ˈ_ɜ_ː_l_d_._$")
	otherPhoneme, _ := run(t, model, true, [][]int64{c}, ls, []int64{0})
	if d := rms(sub(itemA, otherPhoneme)); d < 0.02 {
		t.Errorf("replacing o by i changes the audio by rms %v", d)
	}
	// Symbols without sound take no time and make none: only pads is silence.
	quiet, _ := run(t, model, true, [][]int64{ids(t, "^___$")}, 1, []int64{0})
	if r := rms(quiet); r != 0 {
		t.Errorf("pads only: rms %v, want exact silence", r)
	}
}

// ids maps phonemes (one code point each) through the demo voices' map.
func ids(t *testing.T, phonemes string) []int64 {
	t.Helper()
	m := Config(English()).PhonemeIDMap
	var out []int64
	for _, r := range phonemes {
		id, ok := m[string(r)]
		if !ok {
			t.Fatalf("%q not in the map", r)
		}
		out = append(out, id[0])
	}
	return out
}

func sub(a, b []float32) []float32 {
	d := make([]float32, len(a))
	for i := range a {
		d[i] = a[i] - b[i]
	}
	return d
}

// In the Piper layout (sid declared [1]) one speaker id serves a whole
// batch: each item sounds as it does alone with that speaker.
func TestPiperLayoutOneSpeakerPerRun(t *testing.T) {
	needORT(t)
	piper, _ := build(t, English())
	o := English()
	o.SIDPerItem = true
	perItem, _ := build(t, o)
	a := ids(t, "^_h_ə_l_ˈ_o_ʊ_$")
	b := ids(t, "^_ˈ_a_ɪ_$")
	got, shape := run(t, piper, true, [][]int64{a, b}, 1, []int64{2})
	want, wantShape := run(t, perItem, true, [][]int64{a, b}, 1, []int64{2, 2})
	if !shape.Equals(wantShape) {
		t.Fatalf("shape %v, want %v", shape, wantShape)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("sample %d: %v with sid [1], %v with sid [2 2]", i, got[i], want[i])
		}
	}
}

func TestSingleSpeakerAndRank4(t *testing.T) {
	needORT(t)
	o := Korean()
	o.Rank4 = true
	model, _ := build(t, o)
	ins, outs, err := voice.ModelPortsFromBytes(model)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := voice.CheckModel(Config(o), ins, outs); err != nil || b != voice.SingleSpeaker {
		t.Fatal(b, err)
	}
	ids := make([]int64, 2000)
	for i := range ids {
		ids[i] = int64(i % len(inventory))
	}
	data, shape := run(t, model, false, [][]int64{ids}, 1, nil)
	if !shape.Equals(ort.NewShape(1, 1, 1, int64(len(ids)*SamplesPerID))) {
		t.Fatalf("shape = %v", shape)
	}
	if r := rms(data); r < 0.05 {
		t.Errorf("rms %v, want audible", r)
	}
}

// onnx.checker is an independent check of the hand-written protobuf, when
// Debian's python3-onnx is installed.
func TestONNXChecker(t *testing.T) {
	py := testenv.PythonONNX(t) // fails in CI without python3-onnx
	perItem := English()
	perItem.SIDPerItem = true
	ko := Korean()
	ko.Rank4 = true
	for _, o := range []Options{English(), perItem, ko} {
		model, _ := build(t, o)
		p := filepath.Join(t.TempDir(), "m.onnx")
		if err := os.WriteFile(p, model, 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(py, "-c",
			"import onnx,sys; m=onnx.load(sys.argv[1]); onnx.checker.check_model(m, full_check=True)", p).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: onnx.checker: %v\n%s", o.Label, err, out)
		}
	}
}

// Rendering the units twice gives the same samples: the voices are
// deterministic (Build itself reuses the units it rendered in the process).
func TestUnitsAreDeterministic(t *testing.T) {
	needEspeak(t)
	a, err := renderUnits("en-us+f2", languages["en-us"])
	if err != nil {
		t.Fatal(err)
	}
	b, err := renderUnits("en-us+f2", languages["en-us"])
	if err != nil {
		t.Fatal(err)
	}
	for id := range a {
		if !slices.Equal(a[id].buf, b[id].buf) || a[id].alpha != b[id].alpha || a[id].period != b[id].period {
			t.Fatalf("unit of %q differs between two renderings", inventory[id].r)
		}
	}
}

func TestBuildRejectsBadOptions(t *testing.T) {
	o := English()
	o.EspeakVoice = "fr"
	if _, _, err := Build(o); err == nil {
		t.Error("built a voice for a language without unit recipes")
	}
	o = Korean()
	o.SpeakerVoices = []string{"ko", "ko+f2"}
	if _, _, err := Build(o); err == nil {
		t.Error("built a voice with more speaker voices than speakers")
	}
	o = English()
	o.SpeakerNames = o.SpeakerNames[:2]
	if _, _, err := Build(o); err == nil {
		t.Error("built a voice with 2 names for 4 speakers")
	}
}
