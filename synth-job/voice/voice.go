package voice

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Voice is a Piper voice on local disk with its validated config.
type Voice struct {
	// Name identifies the voice in logs (the model file name without .onnx
	// unless the caller chose another).
	Name string
	// ModelPath is the .onnx file as exported; the engine keys its session
	// cache on it.
	ModelPath string
	Config    *Config
	// GraphPath and LiftedPath are the voice's prepared graphs (see
	// UsePrepared), "" where the model as exported serves instead.
	// Prepared says whether the voice went through preparation at all.
	GraphPath  string
	LiftedPath string
	Prepared   bool
}

// Open reads the voice at modelPath; configPath defaults to modelPath+".json"
// as Piper does. It validates the config; the engine checks the model's
// inputs and outputs when it first opens a session.
func Open(modelPath, configPath string) (*Voice, error) {
	if configPath == "" {
		configPath = modelPath + ".json"
	}
	abs, err := filepath.Abs(modelPath)
	if err != nil {
		return nil, fmt.Errorf("voice model path %q: %w", modelPath, err)
	}
	st, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("voice model: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: voice model %s is not a regular file", ErrInvalid, abs)
	}
	c, err := ReadConfig(configPath)
	if err != nil {
		return nil, err
	}
	return &Voice{
		Name:      strings.TrimSuffix(filepath.Base(abs), ".onnx"),
		ModelPath: abs,
		Config:    c,
	}, nil
}
