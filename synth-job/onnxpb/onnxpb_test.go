package onnxpb

import (
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

// fields splits a message into its top-level fields (number → raw values).
func fields(t *testing.T, b []byte) map[protowire.Number][][]byte {
	t.Helper()
	out := map[protowire.Number][][]byte{}
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			t.Fatalf("bad tag: %v", protowire.ParseError(n))
		}
		b = b[n:]
		m := protowire.ConsumeFieldValue(num, typ, b)
		if m < 0 {
			t.Fatalf("field %d: %v", num, protowire.ParseError(m))
		}
		val := b[:m]
		if typ == protowire.BytesType {
			val, _ = protowire.ConsumeBytes(b)
		}
		out[num] = append(out[num], val)
		b = b[m:]
	}
	return out
}

func TestMarshalLayout(t *testing.T) {
	one := int64(1)
	m := Model{
		IRVersion: 8, Opset: 17, ProducerName: "p",
		Graph: Graph{
			Name:         "g",
			Nodes:        []Node{{OpType: "Gather", Inputs: []string{"a", "b"}, Outputs: []string{"c"}, Attrs: []Attr{{Name: "axis", Int: &one}}}},
			Initializers: []Tensor{{Name: "b", Type: Int64, Dims: []int64{2}, Int64s: []int64{0, 1}}},
			Inputs:       []ValueInfo{{Name: "a", Type: Float, Shape: []Dim{{Param: "n"}, {Value: 3}}}},
			Outputs:      []ValueInfo{{Name: "c", Type: Float}},
		},
		Metadata: map[string]string{"z": "1", "a": "2"},
	}
	top := fields(t, m.Marshal())
	if v, _ := protowire.ConsumeVarint(top[1][0]); v != 8 {
		t.Errorf("ir_version = %d", v)
	}
	if string(top[2][0]) != "p" || len(top[14]) != 2 {
		t.Errorf("producer %q, %d metadata entries", top[2][0], len(top[14]))
	}
	if k := fields(t, top[14][0])[1][0]; string(k) != "a" {
		t.Errorf("metadata not sorted: first key %q", k)
	}
	opset := fields(t, top[8][0])
	if v, _ := protowire.ConsumeVarint(opset[2][0]); v != 17 {
		t.Errorf("opset version = %d", v)
	}
	g := fields(t, top[7][0])
	if len(g[1]) != 1 || len(g[5]) != 1 || len(g[11]) != 1 || len(g[12]) != 1 || string(g[2][0]) != "g" {
		t.Fatalf("graph fields %v", g)
	}
	node := fields(t, g[1][0])
	if string(node[4][0]) != "Gather" || len(node[1]) != 2 || string(node[2][0]) != "c" {
		t.Errorf("node %v", node)
	}
	attr := fields(t, node[5][0])
	if typ, _ := protowire.ConsumeVarint(attr[20][0]); typ != attrInt {
		t.Errorf("attribute type %d, want INT", typ)
	}
	dims := fields(t, fields(t, fields(t, fields(t, g[11][0])[2][0])[1][0])[2][0])[1]
	if len(dims) != 2 || string(fields(t, dims[0])[2][0]) != "n" {
		t.Errorf("input shape dims %v", dims)
	}
}

func TestStringAttribute(t *testing.T) {
	add := "add"
	a := Attr{Name: "reduction", String: &add}
	f := fields(t, a.marshal())
	if string(f[1][0]) != "reduction" || string(f[4][0]) != "add" {
		t.Errorf("attribute fields %v", f)
	}
	if typ, _ := protowire.ConsumeVarint(f[20][0]); typ != attrString {
		t.Errorf("attribute type %d, want STRING", typ)
	}
}
