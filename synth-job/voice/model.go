package voice

import (
	"fmt"
	"strings"

	"github.com/chorus-voice/chorus/synth-job/onnxpb"
)

// The names of the Piper model's inputs.
const (
	InputIDs     = "input"
	InputLengths = "input_lengths"
	InputScales  = "scales"
	InputSID     = "sid"
)

// OutputDurations is the optional output that gives each input id its
// length in output frames: float32 [B, 1, N], exactly Piper's w_ceil,
//
//	w_ceil = Ceil(exp(logw) · x_mask · length_scale)
//
// (after length_scale and the ceiling, zero on padding ids). The audio of
// item b is Σ_n durations[b, 0, n] frames of the voice's hop (256 samples
// for Piper's voices: output samples ÷ frames), at least one frame; the
// frames of one id are the audio that id speaks. Piper's exporter does not
// output it: the prepared graph of a Piper voice adds it (see
// PreparedGraphSuffix), and a generated voice may declare it itself. A
// voice without it still runs; it is then cut by level, and its results
// carry no durations.
const OutputDurations = "durations"

// ElemType is a tensor element type, numbered as ONNX numbers them
// (TensorProto.DataType), which is also how ONNX Runtime numbers them.
type ElemType int

// The element types the Piper contract uses.
const (
	Float ElemType = 1
	Int32 ElemType = 6
	Int64 ElemType = 7
	Int16 ElemType = 5
)

func (t ElemType) String() string {
	switch t {
	case Float:
		return "float32"
	case Int64:
		return "int64"
	case Int32:
		return "int32"
	case Int16:
		return "int16"
	}
	return fmt.Sprintf("type(%d)", int(t))
}

// Port describes one declared input or output of a model, as whoever reads
// the model (ONNX Runtime in the engine and the importer) reports it. Dims
// holds -1 for a dynamic axis.
type Port struct {
	Name string
	// Tensor is false for non-tensor values (sequences, maps).
	Tensor bool
	Type   ElemType
	Dims   []int64
}

func (p Port) String() string {
	if !p.Tensor {
		return "not a tensor"
	}
	return fmt.Sprintf("%s %v", p.Type, p.Dims)
}

// Batching says how a model's runs may mix requests.
type Batching int

const (
	// SingleSpeaker: no sid input; any items share a run.
	SingleSpeaker Batching = iota
	// SpeakerPerRun: sid is declared [1], as Piper's exporter declares it;
	// the one speaker applies to every item of a run, so a run holds items
	// of one speaker.
	SpeakerPerRun
	// SpeakerPerItem: sid is declared [B] (a dynamic axis); speakers mix
	// freely within a run.
	SpeakerPerItem
)

func (b Batching) String() string {
	switch b {
	case SingleSpeaker:
		return "single speaker: any sentences share a run"
	case SpeakerPerRun:
		return "one speaker per run (sid declared [1], as Piper exports it): sentences of different speakers run separately"
	case SpeakerPerItem:
		return "speakers mixed within a run (sid declared [batch])"
	}
	return fmt.Sprintf("batching(%d)", int(b))
}

// CheckModel checks a model's declared inputs and outputs against the Piper
// contract and the voice config, and says how its runs may be batched:
//
//	input         int64   [B, N]
//	input_lengths int64   [B]
//	scales        float32 [3]
//	sid           int64   [1] or [B]   present iff the config has more than one speaker
//	output 0      float32 [B, 1, T] or [B, 1, 1, T]
//	durations     float32 [B, 1, N]    optional (OutputDurations)
//
// Piper's exporter declares sid as [1] (it is not among the dynamic axes),
// so such a model takes one speaker per run; a model that declares it [B]
// takes one per item. ONNX Runtime only notices a wrong or missing input
// when a session runs, so this check is what turns a mismatched voice into
// a clear, permanent error. Further outputs (Piper's alignment-patched
// models add one) are allowed and ignored. Errors wrap ErrInvalid.
func CheckModel(c *Config, inputs, outputs []Port) (Batching, error) {
	var errs []string
	bad := func(format string, a ...any) { errs = append(errs, fmt.Sprintf(format, a...)) }

	type want struct {
		typ  ElemType
		rank int
	}
	wants := map[string]want{
		InputIDs:     {Int64, 2},
		InputLengths: {Int64, 1},
		InputScales:  {Float, 1},
	}
	if c.MultiSpeaker() {
		wants[InputSID] = want{Int64, 1}
	}
	batching := SingleSpeaker
	seen := make(map[string]bool)
	for _, in := range inputs {
		w, ok := wants[in.Name]
		switch {
		case in.Name == InputSID && !c.MultiSpeaker():
			bad("model takes %q but the config has %d speaker", InputSID, c.NumSpeakers)
			continue
		case !ok:
			bad("model has unexpected input %q", in.Name)
			continue
		}
		seen[in.Name] = true
		if !in.Tensor || in.Type != w.typ || len(in.Dims) != w.rank {
			bad("input %q is %s, want a %s tensor of rank %d", in.Name, in, w.typ, w.rank)
			continue
		}
		switch in.Name {
		case InputScales:
			if in.Dims[0] != 3 && in.Dims[0] > 0 {
				bad("input %q has %d elements, want 3", in.Name, in.Dims[0])
			}
		case InputSID:
			switch d := in.Dims[0]; {
			case d == 1:
				batching = SpeakerPerRun
			case d < 0:
				batching = SpeakerPerItem
			default:
				bad("input %q is declared [%d], want [1] (one speaker per run) or a dynamic batch axis", in.Name, d)
			}
		}
	}
	for _, name := range sortedKeys(wants) {
		if !seen[name] {
			if name == InputSID {
				bad("config has %d speakers but the model has no %q input", c.NumSpeakers, InputSID)
			} else {
				bad("model lacks input %q", name)
			}
		}
	}

	if len(outputs) == 0 {
		bad("model has no output")
	} else {
		o := outputs[0]
		if !o.Tensor || o.Type != Float || (len(o.Dims) != 3 && len(o.Dims) != 4) {
			bad("output %q is %s, want a float tensor [B,1,T] or [B,1,1,T]", o.Name, o)
		}
		if o.Name == OutputDurations {
			bad("the first output is the audio, not %q", OutputDurations)
		}
	}
	for _, o := range outputs {
		if o.Name == OutputDurations && (!o.Tensor || o.Type != Float || len(o.Dims) != 3 || (o.Dims[1] != 1 && o.Dims[1] >= 0)) {
			bad("output %q is %s, want a float tensor [B,1,N]", o.Name, o)
		}
	}
	if len(errs) > 0 {
		return 0, fmt.Errorf("%w: model does not match the Piper contract: %s", ErrInvalid, strings.Join(errs, "; "))
	}
	return batching, nil
}

// HasDurations reports whether a model's outputs include OutputDurations.
func HasDurations(outputs []Port) bool {
	for _, o := range outputs {
		if o.Name == OutputDurations {
			return true
		}
	}
	return false
}

// ModelPorts reads the declared inputs and outputs of the model file at
// path from the file itself (onnxpb.PortsOfFile: the graph's framing only,
// no ONNX Runtime session). Errors wrap ErrInvalid: a file that is not an
// ONNX model is a broken voice.
func ModelPorts(path string) (inputs, outputs []Port, err error) {
	ins, outs, err := onnxpb.PortsOfFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: read model %s: %v", ErrInvalid, path, err)
	}
	return portsOf(ins), portsOf(outs), nil
}

// ModelPortsFromBytes is ModelPorts for a model held in memory.
func ModelPortsFromBytes(model []byte) (inputs, outputs []Port, err error) {
	ins, outs, err := onnxpb.Ports(model)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: model is not a readable ONNX file: %v", ErrInvalid, err)
	}
	return portsOf(ins), portsOf(outs), nil
}

// portsOf converts declared ports as ONNX Runtime reports them: -1 for an
// axis of no fixed size (named or unknown).
func portsOf(ps []onnxpb.Port) []Port {
	out := make([]Port, len(ps))
	for i, p := range ps {
		dims := make([]int64, len(p.Shape))
		for j, d := range p.Shape {
			dims[j] = d.Value
			if d.Param != "" || d.Value <= 0 {
				dims[j] = -1
			}
		}
		out[i] = Port{Name: p.Name, Tensor: p.Tensor, Type: ElemType(p.Type), Dims: dims}
	}
	return out
}
