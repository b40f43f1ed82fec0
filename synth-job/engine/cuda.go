package engine

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <stddef.h>

// chorus_cuda_driver_version asks the CUDA driver library, when one is
// installed, which CUDA version it supports (e.g. 12020 for 12.2). It
// returns -1 when there is no driver library and -2 when the call fails.
static int chorus_cuda_driver_version(void) {
	void *lib = dlopen("libcuda.so.1", RTLD_LAZY | RTLD_LOCAL);
	if (lib == NULL) return -1;
	int (*get)(int *) = (int (*)(int *))dlsym(lib, "cuDriverGetVersion");
	int v = 0;
	int rc = get == NULL ? -2 : get(&v);
	dlclose(lib);
	return rc == 0 ? v : -2;
}
*/
import "C"

import (
	"errors"
	"fmt"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/chorus-voice/chorus/synth-job/onnxpb"
)

// CUDADriverVersion is the CUDA version the installed NVIDIA driver
// supports ("12.2"), or a word saying why it is not known. A CUDA 13 build
// of ONNX Runtime needs a driver of CUDA ≥ 13.0 (≥ 580); a CUDA 12 build
// runs on CUDA 12.x drivers through minor-version compatibility.
func CUDADriverVersion() string {
	switch v := int(C.chorus_cuda_driver_version()); {
	case v == -1:
		return "none (no libcuda.so.1)"
	case v < 0:
		return "unknown (cuDriverGetVersion failed)"
	default:
		return fmt.Sprintf("%d.%d", v/1000, v%1000/10)
	}
}

// proveCUDA runs a one-node convolution model on the CUDA execution
// provider, with CPU fallback disabled so that a session that would quietly
// run on the CPU fails, and checks its output. It exercises what a voice
// needs: the provider library, the CUDA runtime against the driver, cuDNN.
func (e *Engine) proveCUDA() error {
	const n = 16
	m := onnxpb.Model{IRVersion: 8, Opset: 17, ProducerName: "chorus-cuda-proof", Graph: onnxpb.Graph{
		Name:         "cuda_proof",
		Initializers: []onnxpb.Tensor{{Name: "w", Type: onnxpb.Float, Dims: []int64{1, 1, 3}, Floats: []float32{1, 2, 3}}},
		Inputs:       []onnxpb.ValueInfo{{Name: "x", Type: onnxpb.Float, Shape: []onnxpb.Dim{{Value: 1}, {Value: 1}, {Value: n}}}},
		Outputs:      []onnxpb.ValueInfo{{Name: "y", Type: onnxpb.Float, Shape: []onnxpb.Dim{{Value: 1}, {Value: 1}, {Value: n - 2}}}},
		Nodes:        []onnxpb.Node{{OpType: "Conv", Name: "conv", Inputs: []string{"x", "w"}, Outputs: []string{"y"}}},
	}}
	opts, err := e.sessionOptions(true)
	if err != nil {
		return err
	}
	defer opts.Destroy()
	if err := opts.AddSessionConfigEntry("session.disable_cpu_ep_fallback", "1"); err != nil {
		return fmt.Errorf("session options: %w", err)
	}
	sess, err := ort.NewDynamicAdvancedSessionWithONNXData(m.Marshal(), []string{"x"}, []string{"y"}, opts)
	if err != nil {
		return fmt.Errorf("create a CUDA session: %w", err)
	}
	defer sess.Destroy()
	xs := make([]float32, n)
	for i := range xs {
		xs[i] = float32(i)
	}
	x, err := ort.NewTensor(ort.NewShape(1, 1, n), xs)
	if err != nil {
		return err
	}
	defer x.Destroy()
	y, err := ort.NewEmptyTensor[float32](ort.NewShape(1, 1, n-2))
	if err != nil {
		return err
	}
	defer y.Destroy()
	if err := sess.Run([]ort.Value{x}, []ort.Value{y}); err != nil {
		return fmt.Errorf("run on CUDA: %w", err)
	}
	for i, got := range y.GetData() {
		if want := float32(6*i + 8); got != want {
			return errors.New("CUDA test model computed a wrong result")
		}
	}
	return nil
}
