package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/chorus-voice/chorus/synth-job/voice"
)

func TestWritesDeterministicDemoVoices(t *testing.T) {
	// The units are rendered with the espeak-ng program: skip locally
	// without it, fail in CI.
	if _, err := exec.LookPath("espeak-ng"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("espeak-ng program: %v", err)
		}
		t.Skipf("espeak-ng program not installed (scripts/setup-system.sh): %v", err)
	}
	dir := t.TempDir()
	if err := run(dir); err != nil {
		t.Fatal(err)
	}
	first := map[string][]byte{}
	for _, name := range []string{"chorus-demo-en.onnx", "chorus-demo-ko.onnx"} {
		p := filepath.Join(dir, name)
		v, err := voice.Open(p, "")
		if err != nil {
			t.Fatal(err)
		}
		if v.Config.Chorus == nil || !v.Config.Chorus.Demo {
			t.Errorf("%s is not marked as a demo voice", name)
		}
		first[name], _ = os.ReadFile(p)
	}
	if err := run(dir); err != nil {
		t.Fatal(err)
	}
	for name, b := range first {
		again, _ := os.ReadFile(filepath.Join(dir, name))
		if !bytes.Equal(b, again) {
			t.Errorf("%s changed on a second run", name)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 4 {
		t.Errorf("%d files in the output, want 4 (no temporary files left)", len(entries))
	}
}
