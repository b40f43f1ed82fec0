package onnxpb

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strings"

	"google.golang.org/protobuf/encoding/protowire"
)

// Field numbers LiftConv1D reads or writes, besides those in read.go.
const (
	modelOpset      = 8  // ModelProto.opset_import
	opsetDomain     = 1  // OperatorSetIdProto.domain
	opsetVersion    = 2  // OperatorSetIdProto.version
	graphInit       = 5  // GraphProto.initializer
	graphValueInfo  = 13 // GraphProto.value_info
	nodeName        = 3  // NodeProto.name
	nodeAttr        = 5  // NodeProto.attribute
	attrName        = 1  // AttributeProto.name
	attrTField      = 5  // AttributeProto.t
	attrIntsField   = 8  // AttributeProto.ints
	attrType        = 20 // AttributeProto.type
	tensorDims      = 1  // TensorProto.dims
	tensorDataType  = 2  // TensorProto.data_type
	tensorName      = 8  // TensorProto.name
	tensorRawData   = 9  // TensorProto.raw_data
	valueInfoName   = 1  // ValueInfoProto.name
	liftAxesName    = "chorus_lift_axes_2"
	liftedSuffix    = "__chorus_2d"
	unsqueezedInfix = "__chorus_4d_in"
)

// liftable are the operators a lifted region may hold: convolutions, and
// operators that work the same on any rank (elementwise, with operands of
// the region or scalars).
var liftable = map[string]bool{
	"Conv": true, "ConvTranspose": true, "LeakyRelu": true, "Relu": true, "Tanh": true,
	"Add": true, "Sub": true, "Mul": true, "Div": true, "Constant": true,
}

// rawField is one field of a message as it was read.
type rawField struct {
	num protowire.Number
	typ protowire.Type
	raw []byte // the whole field, tag included
	val []byte // the content of a length-delimited field
	v   uint64 // the value of a varint field
}

func fieldsOf(msg []byte) ([]rawField, error) {
	var out []rawField
	for off := 0; off < len(msg); {
		num, typ, n := protowire.ConsumeTag(msg[off:])
		if n < 0 {
			return nil, errMalformed
		}
		m := protowire.ConsumeFieldValue(num, typ, msg[off+n:])
		if m < 0 {
			return nil, errMalformed
		}
		f := rawField{num: num, typ: typ, raw: msg[off : off+n+m]}
		switch typ {
		case protowire.BytesType:
			f.val, _ = protowire.ConsumeBytes(msg[off+n:])
		case protowire.VarintType:
			f.v, _ = protowire.ConsumeVarint(msg[off+n:])
		}
		out = append(out, f)
		off += n + m
	}
	return out, nil
}

// varints reads a repeated int64 field, packed or not.
func varints(f rawField) ([]int64, error) {
	if f.typ == protowire.VarintType {
		return []int64{int64(f.v)}, nil
	}
	var out []int64
	for b := f.val; len(b) > 0; {
		v, n := protowire.ConsumeVarint(b)
		if n < 0 {
			return nil, errMalformed
		}
		out = append(out, int64(v))
		b = b[n:]
	}
	return out, nil
}

// liftNode is a node of the graph as LiftConv1D sees it.
type liftNode struct {
	raw          []byte
	fields       []rawField
	name, op     string
	inputs, outs []string
	inRegion     bool
	scalarConst  bool // a Constant node whose tensor has no dims
}

func readLiftNode(raw []byte) (*liftNode, error) {
	fs, err := fieldsOf(raw)
	if err != nil {
		return nil, err
	}
	n := &liftNode{raw: raw, fields: fs}
	for _, f := range fs {
		switch f.num {
		case nodeInput:
			n.inputs = append(n.inputs, string(f.val))
		case nodeOutput:
			n.outs = append(n.outs, string(f.val))
		case nodeName:
			n.name = string(f.val)
		case nodeOpType:
			n.op = string(f.val)
		case nodeAttr:
			afs, err := fieldsOf(f.val)
			if err != nil {
				return nil, err
			}
			var name string
			var tensor []byte
			for _, af := range afs {
				switch af.num {
				case attrName:
					name = string(af.val)
				case attrTField:
					tensor = af.val
				}
			}
			if n.op == "Constant" && name == "value" && tensor != nil {
				dims, err := tensorDimsOf(tensor)
				if err != nil {
					return nil, err
				}
				n.scalarConst = len(dims) == 0
			}
		}
	}
	return n, nil
}

func tensorNameOf(tensor []byte) (string, error) {
	fs, err := fieldsOf(tensor)
	if err != nil {
		return "", err
	}
	for _, f := range fs {
		if f.num == tensorName {
			return string(f.val), nil
		}
	}
	return "", nil
}

func tensorDimsOf(tensor []byte) ([]int64, error) {
	fs, err := fieldsOf(tensor)
	if err != nil {
		return nil, err
	}
	var dims []int64
	for _, f := range fs {
		if f.num == tensorDims {
			v, err := varints(f)
			if err != nil {
				return nil, err
			}
			dims = append(dims, v...)
		}
	}
	return dims, nil
}

// LiftConv1D rewrites the region of a model's main graph whose nodes'
// outputs all start with prefix — a chain of 1-D convolutions such as a
// HiFi-GAN decoder — into 2-D convolutions over a height of one: each
// convolution's weights gain a unit height, its attributes a leading 1 (or
// 0 for pads and output padding), values entering the region gain that
// axis (Unsqueeze) and values leaving it lose it again (Squeeze). The
// computation is the same; ONNX Runtime's CPU provider then runs the
// convolutions with its blocked (NCHWc) 2-D kernels, which are faster than
// its 1-D path. It returns the model unchanged and 0 when the region is
// empty or holds anything it cannot lift exactly (another operator, an
// operand of unknown rank, weights shared with other nodes), and otherwise
// the new model and how many convolutions it lifted.
func LiftConv1D(model []byte, prefix string) ([]byte, int, error) {
	mfs, err := fieldsOf(model)
	if err != nil {
		return nil, 0, err
	}
	opset := int64(0)
	var graph []byte
	for _, f := range mfs {
		switch {
		case f.num == modelGraph && f.typ == protowire.BytesType:
			graph = f.val
		case f.num == modelOpset && f.typ == protowire.BytesType:
			ofs, err := fieldsOf(f.val)
			if err != nil {
				return nil, 0, err
			}
			domain, version := "", int64(0)
			for _, of := range ofs {
				switch of.num {
				case opsetDomain:
					domain = string(of.val)
				case opsetVersion:
					version = int64(of.v)
				}
			}
			if domain == "" || domain == "ai.onnx" {
				opset = version
			}
		}
	}
	if graph == nil {
		return nil, 0, fmt.Errorf("%w: no graph", errMalformed)
	}
	gfs, err := fieldsOf(graph)
	if err != nil {
		return nil, 0, err
	}
	var nodes []*liftNode
	initDims := map[string][]int64{}
	for _, f := range gfs {
		switch f.num {
		case graphNode:
			n, err := readLiftNode(f.val)
			if err != nil {
				return nil, 0, err
			}
			nodes = append(nodes, n)
		case graphInit:
			name, err := tensorNameOf(f.val)
			if err != nil {
				return nil, 0, err
			}
			if initDims[name], err = tensorDimsOf(f.val); err != nil {
				return nil, 0, err
			}
		}
	}
	unchanged := func() ([]byte, int, error) { return model, 0, nil }

	// The region, and who produces and consumes what.
	produced := map[string]*liftNode{}
	uses := map[string]int{} // node inputs outside the region, graph outputs
	for _, n := range nodes {
		n.inRegion = len(n.outs) > 0 && !slices.ContainsFunc(n.outs, func(o string) bool { return !strings.HasPrefix(o, prefix) })
		for _, o := range n.outs {
			produced[o] = n
		}
	}
	weightUsers := map[string]int{}
	for _, n := range nodes {
		for _, in := range n.inputs {
			weightUsers[in]++
			if !n.inRegion {
				uses[in]++
			}
		}
	}
	for _, f := range gfs {
		if f.num == graphOutput {
			vfs, err := fieldsOf(f.val)
			if err != nil {
				return nil, 0, err
			}
			for _, vf := range vfs {
				if vf.num == valueInfoName {
					uses[string(vf.val)]++
				}
			}
		}
	}
	for _, n := range nodes {
		// A subgraph reads outer values by name, unseen by the counts
		// above: leave such graphs alone.
		if n.op == "If" || n.op == "Loop" || n.op == "Scan" {
			return unchanged()
		}
	}
	inRegion := func(value string) bool { p := produced[value]; return p != nil && p.inRegion }
	convs := 0
	entering := map[string]bool{} // values from outside that region convolutions read
	for _, n := range nodes {
		if !n.inRegion {
			continue
		}
		if !liftable[n.op] {
			return unchanged()
		}
		switch n.op {
		case "Conv", "ConvTranspose":
			if len(n.inputs) < 2 || len(initDims[n.inputs[1]]) != 3 || weightUsers[n.inputs[1]] != 1 {
				return unchanged()
			}
			if len(n.inputs) > 2 && n.inputs[2] != "" && inRegion(n.inputs[2]) {
				return unchanged()
			}
			if !inRegion(n.inputs[0]) {
				entering[n.inputs[0]] = true
			}
			convs++
		case "Constant":
			if !n.scalarConst {
				return unchanged()
			}
		default:
			// Elementwise: every operand is of the region (lifted with it)
			// or a scalar constant of the region.
			for _, in := range n.inputs {
				p := produced[in]
				if p == nil || !p.inRegion {
					return unchanged()
				}
			}
		}
	}
	if convs == 0 {
		return unchanged()
	}
	if _, taken := initDims[liftAxesName]; taken {
		return unchanged()
	}
	for _, n := range nodes {
		for _, o := range n.outs {
			if strings.HasSuffix(o, liftedSuffix) || strings.Contains(o, unsqueezedInfix) {
				return unchanged()
			}
		}
	}

	// Values of the region that are also read outside it (or are graph
	// outputs) keep their name and rank through a Squeeze; the region reads
	// the lifted value.
	leaving := map[string]bool{}
	for _, n := range nodes {
		if n.inRegion {
			for _, o := range n.outs {
				if uses[o] > 0 {
					leaving[o] = true
				}
			}
		}
	}
	rename := func(v string) string {
		if leaving[v] {
			return v + liftedSuffix
		}
		return v
	}
	axesNode := func(op, in, out, name string) []byte {
		var b []byte
		b = appendString(b, nodeInput, in)
		if opset >= 13 {
			b = appendString(b, nodeInput, liftAxesName)
		}
		b = appendString(b, nodeOutput, out)
		b = appendString(b, nodeName, name)
		b = appendString(b, nodeOpType, op)
		if opset < 13 {
			b = appendMessage(b, nodeAttr, intsAttr("axes", []int64{2}))
		}
		return appendMessage(nil, graphNode, b)
	}

	var g []byte
	wroteNodes := false
	writeNodes := func() error {
		for i, n := range nodes {
			if !n.inRegion {
				g = append(g, appendMessage(nil, graphNode, n.raw)...)
				continue
			}
			var b []byte
			for _, f := range n.fields {
				switch f.num {
				case nodeInput:
					in := string(f.val)
					switch {
					case in == "":
					case inRegion(in):
						in = rename(in)
					case entering[in] && (n.op == "Conv" || n.op == "ConvTranspose") && in == n.inputs[0]:
						lifted := fmt.Sprintf("%s%s%d", in, unsqueezedInfix, i)
						g = append(g, axesNode("Unsqueeze", in, lifted, lifted)...)
						in = lifted
					}
					// Empty names hold optional inputs' places: keep them.
					b = protowire.AppendTag(b, nodeInput, protowire.BytesType)
					b = protowire.AppendString(b, in)
				case nodeOutput:
					b = appendString(b, nodeOutput, rename(string(f.val)))
				case nodeAttr:
					a, err := liftAttr(n.op, f)
					if err != nil {
						return err
					}
					b = append(b, a...)
				default:
					b = append(b, f.raw...)
				}
			}
			g = append(g, appendMessage(nil, graphNode, b)...)
			for _, o := range n.outs {
				if leaving[o] {
					g = append(g, axesNode("Squeeze", rename(o), o, o+"__chorus_squeeze")...)
				}
			}
		}
		wroteNodes = true
		return nil
	}
	liftedWeights := map[string]bool{}
	for _, n := range nodes {
		if n.inRegion && (n.op == "Conv" || n.op == "ConvTranspose") {
			liftedWeights[n.inputs[1]] = true
		}
	}
	for _, f := range gfs {
		switch f.num {
		case graphNode:
			if !wroteNodes {
				if err := writeNodes(); err != nil {
					return nil, 0, err
				}
			}
		case graphInit:
			t, err := liftWeight(f.val, liftedWeights)
			if err != nil {
				return nil, 0, err
			}
			g = appendMessage(g, graphInit, t)
		case graphValueInfo:
			// Shapes recorded for values of the region no longer hold.
			vfs, err := fieldsOf(f.val)
			if err != nil {
				return nil, 0, err
			}
			drop := false
			for _, vf := range vfs {
				if vf.num == valueInfoName && inRegion(string(vf.val)) && !leaving[string(vf.val)] {
					drop = true
				}
			}
			if !drop {
				g = append(g, f.raw...)
			}
		default:
			g = append(g, f.raw...)
		}
	}
	if opset >= 13 {
		var t []byte
		t = appendVarint(t, tensorDims, 1)
		t = appendVarint(t, tensorDataType, uint64(Int64))
		t = appendString(t, tensorName, liftAxesName)
		t = appendMessage(t, tensorRawData, binary.LittleEndian.AppendUint64(nil, 2))
		g = appendMessage(g, graphInit, t)
	}

	var out []byte
	for _, f := range mfs {
		if f.num == modelGraph && f.typ == protowire.BytesType {
			out = appendMessage(out, modelGraph, g)
			continue
		}
		out = append(out, f.raw...)
	}
	return out, convs, nil
}

func intsAttr(name string, v []int64) []byte {
	var a []byte
	a = appendString(a, attrName, name)
	a = appendVarint(a, attrType, attrInts)
	var packed []byte // zeros included: appendVarint would drop them
	for _, x := range v {
		packed = protowire.AppendVarint(packed, uint64(x))
	}
	return appendMessage(a, attrIntsField, packed)
}

// liftAttr returns a convolution's attribute field for the 2-D form.
func liftAttr(op string, f rawField) ([]byte, error) {
	if op != "Conv" && op != "ConvTranspose" {
		return f.raw, nil
	}
	afs, err := fieldsOf(f.val)
	if err != nil {
		return nil, err
	}
	var name string
	var v []int64
	for _, af := range afs {
		switch af.num {
		case attrName:
			name = string(af.val)
		case attrIntsField:
			x, err := varints(af)
			if err != nil {
				return nil, err
			}
			v = append(v, x...)
		}
	}
	switch name {
	case "kernel_shape", "strides", "dilations", "output_shape":
		v = append([]int64{1}, v...)
	case "output_padding":
		v = append([]int64{0}, v...)
	case "pads": // [begin, end] → [top, begin, bottom, end]
		if len(v) != 2 {
			return nil, fmt.Errorf("%w: %s pads %v", errMalformed, op, v)
		}
		v = []int64{0, v[0], 0, v[1]}
	default:
		return f.raw, nil
	}
	return appendMessage(nil, nodeAttr, intsAttr(name, v)), nil
}

// liftWeight gives a lifted convolution's weights [out, in, k] a unit
// height: [out, in, 1, k]. Other initialisers are returned as they are.
func liftWeight(tensor []byte, lifted map[string]bool) ([]byte, error) {
	name, err := tensorNameOf(tensor)
	if err != nil {
		return nil, err
	}
	if !lifted[name] {
		return tensor, nil
	}
	tfs, err := fieldsOf(tensor)
	if err != nil {
		return nil, err
	}
	dims, err := tensorDimsOf(tensor)
	if err != nil {
		return nil, err
	}
	var t []byte
	for _, d := range []int64{dims[0], dims[1], 1, dims[2]} {
		t = protowire.AppendTag(t, tensorDims, protowire.VarintType)
		t = protowire.AppendVarint(t, uint64(d))
	}
	for _, tf := range tfs {
		if tf.num != tensorDims {
			t = append(t, tf.raw...)
		}
	}
	return t, nil
}
