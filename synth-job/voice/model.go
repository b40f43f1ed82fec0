package voice

import (
	"fmt"
	"strings"

	ort "github.com/yalue/onnxruntime_go"
)

// The names of the Piper model's inputs.
const (
	InputIDs     = "input"
	InputLengths = "input_lengths"
	InputScales  = "scales"
	InputSID     = "sid"
)

// CheckModel checks a model's declared inputs and outputs (from
// ort.GetInputOutputInfo) against the Piper contract and the voice config:
//
//	input         int64   [B, N]
//	input_lengths int64   [B]
//	scales        float32 [3]
//	sid           int64   [B]   present iff the config has more than one speaker
//	output 0      float32 [B, 1, T] or [B, 1, 1, T]
//
// ONNX Runtime only notices a wrong or missing input when a session runs, so
// this check is what turns a mismatched voice into a clear, permanent error.
// Further outputs (Piper's alignment-patched models add one) are allowed and
// ignored. Errors wrap ErrInvalid.
func CheckModel(c *Config, inputs, outputs []ort.InputOutputInfo) error {
	var errs []string
	bad := func(format string, a ...any) { errs = append(errs, fmt.Sprintf(format, a...)) }

	want := map[string]struct {
		typ  ort.TensorElementDataType
		rank int
	}{
		InputIDs:     {ort.TensorElementDataTypeInt64, 2},
		InputLengths: {ort.TensorElementDataTypeInt64, 1},
		InputScales:  {ort.TensorElementDataTypeFloat, 1},
	}
	if c.MultiSpeaker() {
		want[InputSID] = struct {
			typ  ort.TensorElementDataType
			rank int
		}{ort.TensorElementDataTypeInt64, 1}
	}
	seen := make(map[string]bool)
	for _, in := range inputs {
		w, ok := want[in.Name]
		switch {
		case in.Name == InputSID && !c.MultiSpeaker():
			bad("model takes %q but the config has %d speaker", InputSID, c.NumSpeakers)
			continue
		case !ok:
			bad("model has unexpected input %q", in.Name)
			continue
		}
		seen[in.Name] = true
		if in.OrtValueType != ort.ONNXTypeTensor || in.DataType != w.typ || len(in.Dimensions) != w.rank {
			bad("input %q is %s, want a %s tensor of rank %d", in.Name, describe(in), w.typ, w.rank)
			continue
		}
		if in.Name == InputScales && in.Dimensions[0] != 3 && in.Dimensions[0] > 0 {
			bad("input %q has %d elements, want 3", in.Name, in.Dimensions[0])
		}
	}
	for _, name := range sortedKeys(want) {
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
		if o.OrtValueType != ort.ONNXTypeTensor || o.DataType != ort.TensorElementDataTypeFloat ||
			(len(o.Dimensions) != 3 && len(o.Dimensions) != 4) {
			bad("output %q is %s, want a float tensor [B,1,T] or [B,1,1,T]", o.Name, describe(o))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: model does not match the Piper contract: %s", ErrInvalid, strings.Join(errs, "; "))
	}
	return nil
}

func describe(i ort.InputOutputInfo) string {
	if i.OrtValueType != ort.ONNXTypeTensor {
		return i.OrtValueType.String()
	}
	return fmt.Sprintf("%s %v", i.DataType, i.Dimensions)
}
