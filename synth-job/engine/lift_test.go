package engine_test

import (
	"bytes"
	"context"
	"log/slog"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/chorus-voice/chorus/synth-job/engine"
	"github.com/chorus-voice/chorus/synth-job/internal/benchvoice"
	"github.com/chorus-voice/chorus/synth-job/internal/testenv"
	"github.com/chorus-voice/chorus/synth-job/onnxpb"
)

// liftModel is a small decoder-like region under "/dec/" with everything
// LiftConv1D handles: a convolution with dilation and padding, a 1×1
// convolution of a second input (a speaker embedding [B, C, 1]) added to
// it, a transposed convolution with stride, padding and output padding, a
// grouped convolution in a residual branch, a scalar division, and a
// graph output computed inside the region.
func liftModel(opset int64) []byte {
	r := rand.New(rand.NewPCG(1, 2))
	w := func(name string, dims ...int64) onnxpb.Tensor {
		n := int64(1)
		for _, d := range dims {
			n *= d
		}
		f := make([]float32, n)
		for i := range f {
			f[i] = float32(r.NormFloat64() * 0.3)
		}
		return onnxpb.Tensor{Name: name, Dims: dims, Type: onnxpb.Float, Floats: f}
	}
	ints := func(name string, v ...int64) onnxpb.Attr { return onnxpb.Attr{Name: name, Ints: v} }
	one := func(name string, v int64) onnxpb.Attr { return onnxpb.Attr{Name: name, Int: &v} }
	alpha, two := float32(0.1), float32(2)
	return (&onnxpb.Model{IRVersion: 7, Opset: opset, Graph: onnxpb.Graph{
		Name: "lift",
		Inputs: []onnxpb.ValueInfo{
			{Name: "x", Type: onnxpb.Float, Shape: []onnxpb.Dim{{Value: 1}, {Value: 4}, {Param: "T"}}},
			{Name: "g", Type: onnxpb.Float, Shape: []onnxpb.Dim{{Value: 1}, {Value: 5}, {Value: 1}}},
		},
		Outputs: []onnxpb.ValueInfo{{Name: "/dec/out", Type: onnxpb.Float}},
		Initializers: []onnxpb.Tensor{
			w("pre.w", 6, 4, 5), w("pre.b", 6), w("cond.w", 6, 5, 1), w("cond.b", 6),
			w("up.w", 6, 3, 8), w("up.b", 3), w("grp.w", 3, 1, 3), w("grp.b", 3),
		},
		Nodes: []onnxpb.Node{
			{OpType: "Conv", Name: "/dec/pre", Inputs: []string{"x", "pre.w", "pre.b"}, Outputs: []string{"/dec/pre_out"},
				Attrs: []onnxpb.Attr{ints("dilations", 3), ints("pads", 6, 6), ints("kernel_shape", 5)}},
			{OpType: "Conv", Name: "/dec/cond", Inputs: []string{"g", "cond.w", "cond.b"}, Outputs: []string{"/dec/cond_out"}},
			{OpType: "Add", Name: "/dec/add0", Inputs: []string{"/dec/pre_out", "/dec/cond_out"}, Outputs: []string{"/dec/sum"}},
			{OpType: "LeakyRelu", Name: "/dec/act", Inputs: []string{"/dec/sum"}, Outputs: []string{"/dec/act_out"},
				Attrs: []onnxpb.Attr{{Name: "alpha", Float: &alpha}}},
			{OpType: "ConvTranspose", Name: "/dec/up", Inputs: []string{"/dec/act_out", "up.w", "up.b"}, Outputs: []string{"/dec/up_out"},
				Attrs: []onnxpb.Attr{ints("strides", 4), ints("pads", 2, 2), ints("output_padding", 1)}},
			{OpType: "Conv", Name: "/dec/grp", Inputs: []string{"/dec/up_out", "grp.w", "grp.b"}, Outputs: []string{"/dec/grp_out"},
				Attrs: []onnxpb.Attr{one("group", 3), ints("pads", 1, 1)}},
			{OpType: "Add", Name: "/dec/res", Inputs: []string{"/dec/grp_out", "/dec/up_out"}, Outputs: []string{"/dec/res_out"}},
			{OpType: "Constant", Name: "/dec/two", Outputs: []string{"/dec/two_out"},
				Attrs: []onnxpb.Attr{{Name: "value", Tensor: &onnxpb.Tensor{Type: onnxpb.Float, Floats: []float32{two}}}}},
			{OpType: "Div", Name: "/dec/half", Inputs: []string{"/dec/res_out", "/dec/two_out"}, Outputs: []string{"/dec/half_out"}},
			{OpType: "Tanh", Name: "/dec/tanh", Inputs: []string{"/dec/half_out"}, Outputs: []string{"/dec/out"}},
		},
	}}).Marshal()
}

// runLift runs a model of liftModel's shape on fixed inputs on the CPU.
func runLift(t *testing.T, model []byte, x, g []float32, frames int64) []float32 {
	t.Helper()
	s, err := ort.NewDynamicAdvancedSessionWithONNXData(model, []string{"x", "g"}, []string{"/dec/out"}, nil)
	if err != nil {
		t.Fatalf("open session: %v", err)
	}
	defer s.Destroy()
	xt, err := ort.NewTensor(ort.NewShape(1, 4, frames), x)
	if err != nil {
		t.Fatal(err)
	}
	defer xt.Destroy()
	gt, err := ort.NewTensor(ort.NewShape(1, 5, 1), g)
	if err != nil {
		t.Fatal(err)
	}
	defer gt.Destroy()
	out := []ort.Value{nil}
	if err := s.Run([]ort.Value{xt, gt}, out); err != nil {
		t.Fatalf("run: %v", err)
	}
	defer out[0].Destroy()
	if shape := out[0].GetShape(); len(shape) != 3 {
		t.Fatalf("output shape %v, want rank 3 as exported", shape)
	}
	return append([]float32(nil), out[0].(*ort.Tensor[float32]).GetData()...)
}

// The lifted graph computes what the exported one does, with
// Unsqueeze/Squeeze taking their axes as an input (opset 13 on) or as an
// attribute (before).
func TestLiftedConvolutionsComputeTheSame(t *testing.T) {
	newEngine(t, engine.Options{}) // initialises ONNX Runtime
	const frames = 37
	r := rand.New(rand.NewPCG(3, 4))
	x, g := make([]float32, 4*frames), make([]float32, 5)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	for i := range g {
		g[i] = float32(r.NormFloat64())
	}
	for _, opset := range []int64{11, 15} {
		model := liftModel(opset)
		lifted, n, err := onnxpb.LiftConv1D(model, "/dec/")
		if err != nil || n != 4 {
			t.Fatalf("opset %d: lifted %d convolutions (%v), want 4", opset, n, err)
		}
		want, got := runLift(t, model, x, g, frames), runLift(t, lifted, x, g, frames)
		if len(got) != len(want) || len(want) != 3*(frames*4+1) {
			t.Fatalf("opset %d: %d samples lifted, %d exported", opset, len(got), len(want))
		}
		var worst float64
		for i := range want {
			worst = max(worst, math.Abs(float64(got[i]-want[i])))
		}
		if worst > 1e-5 {
			t.Errorf("opset %d: lifted output differs by up to %g", opset, worst)
		}
	}
}

// Piper's decoder, lifted for one-thread CPU sessions, gives the same audio
// as the exported graph: same durations, 16-bit samples within ±1, for
// one sentence and a run of three, on both benchmark voices.
func TestLiftedDecoderSoundsTheSame(t *testing.T) {
	for _, name := range []string{benchvoice.Medium, benchvoice.Medium4Spk} {
		t.Run(name, func(t *testing.T) {
			v := testenv.BenchVoice(t, name)
			quiet := noiseOff(v)
			cfg := quiet.Config
			var logs bytes.Buffer
			lifted := newEngine(t, engine.Options{IntraOpThreads: 1, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
			exported := newEngine(t, engine.Options{IntraOpThreads: 1, KeepConv1D: true})
			reqs := []engine.Request{
				{Text: "See you soon.", SpeakerID: cfg.NumSpeakers - 1},
				{Text: benchTexts[0], SpeakerID: cfg.NumSpeakers - 1},
				{Text: benchTexts[3], SpeakerID: cfg.NumSpeakers - 1},
			}
			for _, batch := range [][]engine.Request{reqs[:1], reqs} {
				got, err := lifted.Synthesize(context.Background(), quiet, batch)
				if err != nil {
					t.Fatal(err)
				}
				want, err := exported.Synthesize(context.Background(), quiet, batch)
				if err != nil {
					t.Fatal(err)
				}
				for i := range batch {
					a, b := decode(t, got[i]), decode(t, want[i])
					if len(a.Samples) != len(b.Samples) {
						t.Fatalf("request %d of %d: %d samples lifted, %d exported", i, len(batch), len(a.Samples), len(b.Samples))
					}
					for j := range a.Samples {
						if d := int(a.Samples[j]) - int(b.Samples[j]); d > 1 || d < -1 {
							t.Fatalf("request %d of %d: sample %d is %d lifted, %d exported", i, len(batch), j, a.Samples[j], b.Samples[j])
						}
					}
				}
			}
			if !strings.Contains(logs.String(), "graph=lifted") {
				t.Fatalf("the one-thread engine did not open the lifted graph; its log:\n%s", strings.TrimSpace(logs.String()))
			}
			// Sessions of more threads keep the exported decoder, which
			// shares its work between them better.
			logs.Reset()
			two := newEngine(t, engine.Options{IntraOpThreads: 2, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
			if err := two.Preload(context.Background(), quiet); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(logs.String(), "graph=prepared") {
				t.Errorf("a two-thread engine did not open the prepared graph as exported; its log:\n%s", strings.TrimSpace(logs.String()))
			}
		})
	}
}
