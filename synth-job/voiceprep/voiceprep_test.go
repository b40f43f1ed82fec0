package voiceprep_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/chorus-voice/chorus/synth-job/demovoice"
	"github.com/chorus-voice/chorus/synth-job/internal/benchvoice"
	"github.com/chorus-voice/chorus/synth-job/internal/testenv"
	"github.com/chorus-voice/chorus/synth-job/voice"
	"github.com/chorus-voice/chorus/synth-job/voiceprep"
)

var quiet = slog.New(slog.DiscardHandler)

// Piper's export gains the durations output, declared [B, 1, N] float32,
// and its decoder lifts; the rest of its contract is unchanged.
func TestRewriteAddsPiperDurations(t *testing.T) {
	model, err := os.ReadFile(testenv.BenchModel(t, benchvoice.Medium))
	if err != nil {
		t.Fatal(err)
	}
	g, err := voiceprep.Rewrite(model)
	if err != nil {
		t.Fatal(err)
	}
	if !g.Durations || g.Graph == nil || g.Lifted == nil || g.LiftedConvs < 20 {
		t.Fatalf("durations %v, graph %v, lifted %v (%d convolutions)", g.Durations, g.Graph != nil, g.Lifted != nil, g.LiftedConvs)
	}
	ins0, outs0, err := voice.ModelPortsFromBytes(model)
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"graph": g.Graph, "lifted": g.Lifted} {
		ins, outs, err := voice.ModelPortsFromBytes(data)
		if err != nil {
			t.Fatal(err)
		}
		if len(ins) != len(ins0) || len(outs) != 2 || outs[0].Name != outs0[0].Name {
			t.Fatalf("%s: inputs %v, outputs %v", name, ins, outs)
		}
		d := outs[1]
		if d.Name != voice.OutputDurations || d.Type != voice.Float || len(d.Dims) != 3 || d.Dims[1] != 1 {
			t.Errorf("%s: durations output %s %v, want float32 [B,1,N]", name, d.Name, d)
		}
	}
	// Rewriting a prepared graph changes nothing more: it declares the
	// output already.
	again, err := voiceprep.Rewrite(g.Graph)
	if err != nil || again.Graph != nil || !again.Durations {
		t.Errorf("rewriting the prepared graph: %v, graph %v, durations %v", err, again.Graph != nil, again.Durations)
	}
}

// The prepared bench voice, as tests and benchmarks open it: its manifest
// names files of the recorded size and sha256, and onnx.checker (an
// implementation nobody here wrote) accepts both graphs.
func TestPreparedBenchVoice(t *testing.T) {
	v := testenv.BenchVoice(t, benchvoice.Medium)
	p, err := voice.ReadPrepared(v.ModelPath + voice.PreparedManifestSuffix)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := voiceprep.FileSHA256(v.ModelPath)
	if err != nil {
		t.Fatal(err)
	}
	if !p.Current(sum) || !p.Durations || p.Graph == nil || p.Lifted == nil || p.Lifted.LiftedConvs == 0 {
		t.Fatalf("manifest %+v", p)
	}
	for path, g := range map[string]*voice.PreparedGraph{v.GraphPath: p.Graph, v.LiftedPath: p.Lifted} {
		got, err := voiceprep.FileSHA256(path)
		if err != nil || got != g.SHA256 {
			t.Fatalf("%s: sha256 %s (%v), manifest %s", path, got, err, g.SHA256)
		}
		testenv.CheckONNX(t, path)
	}
}

// Check finds a prepared graph that computes something else: the bench
// voice's decoder with one weight of its last convolution changed.
func TestCheckCatchesAGraphThatDiffers(t *testing.T) {
	v := testenv.BenchVoice(t, benchvoice.Medium)
	graph, err := os.ReadFile(v.GraphPath)
	if err != nil {
		t.Fatal(err)
	}
	setFirstWeight(t, graph, "dec.conv_post.weight", 0.5)
	bad := filepath.Join(t.TempDir(), "bad.onnx")
	if err := os.WriteFile(bad, graph, 0o644); err != nil {
		t.Fatal(err)
	}
	err = voiceprep.Check(context.Background(), testenv.ORTLibrary(t), v.ModelPath, bad, "", noiseOff(v.Config))
	if !errors.Is(err, voiceprep.ErrMismatch) {
		t.Fatalf("a changed weight: %v, want ErrMismatch", err)
	}
	t.Log(err)
}

func noiseOff(c *voice.Config) *voice.Config {
	q := *c
	q.Inference.NoiseScale, q.Inference.NoiseW = 0, 0
	return &q
}

// setFirstWeight overwrites the first float of the raw data of the named
// initialiser in a serialised model (TensorProto: name, field 8, then
// raw_data, field 9, as exporters write them).
func setFirstWeight(t *testing.T, model []byte, name string, value float32) {
	t.Helper()
	at := bytes.Index(model, append([]byte{0x42, byte(len(name))}, name...))
	if at < 0 {
		t.Fatalf("no initialiser %s", name)
	}
	rest := model[at+2+len(name):]
	num, typ, n := protowire.ConsumeTag(rest)
	if num != 9 || typ != protowire.BytesType {
		t.Fatalf("%s: field %d after the name, want raw_data", name, num)
	}
	size, m := protowire.ConsumeVarint(rest[n:])
	if m < 0 || size < 4 {
		t.Fatalf("%s: raw_data of %d bytes", name, size)
	}
	binary.LittleEndian.PutUint32(rest[n+m:], math.Float32bits(value))
}

// A generated demo voice is prepared too: whatever its graph declares,
// Open gives a voice the engine can run, and opening it again reuses the
// graphs (and makes them again once the model changed).
func TestOpenPreparesOnceAndAgainForANewModel(t *testing.T) {
	lib := testenv.ORTLibrary(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "en.onnx")
	write := func(o demovoice.Options) {
		model, cfg, err := demovoice.Build(o)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, model, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path+".json", cfg, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(demovoice.English())
	ctx := context.Background()
	v, err := voiceprep.Open(ctx, lib, path, "", quiet)
	if err != nil {
		t.Fatal(err)
	}
	if !v.Prepared {
		t.Fatal("the demo voice was not prepared")
	}
	manifest := path + voice.PreparedManifestSuffix
	st, err := os.Stat(manifest)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := voiceprep.Open(ctx, lib, path, "", quiet); err != nil {
		t.Fatal(err)
	}
	if again, _ := os.Stat(manifest); !again.ModTime().Equal(st.ModTime()) {
		t.Error("opening a prepared voice again prepared it again")
	}
	o := demovoice.English()
	o.SIDPerItem = true
	write(o)
	if _, err := voiceprep.Open(ctx, lib, path, "", quiet); err != nil {
		t.Fatal(err)
	}
	p, err := voice.ReadPrepared(manifest)
	if err != nil {
		t.Fatal(err)
	}
	sum, _ := voiceprep.FileSHA256(path)
	if !p.Current(sum) {
		t.Error("the manifest still describes the old model")
	}
}
