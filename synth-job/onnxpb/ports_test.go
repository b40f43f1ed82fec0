package onnxpb

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// Ports reads what the graph declares: names, element types, fixed and
// named axes, an output declared without a type (as Piper's alignment
// patch adds one), and no initialiser listed among the inputs (as models
// of IR version 3 list them); the durations output AddIdentityOutput adds
// and the metadata AddMetadata adds leave the rest as it was.
func TestPortsAndRewrites(t *testing.T) {
	m := (&Model{IRVersion: 3, Opset: 11, Graph: Graph{
		Name:         "g",
		Nodes:        []Node{{OpType: "Ceil", Inputs: []string{"x"}, Outputs: []string{"w"}}, {OpType: "Add", Inputs: []string{"w", "b"}, Outputs: []string{"y"}}},
		Initializers: []Tensor{{Name: "b", Type: Float, Dims: []int64{1}, Floats: []float32{1}}},
		Inputs: []ValueInfo{
			{Name: "x", Type: Float, Shape: []Dim{{Param: "batch"}, {Value: 1}, {Param: "n"}}},
			{Name: "b", Type: Float, Shape: []Dim{{Value: 1}}},
		},
		Outputs: []ValueInfo{{Name: "y", Type: Float, Shape: []Dim{{Param: "batch"}, {Value: 1}, {Param: "n"}}}},
	}}).Marshal()
	m, err := AddIdentityOutput(m, "w", ValueInfo{Name: "durations", Type: Float, Shape: []Dim{{Param: "batch"}, {Value: 1}, {Param: "n"}}})
	if err != nil {
		t.Fatal(err)
	}
	m = AddMetadata(m, map[string]string{"comment": "piper"})
	ins, outs, err := Ports(m)
	if err != nil {
		t.Fatal(err)
	}
	if len(ins) != 1 || ins[0].Name != "x" || !ins[0].Tensor || ins[0].Type != Float ||
		!slices.Equal(ins[0].Shape, []Dim{{Param: "batch"}, {Value: 1}, {Param: "n"}}) {
		t.Errorf("inputs %+v, want x alone (b is an initialiser)", ins)
	}
	if len(outs) != 2 || outs[0].Name != "y" || outs[1].Name != "durations" || outs[1].Type != Float || len(outs[1].Shape) != 3 {
		t.Errorf("outputs %+v", outs)
	}
	nodes, err := Nodes(m)
	if err != nil || len(nodes) != 3 || nodes[2].OpType != "Identity" || nodes[2].Inputs[0] != "w" || nodes[2].Outputs[0] != "durations" {
		t.Errorf("nodes %+v (%v), want the Identity last", nodes, err)
	}
	// An output declared with a name alone is no tensor, as ONNX Runtime
	// reports it; and the file reader agrees with the bytes reader.
	m = (&Model{IRVersion: 8, Opset: 15, Graph: Graph{Name: "g",
		Inputs:  []ValueInfo{{Name: "x", Type: Int64, Shape: []Dim{{Param: "b"}}}},
		Outputs: []ValueInfo{{Name: "x", Type: Int64, Shape: []Dim{{Param: "b"}}}},
	}}).Marshal()
	g, start, end, err := graphBytes(m)
	if err != nil {
		t.Fatal(err)
	}
	g = appendMessage(append([]byte(nil), g...), graphOutput, appendString(nil, valueInfoName, "/Ceil_output_0"))
	m = append(appendMessage(append([]byte(nil), m[:start]...), modelGraph, g), m[end:]...)
	path := filepath.Join(t.TempDir(), "m.onnx")
	if err := os.WriteFile(path, m, 0o644); err != nil {
		t.Fatal(err)
	}
	_, outs, err = PortsOfFile(path)
	if err != nil || len(outs) != 2 || outs[1].Name != "/Ceil_output_0" || outs[1].Tensor || outs[1].Shape != nil {
		t.Errorf("outputs %+v (%v), want the untyped one last, no tensor", outs, err)
	}
	if _, _, err := Ports([]byte{0x3a, 0xff}); err == nil {
		t.Error("a truncated model read")
	}
}
