package engine

import (
	"fmt"
	"os"
	"runtime"

	"github.com/chorus-voice/chorus/synth-job/onnxpb"
	"github.com/chorus-voice/chorus/synth-job/voice"
)

// Exact lengths. In a padded run every item's audio is as long as the
// longest item's, and the decoder's upsampling spills each item's last
// frames into the masked frames after it, so the tail of a short item in a
// batch is not silence and trimming by level cannot find where it ends.
// Piper's VITS graph computes each item's length in frames —
//
//	w_ceil = Ceil(exp(logw) · x_mask · length_scale)
//	y_lengths = Cast(Clip(ReduceSum(w_ceil, [1, 2]), 1))
//
// — but does not output it. The engine finds that ReduceSum (the graph's
// one Ceil feeds it) and adds its value to the graph's outputs when it
// opens the session, so each item is cut at exactly frames × hop samples,
// as long as it comes out alone. A graph without that pattern (the demo
// voices, other exporters) runs unchanged and is trimmed by level.

// frameLengthsValue returns the name of the value holding the per-item
// frame counts, or "" when the graph does not have Piper's pattern.
func frameLengthsValue(nodes []onnxpb.NodeInfo) string {
	var ceil *onnxpb.NodeInfo
	for i := range nodes {
		if nodes[i].OpType == "Ceil" {
			if ceil != nil {
				return "" // more than one: not the pattern
			}
			ceil = &nodes[i]
		}
	}
	if ceil == nil || len(ceil.Outputs) != 1 {
		return ""
	}
	var sum string
	for _, n := range nodes {
		if n.OpType != "ReduceSum" || len(n.Inputs) == 0 || n.Inputs[0] != ceil.Outputs[0] || len(n.Outputs) != 1 {
			continue
		}
		if sum != "" {
			return ""
		}
		sum = n.Outputs[0]
	}
	// The sum is clamped to at least one frame (Clip or Max) before use.
	for _, n := range nodes {
		if (n.OpType == "Clip" || n.OpType == "Max") && len(n.Inputs) > 0 && n.Inputs[0] == sum {
			return sum
		}
	}
	return ""
}

// modelWithFrameLengths reads the model and, when it has Piper's pattern,
// returns it with the frame counts added as an output, and that output's
// name. Otherwise it returns nil and "".
func modelWithFrameLengths(path string) ([]byte, string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, "", fmt.Errorf("read model: %w", err)
	}
	nodes, err := onnxpb.Nodes(data)
	if err != nil {
		return nil, "", fmt.Errorf("%w: read model graph: %v", voice.ErrInvalid, err)
	}
	name := frameLengthsValue(nodes)
	if name == "" {
		return nil, "", nil
	}
	patched, err := onnxpb.AddOutput(data, onnxpb.ValueInfo{Name: name, Type: onnxpb.Float,
		Shape: []onnxpb.Dim{{Param: "batch_size"}}})
	if err != nil {
		return nil, "", err
	}
	return patched, name, nil
}

// itemSamples turns the per-item frame counts of a run into sample counts,
// given the samples per row of the output. It returns nil when the counts
// do not explain the output (then the engine trims by level).
func itemSamples(frames []float32, per int) []int {
	longest := 0
	out := make([]int, len(frames))
	for i, f := range frames {
		if f != f || f < 0 || f > 1e9 { // NaN or absurd
			return nil
		}
		out[i] = max(1, int(f))
		longest = max(longest, out[i])
	}
	if longest == 0 || per%longest != 0 {
		return nil
	}
	hop := per / longest
	for i := range out {
		out[i] *= hop
	}
	return out
}

// CPU decoder. ONNX Runtime's CPU provider runs 1-D convolutions through
// im2col and a matrix product, and 2-D ones with its blocked (NCHWc)
// kernels. Piper's decoder (HiFi-GAN, every node under "/dec/") is a chain
// of 1-D convolutions and elementwise operators; lifted to 2-D over a
// height of one (onnxpb.LiftConv1D) it computes the same samples (within
// float rounding: TestLiftedDecoderSoundsTheSame), and on one thread the
// bench voice runs about 15 % faster (docs/performance.md). The blocked
// kernels share their work between threads by output rows, and a height
// of one is one row: with more threads the lifted decoder is slower than
// the exported one, so only sessions of one intra-op thread lift it. CUDA
// sessions keep the graph as exported (cuDNN's 1-D path is what the GPU
// figures measured).
const decoderPrefix = "/dec/"

// liftsDecoder reports whether CPU sessions lift Piper's decoder: with one
// intra-op thread, unless the options keep the exported graph.
func (e *Engine) liftsDecoder() bool {
	threads := e.opts.IntraOpThreads
	if threads == 0 {
		threads = runtime.NumCPU() // ONNX Runtime's default: one per core
	}
	return threads == 1 && !e.opts.KeepConv1D
}

// modelVariant is one form of a voice's model to open a session with.
type modelVariant struct {
	data     []byte   // nil: the model file as it is
	outputs  []string // outputs besides the audio (the frame lengths)
	lifted   int      // convolutions lifted to 2-D
	fallback string   // when it fails to load, what the next variant gives up; "" for the last
}

// modelVariants lists the forms to try, best first: with the frame-lengths
// output when the graph has it (withFrames, named frames), and on the CPU
// with the decoder lifted; the file as it is comes last.
func (e *Engine) modelVariants(v *voice.Voice, withFrames []byte, frames string, cuda bool) []modelVariant {
	var out []modelVariant
	lift := func(data []byte, outputs []string, fallback string) {
		if cuda || !e.liftsDecoder() {
			return
		}
		if data == nil {
			var err error
			if data, err = os.ReadFile(v.ModelPath); err != nil {
				return // the plain variant reports it
			}
		}
		m, n, err := onnxpb.LiftConv1D(data, decoderPrefix)
		if err != nil || n == 0 {
			return
		}
		out = append(out, modelVariant{data: m, outputs: outputs, lifted: n, fallback: fallback})
	}
	if withFrames != nil {
		lift(withFrames, []string{frames}, "keeping the decoder's 1-D convolutions")
		out = append(out, modelVariant{data: withFrames, outputs: []string{frames}, fallback: "trimming by level"})
	}
	lift(nil, nil, "keeping the decoder's 1-D convolutions")
	return append(out, modelVariant{})
}
