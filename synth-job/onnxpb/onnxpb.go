// Package onnxpb reads and writes ONNX models (protobuf) by hand with
// protowire, so that the module needs neither protoc nor the large ONNX
// schema at build time. Field numbers are those of onnx.proto (ONNX 1.12+).
//
// It covers what Chorus does with models and nothing more: build the
// generated demo voices (Model: a graph of nodes with attributes,
// initialisers and typed inputs and outputs); read a model's declared
// ports (Ports, PortsOfFile) and nodes (Nodes) without copying its
// weights; and the rewrites of a voice's prepared graphs
// (synth-job/voiceprep): an intermediate value as a named output
// (AddIdentityOutput), 1-D convolutions lifted to 2-D (LiftConv1D), and
// metadata (AddMetadata).
package onnxpb

import (
	"maps"
	"math"
	"slices"

	"google.golang.org/protobuf/encoding/protowire"
)

// DataType is onnx.TensorProto.DataType.
type DataType int32

// Element types used by the demo voices.
const (
	Float DataType = 1
	Int64 DataType = 7
	Bool  DataType = 9
)

// Dim is one dimension of a value's shape: a fixed size, or a named
// symbolic size when Param is set.
type Dim struct {
	Value int64
	Param string
}

// ValueInfo declares a graph input or output.
type ValueInfo struct {
	Name  string
	Type  DataType
	Shape []Dim
}

// Tensor is a constant (an initialiser or a tensor attribute). Exactly one
// of Floats or Int64s holds the data.
type Tensor struct {
	Name   string
	Dims   []int64
	Type   DataType
	Floats []float32
	Int64s []int64
}

// Attr is a node attribute: set exactly one of the value fields.
type Attr struct {
	Name   string
	Int    *int64
	Float  *float32
	Ints   []int64
	Tensor *Tensor
	String *string
}

// Node is one operator application.
type Node struct {
	OpType  string
	Name    string
	Inputs  []string
	Outputs []string
	Attrs   []Attr
}

// Graph is a model's graph.
type Graph struct {
	Name         string
	Nodes        []Node
	Initializers []Tensor
	Inputs       []ValueInfo
	Outputs      []ValueInfo
}

// Model is an ONNX model with one opset import of the default domain.
type Model struct {
	IRVersion    int64
	Opset        int64
	ProducerName string
	DocString    string
	Graph        Graph
	// Metadata becomes metadata_props (key/value strings).
	Metadata map[string]string
}

// Marshal encodes the model as ONNX protobuf bytes.
func (m *Model) Marshal() []byte {
	var b []byte
	b = appendVarint(b, 1, uint64(m.IRVersion)) // ir_version
	b = appendString(b, 2, m.ProducerName)      // producer_name
	b = appendString(b, 6, m.DocString)         // doc_string
	b = appendMessage(b, 7, m.Graph.marshal())  // graph
	var op []byte
	op = appendVarint(op, 2, uint64(m.Opset)) // OperatorSetIdProto.version (domain "" = ai.onnx)
	b = appendMessage(b, 8, op)               // opset_import
	for _, k := range sortedKeys(m.Metadata) {
		var kv []byte
		kv = appendString(kv, 1, k)
		kv = appendString(kv, 2, m.Metadata[k])
		b = appendMessage(b, 14, kv) // metadata_props
	}
	return b
}

func (g *Graph) marshal() []byte {
	var b []byte
	for i := range g.Nodes {
		b = appendMessage(b, 1, g.Nodes[i].marshal())
	}
	b = appendString(b, 2, g.Name)
	for i := range g.Initializers {
		b = appendMessage(b, 5, g.Initializers[i].marshal())
	}
	for i := range g.Inputs {
		b = appendMessage(b, 11, g.Inputs[i].marshal())
	}
	for i := range g.Outputs {
		b = appendMessage(b, 12, g.Outputs[i].marshal())
	}
	return b
}

func (n *Node) marshal() []byte {
	var b []byte
	for _, in := range n.Inputs {
		b = protowire.AppendTag(b, 1, protowire.BytesType)
		b = protowire.AppendString(b, in)
	}
	for _, out := range n.Outputs {
		b = protowire.AppendTag(b, 2, protowire.BytesType)
		b = protowire.AppendString(b, out)
	}
	b = appendString(b, 3, n.Name)
	b = appendString(b, 4, n.OpType)
	for i := range n.Attrs {
		b = appendMessage(b, 5, n.Attrs[i].marshal())
	}
	return b
}

// AttributeProto.AttributeType values.
const (
	attrFloat  = 1
	attrInt    = 2
	attrString = 3
	attrTensor = 4
	attrInts   = 7
)

func (a *Attr) marshal() []byte {
	var b []byte
	b = appendString(b, 1, a.Name)
	switch {
	case a.Float != nil:
		b = protowire.AppendTag(b, 2, protowire.Fixed32Type)
		b = protowire.AppendFixed32(b, math.Float32bits(*a.Float))
		b = appendVarint(b, 20, attrFloat)
	case a.Int != nil:
		b = protowire.AppendTag(b, 3, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(*a.Int))
		b = appendVarint(b, 20, attrInt)
	case a.String != nil:
		b = protowire.AppendTag(b, 4, protowire.BytesType)
		b = protowire.AppendString(b, *a.String)
		b = appendVarint(b, 20, attrString)
	case a.Tensor != nil:
		b = appendMessage(b, 5, a.Tensor.marshal())
		b = appendVarint(b, 20, attrTensor)
	default:
		var packed []byte
		for _, v := range a.Ints {
			packed = protowire.AppendVarint(packed, uint64(v))
		}
		b = appendMessage(b, 8, packed)
		b = appendVarint(b, 20, attrInts)
	}
	return b
}

func (t *Tensor) marshal() []byte {
	var b []byte
	if len(t.Dims) > 0 {
		var packed []byte
		for _, d := range t.Dims {
			packed = protowire.AppendVarint(packed, uint64(d))
		}
		b = appendMessage(b, 1, packed) // dims
	}
	b = appendVarint(b, 2, uint64(t.Type)) // data_type
	if len(t.Floats) > 0 {
		var packed []byte
		for _, f := range t.Floats {
			packed = protowire.AppendFixed32(packed, math.Float32bits(f))
		}
		b = appendMessage(b, 4, packed) // float_data
	}
	if len(t.Int64s) > 0 {
		var packed []byte
		for _, v := range t.Int64s {
			packed = protowire.AppendVarint(packed, uint64(v))
		}
		b = appendMessage(b, 7, packed) // int64_data
	}
	b = appendString(b, 8, t.Name)
	return b
}

func (v *ValueInfo) marshal() []byte {
	var shape []byte
	for _, d := range v.Shape {
		var dim []byte
		if d.Param != "" {
			dim = appendString(dim, 2, d.Param)
		} else {
			dim = protowire.AppendTag(dim, 1, protowire.VarintType)
			dim = protowire.AppendVarint(dim, uint64(d.Value))
		}
		shape = appendMessage(shape, 1, dim)
	}
	var tensor []byte
	tensor = appendVarint(tensor, 1, uint64(v.Type)) // elem_type
	tensor = protowire.AppendTag(tensor, 2, protowire.BytesType)
	tensor = protowire.AppendBytes(tensor, shape) // shape (present even when scalar)
	var typ []byte
	typ = appendMessage(typ, 1, tensor) // tensor_type
	var b []byte
	b = appendString(b, 1, v.Name)
	b = appendMessage(b, 2, typ)
	return b
}

func appendVarint(b []byte, num protowire.Number, v uint64) []byte {
	if v == 0 {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

func appendString(b []byte, num protowire.Number, s string) []byte {
	if s == "" {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendString(b, s)
}

func appendMessage(b []byte, num protowire.Number, msg []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, msg)
}

func sortedKeys(m map[string]string) []string {
	return slices.Sorted(maps.Keys(m))
}
