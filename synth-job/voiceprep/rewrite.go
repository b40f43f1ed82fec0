package voiceprep

import (
	"fmt"

	"github.com/chorus-voice/chorus/synth-job/onnxpb"
	"github.com/chorus-voice/chorus/synth-job/voice"
)

// DecoderPrefix names the nodes of Piper's decoder (HiFi-GAN): every node
// whose outputs start with it is lifted.
const DecoderPrefix = "/dec/"

// Graphs are the rewritten forms of one model.
type Graphs struct {
	// Graph is the model with the durations output added; nil when the
	// model declares it already or lacks Piper's pattern (the model as
	// exported serves).
	Graph []byte
	// Lifted is Graph (or the model) with the decoder lifted to 2-D
	// convolutions; nil when nothing lifts. LiftedConvs counts them.
	Lifted      []byte
	LiftedConvs int
	// Durations says whether the graphs that serve declare the durations
	// output (added, or declared by the model itself).
	Durations bool
}

// Rewrite makes the prepared graphs of a serialised model. It changes no
// computation: it names an intermediate value as an output and changes
// how convolutions are laid out. Check runs them against the model.
func Rewrite(model []byte) (*Graphs, error) {
	_, outs, err := voice.ModelPortsFromBytes(model)
	if err != nil {
		return nil, err
	}
	g := &Graphs{Durations: voice.HasDurations(outs)}
	if !g.Durations {
		nodes, err := onnxpb.Nodes(model)
		if err != nil {
			return nil, fmt.Errorf("%w: read model graph: %v", voice.ErrInvalid, err)
		}
		if w := durationsValue(nodes); w != "" {
			g.Graph, err = onnxpb.AddIdentityOutput(model, w, onnxpb.ValueInfo{
				Name: voice.OutputDurations, Type: onnxpb.Float,
				Shape: []onnxpb.Dim{{Param: "batch_size"}, {Value: 1}, {Param: "phonemes"}},
			})
			if err != nil {
				return nil, fmt.Errorf("add the durations output: %w", err)
			}
			g.Durations = true
		}
	}
	base := model
	if g.Graph != nil {
		base = g.Graph
	}
	lifted, n, err := onnxpb.LiftConv1D(base, DecoderPrefix)
	if err != nil {
		return nil, fmt.Errorf("lift the decoder: %w", err)
	}
	if n > 0 {
		g.Lifted, g.LiftedConvs = lifted, n
	}
	return g, nil
}

// durationsValue returns the name of Piper's w_ceil value, or "" when the
// graph does not have Piper's pattern. Piper's VITS graph computes each
// id's length in frames and each item's length from it —
//
//	w_ceil    = Ceil(exp(logw) · x_mask · length_scale)      [B, 1, N]
//	y_lengths = Cast(Clip(ReduceSum(w_ceil, [1, 2]), 1))
//
// — and outputs neither. The graph's one Ceil, summed by one ReduceSum
// that is clamped (Clip or Max) to at least one frame, is w_ceil.
func durationsValue(nodes []onnxpb.NodeInfo) string {
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
	w := ceil.Outputs[0]
	var sum string
	for _, n := range nodes {
		if n.OpType != "ReduceSum" || len(n.Inputs) == 0 || n.Inputs[0] != w || len(n.Outputs) != 1 {
			continue
		}
		if sum != "" {
			return ""
		}
		sum = n.Outputs[0]
	}
	if sum == "" {
		return ""
	}
	for _, n := range nodes {
		if (n.OpType == "Clip" || n.OpType == "Max") && len(n.Inputs) > 0 && n.Inputs[0] == sum {
			return w
		}
	}
	return ""
}
