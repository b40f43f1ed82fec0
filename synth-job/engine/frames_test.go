package engine

import (
	"slices"
	"testing"
)

func TestItemFrames(t *testing.T) {
	// Two items of 3 and 2 ids, padded to 3: [1 2 0] and [4 1 (pad 0)].
	d := []float32{1, 2, 0, 4, 1, 0}
	perID, frames, hop := itemFrames(d, 3, []int64{3, 2}, 5*256)
	if hop != 256 || !slices.Equal(frames, []int{3, 5}) || !slices.Equal(perID[0], []int{1, 2, 0}) || !slices.Equal(perID[1], []int{4, 1}) {
		t.Errorf("got %v %v hop %d", perID, frames, hop)
	}
	for _, tt := range []struct {
		name      string
		durations []float32
		n         int
		lengths   []int64
		per       int
	}{
		{"frames that do not divide the row", []float32{3, 5}, 1, []int64{1, 1}, 1001},
		{"not whole frames", []float32{1.5, 2}, 2, []int64{2}, 512},
		{"negative", []float32{-1, 2}, 2, []int64{2}, 256},
		{"NaN", []float32{float32NaN(), 2}, 2, []int64{2}, 512},
		{"shape", []float32{1, 2, 3}, 2, []int64{2}, 768},
		{"length past the row", []float32{1, 2}, 2, []int64{3}, 768},
	} {
		if _, frames, _ := itemFrames(tt.durations, tt.n, tt.lengths, tt.per); frames != nil {
			t.Errorf("%s: %v, want nil (trim by level)", tt.name, frames)
		}
	}
	if _, frames, hop := itemFrames([]float32{0, 0}, 1, []int64{1, 1}, 256); !slices.Equal(frames, []int{1, 1}) || hop != 256 {
		t.Errorf("zero frames are clamped to one, as the graph does: %v hop %d", frames, hop)
	}
}

func float32NaN() float32 {
	var zero float32
	return zero / zero
}
