package voice

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
)

// Prepared graphs. Every rewrite of a voice's graph is made once, when the
// voice is imported (synth-job/voiceprep), checked against the model as
// exported (the same audio within one 16-bit step with noise off) and
// stored beside it; sessions open the prepared files as they are. Beside
// MODEL (the .onnx as exported) lie:
//
//	MODEL.prepared.json  the manifest (Prepared): what was prepared from which model
//	MODEL.prepared.onnx  the model with the durations output (OutputDurations);
//	                     CUDA sessions and CPU sessions of several threads open it
//	MODEL.lifted.onnx    the same with the decoder's 1-D convolutions lifted to 2-D;
//	                     CPU sessions of one intra-op thread open it
//
// A graph that needs no rewrite (it declares the durations output itself,
// or lacks Piper's pattern) is not stored again: the manifest leaves it
// out and the model as exported serves in its place.
const (
	PreparedManifestSuffix = ".prepared.json"
	PreparedGraphSuffix    = ".prepared.onnx"
	LiftedGraphSuffix      = ".lifted.onnx"
)

// PreparedVersion numbers the rewrites. A manifest of another version
// describes graphs made by other rewrites: it is ignored, and the voice is
// prepared again.
const PreparedVersion = 1

// Prepared is the manifest of a voice's prepared graphs.
type Prepared struct {
	Version int `json:"version"`
	// Source is the hex sha256 of the model the graphs were prepared
	// from: a manifest left beside another model is not used.
	Source string `json:"source_sha256"`
	// Graph is MODEL.prepared.onnx; nil when the model as exported serves.
	Graph *PreparedGraph `json:"graph,omitempty"`
	// Lifted is MODEL.lifted.onnx; nil when there is nothing to lift (then
	// one-thread CPU sessions open Graph, or the model).
	Lifted *PreparedGraph `json:"lifted,omitempty"`
	// Durations says whether the graphs that serve declare the durations
	// output.
	Durations bool `json:"durations"`
}

// PreparedGraph is one prepared file and its checksum.
type PreparedGraph struct {
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
	// LiftedConvs counts the convolutions lifted to 2-D (Lifted only).
	LiftedConvs int `json:"lifted_convs,omitempty"`
}

var hexSHA256 = regexp.MustCompile(`^[0-9a-f]{64}$`)

// ParsePrepared decodes and validates a manifest. Errors wrap ErrInvalid.
func ParsePrepared(data []byte) (*Prepared, error) {
	var p Prepared
	if err := json.Unmarshal(data, &p); err != nil {
		return nil, fmt.Errorf("%w: prepared manifest is not valid JSON: %v", ErrInvalid, err)
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return &p, nil
}

// ReadPrepared reads and validates the manifest at path.
func ReadPrepared(path string) (*Prepared, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	p, err := ParsePrepared(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

// Validate checks the manifest's fields (not the files it names).
func (p *Prepared) Validate() error {
	if p.Version < 1 {
		return fmt.Errorf("%w: prepared manifest version %d", ErrInvalid, p.Version)
	}
	if !hexSHA256.MatchString(p.Source) {
		return fmt.Errorf("%w: prepared manifest source_sha256 %q is not a hex sha256", ErrInvalid, p.Source)
	}
	for name, g := range map[string]*PreparedGraph{"graph": p.Graph, "lifted": p.Lifted} {
		if g == nil {
			continue
		}
		if !hexSHA256.MatchString(g.SHA256) || g.Size <= 0 || g.LiftedConvs < 0 {
			return fmt.Errorf("%w: prepared manifest %s: sha256 %q, size %d", ErrInvalid, name, g.SHA256, g.Size)
		}
	}
	return nil
}

// Current reports whether the manifest describes graphs of this version's
// rewrites prepared from the model whose sha256 is source.
func (p *Prepared) Current(source string) bool {
	return p.Version == PreparedVersion && p.Source == source
}

// UsePrepared points v at the prepared graphs of manifest p, which lie
// beside v.ModelPath. It checks that p was prepared from this model
// (modelSHA256, hex) by this version's rewrites and that each file is
// there with its recorded size; the checksums are the downloader's to
// verify. Errors wrap ErrInvalid.
func (v *Voice) UsePrepared(p *Prepared, modelSHA256 string) error {
	if !p.Current(modelSHA256) {
		return fmt.Errorf("%w: voice %s: prepared graphs are version %d of model %.12s, want version %d of %.12s",
			ErrInvalid, v.Name, p.Version, p.Source, PreparedVersion, modelSHA256)
	}
	path := func(g *PreparedGraph, suffix string) (string, error) {
		if g == nil {
			return "", nil
		}
		file := v.ModelPath + suffix
		st, err := os.Stat(file)
		if err != nil {
			return "", fmt.Errorf("%w: voice %s: prepared graph: %v", ErrInvalid, v.Name, err)
		}
		if st.Size() != g.Size {
			return "", fmt.Errorf("%w: voice %s: %s is %d bytes, the manifest says %d", ErrInvalid, v.Name, file, st.Size(), g.Size)
		}
		return file, nil
	}
	graph, err := path(p.Graph, PreparedGraphSuffix)
	if err != nil {
		return err
	}
	lifted, err := path(p.Lifted, LiftedGraphSuffix)
	if err != nil {
		return err
	}
	v.GraphPath, v.LiftedPath, v.Prepared = graph, lifted, true
	return nil
}

// SessionModel returns the file a session opens: on one intra-op CPU
// thread with lift set, the lifted graph; otherwise the prepared graph;
// the model as exported where the voice has no such file.
func (v *Voice) SessionModel(lift bool) string {
	switch {
	case lift && v.LiftedPath != "":
		return v.LiftedPath
	case v.GraphPath != "":
		return v.GraphPath
	}
	return v.ModelPath
}
