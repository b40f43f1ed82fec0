package demovoice

import (
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/chorus-voice/chorus/synth-job/engine"
	"github.com/chorus-voice/chorus/synth-job/internal/testenv"
	"github.com/chorus-voice/chorus/synth-job/voice"
)

var ortErr error

// needORT initialises ONNX Runtime from CHORUS_ORT_LIBRARY; without it the
// test skips locally and fails in CI.
func needORT(t *testing.T) {
	t.Helper()
	lib := testenv.ORTLibrary(t)
	if ortErr = engine.InitRuntime(lib); ortErr != nil {
		t.Fatalf("initialise ONNX Runtime: %v", ortErr)
	}
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
		_, cfgJSON, err := Build(o)
		if err != nil {
			t.Fatal(err)
		}
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
		model, _, err := Build(o)
		if err != nil {
			t.Fatal(err)
		}
		ins, outs, err := engine.ModelPortsFromBytes(model)
		if err != nil {
			t.Fatal(err)
		}
		if b, err := voice.CheckModel(Config(o), ins, outs); err != nil || b != tt.want {
			t.Fatalf("per-item sid %v: batching %v, %v; want %v", tt.perItem, b, err, tt.want)
		}
	}
	o := English()
	o.SIDPerItem = true
	model, _, err := Build(o)
	if err != nil {
		t.Fatal(err)
	}

	// Two items of different lengths, two speakers, length_scale 1.5.
	a := []int64{1, 0, 20, 0, 40, 0, 60, 0, 2}
	b := []int64{1, 0, 40, 0, 2}
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
	// The id-40 burst is real sound; the pads around it are near-silent.
	voicedA := itemA[4*per : 5*per]
	padA := itemA[5*per : 6*per]
	if r := rms(voicedA); r < 0.05 {
		t.Errorf("phoneme burst rms %v, want audible", r)
	}
	if r := rms(padA); r > 0.01 || r == 0 {
		t.Errorf("pad rms %v, want near-silent but not zero", r)
	}
	// Speaker changes the sound of the same phoneme.
	burstB := itemB[2*per : 3*per]
	same := true
	for i := range burstB {
		if math.Abs(float64(burstB[i]-itemA[4*per+i])) > 1e-3 {
			same = false
			break
		}
	}
	if same {
		t.Error("speakers 0 and 3 produced the same audio")
	}
	// Different phonemes sound different.
	if d := rms(sub(itemA[2*per:3*per], itemA[4*per:5*per])); d < 0.01 {
		t.Errorf("phonemes 20 and 40 differ by rms %v", d)
	}
	for _, v := range data {
		if math.IsNaN(float64(v)) || v > 1 || v < -1 {
			t.Fatalf("sample %v out of [-1, 1]", v)
		}
	}
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
	piper, _, err := Build(English())
	if err != nil {
		t.Fatal(err)
	}
	o := English()
	o.SIDPerItem = true
	perItem, _, err := Build(o)
	if err != nil {
		t.Fatal(err)
	}
	a := []int64{1, 0, 20, 0, 40, 0, 60, 0, 2}
	b := []int64{1, 0, 40, 0, 2}
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
	model, _, err := Build(o)
	if err != nil {
		t.Fatal(err)
	}
	ins, outs, err := engine.ModelPortsFromBytes(model)
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
	if exec.Command("/usr/bin/python3", "-c", "import onnx").Run() != nil {
		t.Skip("python3-onnx not installed; the ONNX Runtime tests cover the model")
	}
	model, _, err := Build(English())
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "m.onnx")
	if err := os.WriteFile(p, model, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("/usr/bin/python3", "-c",
		"import onnx,sys; m=onnx.load(sys.argv[1]); onnx.checker.check_model(m, full_check=True)", p).CombinedOutput()
	if err != nil {
		t.Fatalf("onnx.checker: %v\n%s", err, out)
	}
}
