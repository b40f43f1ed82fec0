package engine

import (
	"runtime"
)

// Exact lengths. In a padded run every item's audio is as long as the
// longest item's, and the decoder's upsampling spills each item's last
// frames into the masked frames after it, so the tail of a short item in a
// batch is not silence and trimming by level cannot find where it ends.
// A voice's prepared graph outputs each id's length in frames
// (voice.OutputDurations, Piper's w_ceil); an item's frames are their sum
// (at least one, as the graph clamps it), and the item is cut at exactly
// frames × hop samples, as long as it comes out alone. A graph without
// that output (a voice not prepared, other exporters) is trimmed by level.

// itemFrames returns each item's durations (row i's first lengths[i] ids,
// as whole frames) and frames, and the hop (samples per frame), given the
// durations output of a run (b rows of n ids) and the samples per row of
// its audio. It returns nil when the durations do not explain the audio
// (then the engine trims by level).
func itemFrames(durations []float32, n int, lengths []int64, per int) (perID [][]int, frames []int, hop int) {
	b := len(lengths)
	if n <= 0 || len(durations) != b*n || per <= 0 {
		return nil, nil, 0
	}
	perID = make([][]int, b)
	frames = make([]int, b)
	longest := 0
	for i, l := range lengths {
		if l < 1 || int(l) > n {
			return nil, nil, 0
		}
		row := durations[i*n : i*n+int(l)]
		perID[i] = make([]int, len(row))
		sum := 0
		for j, d := range row {
			if !(d >= 0 && d <= 1e6) || d != float32(int(d)) { // NaN, negative, absurd or not whole
				return nil, nil, 0
			}
			perID[i][j] = int(d)
			sum += int(d)
		}
		frames[i] = max(1, sum)
		longest = max(longest, frames[i])
	}
	if per%longest != 0 {
		return nil, nil, 0
	}
	return perID, frames, per / longest
}

// CPU decoder. ONNX Runtime's CPU provider runs 1-D convolutions through
// im2col and a matrix product, and 2-D ones with its blocked (NCHWc)
// kernels. Piper's decoder (HiFi-GAN) lifted to 2-D over a height of one
// (voiceprep, onnxpb.LiftConv1D) computes the same samples within float
// rounding (checked when the voice is prepared, and by
// TestLiftedDecoderSoundsTheSame) and runs faster on one thread
// (docs/performance.md). The blocked kernels share their work between
// threads by output rows, and a height of one is one row: with more
// threads the lifted decoder is slower than the exported one, so only
// sessions of one intra-op thread open the lifted graph. CUDA sessions
// open the graph as exported (cuDNN's 1-D path is what the GPU figures
// measured).

// liftsDecoder reports whether CPU sessions open the lifted graph: with
// one intra-op thread, unless the options keep the exported decoder.
func (e *Engine) liftsDecoder() bool {
	threads := e.opts.IntraOpThreads
	if threads == 0 {
		threads = runtime.NumCPU() // ONNX Runtime's default: one per core
	}
	return threads == 1 && !e.opts.KeepConv1D
}
