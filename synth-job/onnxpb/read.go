package onnxpb

import (
	"errors"
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
)

// Field numbers of onnx.proto read or rewritten here.
const (
	modelGraph    = 7  // ModelProto.graph
	graphNode     = 1  // GraphProto.node
	graphOutput   = 12 // GraphProto.output
	nodeInput     = 1  // NodeProto.input
	nodeOutput    = 2  // NodeProto.output
	nodeOpType    = 4  // NodeProto.op_type
	modelMetadata = 14 // ModelProto.metadata_props
)

// NodeInfo is what Nodes reads of a node: its operator and the names of
// the values it consumes and produces.
type NodeInfo struct {
	OpType  string
	Inputs  []string
	Outputs []string
}

var errMalformed = errors.New("onnxpb: malformed model")

// graphBytes finds the graph field of a serialised ModelProto and returns
// its content and where its tag starts and its content ends.
func graphBytes(model []byte) (graph []byte, start, end int, err error) {
	for off := 0; off < len(model); {
		num, typ, n := protowire.ConsumeTag(model[off:])
		if n < 0 {
			return nil, 0, 0, errMalformed
		}
		if num == modelGraph && typ == protowire.BytesType {
			v, m := protowire.ConsumeBytes(model[off+n:])
			if m < 0 {
				return nil, 0, 0, errMalformed
			}
			return v, off, off + n + m, nil
		}
		m := protowire.ConsumeFieldValue(num, typ, model[off+n:])
		if m < 0 {
			return nil, 0, 0, errMalformed
		}
		off += n + m
	}
	return nil, 0, 0, fmt.Errorf("%w: no graph", errMalformed)
}

// Nodes lists the nodes of a serialised model's main graph, in order. It
// skips the initialisers (the weights) without copying them.
func Nodes(model []byte) ([]NodeInfo, error) {
	graph, _, _, err := graphBytes(model)
	if err != nil {
		return nil, err
	}
	var nodes []NodeInfo
	err = eachField(graph, func(num protowire.Number, typ protowire.Type, v []byte) error {
		if num != graphNode || typ != protowire.BytesType {
			return nil
		}
		var nd NodeInfo
		err := eachField(v, func(num protowire.Number, typ protowire.Type, v []byte) error {
			if typ != protowire.BytesType {
				return nil
			}
			switch num {
			case nodeInput:
				nd.Inputs = append(nd.Inputs, string(v))
			case nodeOutput:
				nd.Outputs = append(nd.Outputs, string(v))
			case nodeOpType:
				nd.OpType = string(v)
			}
			return nil
		})
		nodes = append(nodes, nd)
		return err
	})
	return nodes, err
}

// eachField calls f with every field of a message; v is the content of
// length-delimited fields (nil for others). varint, when given, is also
// called with the value of every varint field.
func eachField(msg []byte, f func(protowire.Number, protowire.Type, []byte) error, varint ...func(protowire.Number, uint64)) error {
	for off := 0; off < len(msg); {
		num, typ, n := protowire.ConsumeTag(msg[off:])
		if n < 0 {
			return errMalformed
		}
		off += n
		var v []byte
		var m int
		switch typ {
		case protowire.BytesType:
			v, m = protowire.ConsumeBytes(msg[off:])
		case protowire.VarintType:
			var x uint64
			x, m = protowire.ConsumeVarint(msg[off:])
			if m >= 0 {
				for _, fv := range varint {
					fv(num, x)
				}
			}
		default:
			m = protowire.ConsumeFieldValue(num, typ, msg[off:])
		}
		if m < 0 {
			return errMalformed
		}
		off += m
		if err := f(num, typ, v); err != nil {
			return err
		}
	}
	return nil
}

// AddOutput returns a copy of a serialised model whose main graph also
// outputs the value out (an intermediate value of the graph).
func AddOutput(model []byte, out ValueInfo) ([]byte, error) {
	graph, start, end, err := graphBytes(model)
	if err != nil {
		return nil, err
	}
	g := make([]byte, 0, len(graph)+64)
	g = append(g, graph...)
	g = appendMessage(g, graphOutput, out.marshal())
	b := make([]byte, 0, len(model)+64)
	b = append(b, model[:start]...)
	b = appendMessage(b, modelGraph, g)
	b = append(b, model[end:]...)
	return b, nil
}

// AddIdentityOutput returns a copy of a serialised model whose main graph
// also outputs the intermediate value `value` under the name out.Name,
// through an Identity node appended after the graph's nodes (so the node
// order stays topological).
func AddIdentityOutput(model []byte, value string, out ValueInfo) ([]byte, error) {
	graph, start, end, err := graphBytes(model)
	if err != nil {
		return nil, err
	}
	node := Node{OpType: "Identity", Name: "chorus_" + out.Name, Inputs: []string{value}, Outputs: []string{out.Name}}
	g := make([]byte, 0, len(graph)+256)
	g = append(g, graph...)
	g = appendMessage(g, graphNode, node.marshal())
	g = appendMessage(g, graphOutput, out.marshal())
	b := make([]byte, 0, len(model)+256)
	b = append(b, model[:start]...)
	b = appendMessage(b, modelGraph, g)
	b = append(b, model[end:]...)
	return b, nil
}

// AddMetadata returns a copy of a serialised model with the key/value
// pairs appended to its metadata_props (in key order).
func AddMetadata(model []byte, kv map[string]string) []byte {
	b := make([]byte, 0, len(model)+256)
	b = append(b, model...)
	for _, k := range sortedKeys(kv) {
		var p []byte
		p = appendString(p, 1, k)
		p = appendString(p, 2, kv[k])
		b = appendMessage(b, modelMetadata, p)
	}
	return b
}
