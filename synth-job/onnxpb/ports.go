package onnxpb

import (
	"fmt"
	"os"

	"google.golang.org/protobuf/encoding/protowire"
)

// Field numbers Ports reads, besides those in read.go and lift.go.
const (
	graphInput      = 11 // GraphProto.input
	valueInfoType   = 2  // ValueInfoProto.type
	typeTensor      = 1  // TypeProto.tensor_type
	typeTensorElem  = 1  // TypeProto.Tensor.elem_type
	typeTensorShape = 2  // TypeProto.Tensor.shape
	shapeDim        = 1  // TensorShapeProto.dim
	dimValue        = 1  // TensorShapeProto.Dimension.dim_value
	dimParam        = 2  // TensorShapeProto.Dimension.dim_param
)

// Port is a graph input or output as the model declares it.
type Port struct {
	Name string
	// Tensor is false for values of another kind (sequences, maps).
	Tensor bool
	Type   DataType
	// Shape is nil when the model declares no shape; a Dim with neither
	// Value nor Param is an axis of unknown size.
	Shape []Dim
}

// Ports reads the declared inputs and outputs of a serialised model's main
// graph, in order, as ONNX Runtime reports them: initialisers listed among
// the inputs (models of IR version 3 and older list them there) are not
// inputs. It reads the graph's framing and the small messages only, never
// the weights.
func Ports(model []byte) (inputs, outputs []Port, err error) {
	graph, _, _, err := graphBytes(model)
	if err != nil {
		return nil, nil, err
	}
	inits := map[string]bool{}
	err = eachField(graph, func(num protowire.Number, typ protowire.Type, v []byte) error {
		if typ != protowire.BytesType {
			return nil
		}
		switch num {
		case graphInput, graphOutput:
			p, err := readPort(v)
			if err != nil {
				return err
			}
			if num == graphInput {
				inputs = append(inputs, p)
			} else {
				outputs = append(outputs, p)
			}
		case graphInit:
			name, err := tensorNameOf(v)
			if err != nil {
				return err
			}
			inits[name] = true
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	kept := inputs[:0]
	for _, p := range inputs {
		if !inits[p.Name] {
			kept = append(kept, p)
		}
	}
	return kept, outputs, nil
}

// PortsOfFile is Ports for the model file at path. The file is mapped, not
// read: only the pages holding the graph's framing are touched, so a model
// of any size costs no heap.
func PortsOfFile(path string) (inputs, outputs []Port, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	data, unmap, err := mapFile(f)
	if err != nil {
		return nil, nil, fmt.Errorf("onnxpb: map %s: %w", path, err)
	}
	defer unmap()
	inputs, outputs, err = Ports(data)
	if err != nil {
		return nil, nil, fmt.Errorf("%w (%s)", err, path)
	}
	return inputs, outputs, nil
}

func readPort(vi []byte) (Port, error) {
	var p Port
	err := eachField(vi, func(num protowire.Number, typ protowire.Type, v []byte) error {
		switch {
		case num == valueInfoName && typ == protowire.BytesType:
			p.Name = string(v)
		case num == valueInfoType && typ == protowire.BytesType:
			return eachField(v, func(num protowire.Number, typ protowire.Type, v []byte) error {
				if num != typeTensor || typ != protowire.BytesType {
					return nil
				}
				p.Tensor = true
				return readTensorType(v, &p)
			})
		}
		return nil
	})
	return p, err
}

func readTensorType(tt []byte, p *Port) error {
	return eachField(tt, func(num protowire.Number, typ protowire.Type, v []byte) error {
		switch {
		case num == typeTensorElem && typ == protowire.VarintType:
			// eachField gives no value for varints: read the type again below.
		case num == typeTensorShape && typ == protowire.BytesType:
			p.Shape = []Dim{}
			return eachField(v, func(num protowire.Number, typ protowire.Type, v []byte) error {
				if num != shapeDim || typ != protowire.BytesType {
					return nil
				}
				d, err := readDim(v)
				p.Shape = append(p.Shape, d)
				return err
			})
		}
		return nil
	}, func(num protowire.Number, v uint64) {
		if num == typeTensorElem {
			p.Type = DataType(v)
		}
	})
}

func readDim(dim []byte) (Dim, error) {
	var d Dim
	err := eachField(dim, func(num protowire.Number, typ protowire.Type, v []byte) error {
		if num == dimParam && typ == protowire.BytesType {
			d.Param = string(v)
		}
		return nil
	}, func(num protowire.Number, v uint64) {
		if num == dimValue {
			d.Value = int64(v)
		}
	})
	return d, err
}
