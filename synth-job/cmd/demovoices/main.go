// Command demovoices writes Chorus's generated demo voices (Piper-format
// ONNX models and configs) into a directory:
//
//	demovoices -out DIR
//
// creates DIR/chorus-demo-en.onnx(.json) (espeak-ng en-us, 4 speakers) and
// DIR/chorus-demo-ko.onnx(.json) (espeak-ng ko, 1 speaker) and prints the
// model paths. It runs the espeak-ng program (Debian package espeak-ng),
// which says the phonemes the voices are made of. The output is
// deterministic, so re-running changes nothing.
package main

import (
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/chorus-voice/chorus/synth-job/demovoice"
)

func main() {
	out := flag.String("out", "", "directory to write the demo voices into (required)")
	flag.Parse()
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	if *out == "" || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: demovoices -out DIR")
		os.Exit(2)
	}
	if err := run(*out); err != nil {
		log.Error("demovoices failed", "error", err.Error())
		os.Exit(1)
	}
}

func run(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for name, o := range map[string]demovoice.Options{
		"chorus-demo-en": demovoice.English(),
		"chorus-demo-ko": demovoice.Korean(),
	} {
		model, config, err := demovoice.Build(o)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		path := filepath.Join(dir, name+".onnx")
		if err := writeAtomic(path, model); err != nil {
			return err
		}
		if err := writeAtomic(path+".json", config); err != nil {
			return err
		}
		fmt.Println(path)
	}
	return nil
}

func writeAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".demovoice-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
