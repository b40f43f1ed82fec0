package onnxpb

import (
	"bytes"
	"slices"
	"testing"
)

// chain is x → Conv (under /dec/) → op → output, with op reading extra
// inputs besides the convolution's output.
func chain(op string, extra ...string) []byte {
	w := Tensor{Name: "w", Dims: []int64{2, 1, 3}, Type: Float, Floats: make([]float32, 6)}
	return (&Model{IRVersion: 8, Opset: 15, Graph: Graph{
		Name: "g",
		Inputs: []ValueInfo{
			{Name: "x", Type: Float, Shape: []Dim{{Value: 1}, {Value: 1}, {Param: "T"}}},
			{Name: "y", Type: Float, Shape: []Dim{{Value: 1}, {Value: 2}, {Param: "T"}}},
		},
		Outputs:      []ValueInfo{{Name: "/dec/out", Type: Float}},
		Initializers: []Tensor{w},
		Nodes: []Node{
			{OpType: "Conv", Name: "/dec/c", Inputs: []string{"x", "w"}, Outputs: []string{"/dec/c_out"},
				Attrs: []Attr{{Name: "pads", Ints: []int64{1, 1}}}},
			{OpType: op, Name: "/dec/op", Inputs: append([]string{"/dec/c_out"}, extra...), Outputs: []string{"/dec/out"}},
		},
	}}).Marshal()
}

func TestLiftConv1DRewritesTheRegion(t *testing.T) {
	lifted, n, err := LiftConv1D(chain("Tanh"), "/dec/")
	if err != nil || n != 1 {
		t.Fatalf("lifted %d (%v), want 1", n, err)
	}
	nodes, err := Nodes(lifted)
	if err != nil {
		t.Fatal(err)
	}
	var ops []string
	for _, nd := range nodes {
		ops = append(ops, nd.OpType)
	}
	if want := []string{"Unsqueeze", "Conv", "Tanh", "Squeeze"}; !slices.Equal(ops, want) {
		t.Fatalf("nodes %v, want %v", ops, want)
	}
	if last := nodes[len(nodes)-1]; last.Outputs[0] != "/dec/out" {
		t.Errorf("the graph output is now made by %v", last)
	}
	gfs, err := fieldsOf(mustGraph(t, lifted))
	if err != nil {
		t.Fatal(err)
	}
	weights := false
	for _, f := range gfs {
		switch f.num {
		case graphInit:
			dims, _ := tensorDimsOf(f.val)
			if name, _ := tensorNameOf(f.val); name == "w" {
				weights = true
				if !slices.Equal(dims, []int64{2, 1, 1, 3}) {
					t.Errorf("weights dims %v, want [2 1 1 3]", dims)
				}
			}
		case graphNode:
			n, err := readLiftNode(f.val)
			if err != nil {
				t.Fatal(err)
			}
			if n.op != "Conv" {
				continue
			}
			for _, a := range n.fields {
				if a.num == nodeAttr && bytes.Contains(a.val, []byte("pads")) {
					afs, _ := fieldsOf(a.val)
					for _, af := range afs {
						if af.num == attrIntsField {
							if v, _ := varints(af); !slices.Equal(v, []int64{0, 1, 0, 1}) {
								t.Errorf("pads %v, want [0 1 0 1]", v)
							}
						}
					}
				}
			}
		}
	}
	if !weights {
		t.Error("the weights initialiser is gone")
	}
}

func mustGraph(t *testing.T, model []byte) []byte {
	t.Helper()
	g, _, _, err := graphBytes(model)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// A region with anything LiftConv1D cannot lift exactly stays as it is.
func TestLiftConv1DLeavesWhatItCannotLift(t *testing.T) {
	for name, model := range map[string][]byte{
		"another operator":                   chain("Reshape", "shape"),
		"an operand from outside the region": chain("Add", "y"),
		"nothing under the prefix":           chain("Tanh"),
		"a graph with a subgraph":            withLoop(chain("Tanh")),
	} {
		prefix := "/dec/"
		if name == "nothing under the prefix" {
			prefix = "/enc/"
		}
		out, n, err := LiftConv1D(model, prefix)
		if err != nil || n != 0 || !bytes.Equal(out, model) {
			t.Errorf("%s: lifted %d (%v), changed %v; want the model unchanged", name, n, err, !bytes.Equal(out, model))
		}
	}
	if _, _, err := LiftConv1D([]byte{0xff, 0xff}, "/dec/"); err == nil {
		t.Error("malformed bytes accepted")
	}
}

// withLoop adds a Loop node outside the region (its body is not needed to
// be seen: LiftConv1D refuses on the operator).
func withLoop(model []byte) []byte {
	graph, start, end, err := graphBytes(model)
	if err != nil {
		panic(err)
	}
	loop := (&Node{OpType: "Loop", Name: "loop", Inputs: []string{"", ""}, Outputs: []string{"l"}}).marshal()
	g := appendMessage(append([]byte(nil), graph...), graphNode, loop)
	out := append([]byte(nil), model[:start]...)
	out = appendMessage(out, modelGraph, g)
	return append(out, model[end:]...)
}
