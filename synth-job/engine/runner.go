package engine

import (
	"fmt"
	"strings"

	ort "github.com/yalue/onnxruntime_go"
)

// batchInput is one model run's inputs as plain slices.
type batchInput struct {
	ids     []int64 // b × n, row-major, padded
	b, n    int
	lengths []int64   // b
	scales  []float32 // noise_scale, length_scale, noise_w
	// sids is nil for a single-speaker voice, one id for a model whose sid
	// is declared [1] (the speaker of every item), or b ids.
	sids []int64
}

// batchOutput is a run's audio: b rows of per samples each. data may point
// into memory that release frees. samples, when known, is each item's own
// length (see frames.go), durations each item's frames per id and hop the
// samples per frame; nil means trim by level.
type batchOutput struct {
	data      []float32
	per       int
	samples   []int
	durations [][]int
	hop       int
	release   func()
}

// ortRunner runs batches on an ONNX Runtime session. Run may be called from
// several goroutines at once.
type ortRunner struct {
	sess    *ort.DynamicAdvancedSession
	withSID bool
	// withDurations: the session's second output is voice.OutputDurations.
	withDurations bool
}

func (r *ortRunner) run(in *batchInput) (*batchOutput, error) {
	// Input tensors alias these Go slices: they stay referenced until Run
	// returns (the deferred Destroy calls keep them alive).
	var inputs []ort.Value
	defer func() {
		for _, v := range inputs {
			v.Destroy()
		}
	}()
	add := func(v ort.Value, err error) error {
		if err != nil {
			return fmt.Errorf("input tensor: %w", err)
		}
		inputs = append(inputs, v)
		return nil
	}
	if err := add(newTensor(ort.NewShape(int64(in.b), int64(in.n)), in.ids)); err != nil {
		return nil, err
	}
	if err := add(newTensor(ort.NewShape(int64(in.b)), in.lengths)); err != nil {
		return nil, err
	}
	if err := add(newTensor(ort.NewShape(3), in.scales)); err != nil {
		return nil, err
	}
	if r.withSID {
		if err := add(newTensor(ort.NewShape(int64(len(in.sids))), in.sids)); err != nil {
			return nil, err
		}
	}
	outputs := []ort.Value{nil} // variable length: let ONNX Runtime allocate
	if r.withDurations {
		outputs = append(outputs, nil)
	}
	if err := r.sess.Run(inputs, outputs); err != nil {
		return nil, err
	}
	release := func() {
		for _, o := range outputs {
			if o != nil {
				o.Destroy()
			}
		}
	}
	t, ok := outputs[0].(*ort.Tensor[float32])
	if !ok {
		release()
		return nil, fmt.Errorf("output is %T, want a float32 tensor", outputs[0])
	}
	shape := t.GetShape()
	if len(shape) < 2 || shape[0] != int64(in.b) {
		release()
		return nil, fmt.Errorf("output shape %v for a batch of %d", shape, in.b)
	}
	// GetData points into C memory that Destroy frees: the caller reads it
	// before release.
	data := t.GetData()
	out := &batchOutput{data: data, per: len(data) / in.b, release: release}
	if r.withDurations {
		if d, ok := outputs[1].(*ort.Tensor[float32]); ok {
			durations, frames, hop := itemFrames(d.GetData(), in.n, in.lengths, out.per)
			if frames != nil {
				out.durations, out.hop = durations, hop
				out.samples = make([]int, len(frames))
				for i, f := range frames {
					out.samples[i] = f * hop
				}
			}
		}
	}
	return out, nil
}

func newTensor[T ort.TensorData](shape ort.Shape, data []T) (ort.Value, error) {
	t, err := ort.NewTensor(shape, data)
	if err != nil {
		return nil, err
	}
	return t, nil
}

// isOutOfMemory reports whether a run failed for lack of memory, as ONNX
// Runtime words it for its arenas (device or host), CUDA, cuDNN and cuBLAS.
func isOutOfMemory(err error) bool {
	if err == nil {
		return false
	}
	msg := strings.ToLower(err.Error())
	for _, s := range []string{
		"out of memory",                // CUDA failure 2, cudaErrorMemoryAllocation
		"failed to allocate memory",    // BFCArena when the device refuses
		"available memory of",          // BFCArena at gpu_mem_limit
		"status_alloc_failed",          // CUDNN_STATUS_ALLOC_FAILED, CUBLAS_STATUS_ALLOC_FAILED
		"bad_alloc",                    // host allocation
		"memory allocation failed",     // cuFFT, others
		"cudaerrormemoryallocation",    // spelled as the enum
		"allocation of memory failed.", // cuDNN frontend
	} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}
