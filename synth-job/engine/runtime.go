package engine

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"

	ort "github.com/yalue/onnxruntime_go"
)

// ONNX Runtime has one environment per process. onnxruntime_go reads no
// environment variable and its default library name fails, so the path must
// come from configuration (CHORUS_ORT_LIBRARY) before the first use.
var (
	runtimeMu   sync.Mutex
	runtimePath string
)

// InitRuntime loads the ONNX Runtime shared library at path and initialises
// the process-wide environment. It is idempotent for the same path and an
// error for a different one (the library cannot be swapped in a process).
// The environment lives until the process ends: engines come and go, ONNX
// Runtime's environment does not.
func InitRuntime(path string) error {
	if path == "" {
		return errors.New("ONNX Runtime library path is empty (set CHORUS_ORT_LIBRARY; scripts/setup-ort.sh prints it)")
	}
	runtimeMu.Lock()
	defer runtimeMu.Unlock()
	if runtimePath != "" {
		if runtimePath != path {
			return fmt.Errorf("ONNX Runtime already initialised from %s, cannot switch to %s", runtimePath, path)
		}
		return nil
	}
	ort.SetSharedLibraryPath(path)
	if err := ort.InitializeEnvironment(ort.WithLogLevelError()); err != nil {
		return fmt.Errorf("initialise ONNX Runtime from %s: %w", path, err)
	}
	runtimePath = path
	slog.Debug("ONNX Runtime initialised", "library", path, "version", ort.GetVersion())
	return nil
}
