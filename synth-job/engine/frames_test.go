package engine

import (
	"os"
	"testing"

	"github.com/chorus-voice/chorus/synth-job/internal/benchvoice"
	"github.com/chorus-voice/chorus/synth-job/internal/testenv"
	"github.com/chorus-voice/chorus/synth-job/onnxpb"
)

func TestFrameLengthsValueInPiperExport(t *testing.T) {
	v := testenv.BenchVoice(t, benchvoice.Medium)
	data, err := os.ReadFile(v.ModelPath)
	if err != nil {
		t.Fatal(err)
	}
	nodes, err := onnxpb.Nodes(data)
	if err != nil {
		t.Fatal(err)
	}
	name := frameLengthsValue(nodes)
	t.Logf("%d nodes; frame lengths in %q", len(nodes), name)
	if name == "" {
		t.Fatal("Piper's Ceil → ReduceSum → Clip pattern not found")
	}
}

func TestItemSamples(t *testing.T) {
	if got := itemSamples([]float32{3, 5, 1}, 5*256); len(got) != 3 || got[0] != 768 || got[1] != 1280 || got[2] != 256 {
		t.Errorf("got %v", got)
	}
	if got := itemSamples([]float32{3, 5}, 1001); got != nil {
		t.Errorf("counts that do not divide the row: %v, want nil", got)
	}
	if got := itemSamples([]float32{0, 0}, 256); got == nil || got[0] != 256 {
		t.Errorf("zero frames are clamped to one: %v", got)
	}
}
