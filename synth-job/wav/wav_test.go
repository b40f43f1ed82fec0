package wav

import (
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestToInt16Clips(t *testing.T) {
	tests := []struct {
		in   float32
		want int16
	}{
		{0, 0}, {1, 32767}, {-1, -32767}, {1.5, 32767}, {-7, -32767},
		{0.5, 16384}, {-0.5, -16383}, {float32(math.NaN()), 0},
		{float32(math.Inf(1)), 32767}, {float32(math.Inf(-1)), -32767},
	}
	for _, tt := range tests {
		if got := ToInt16(tt.in); got != tt.want {
			t.Errorf("ToInt16(%v) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	in := []float32{0, 0.25, -0.25, 1, -1, 2, -2, 0.001}
	b, err := Encode(in, 22050)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != HeaderSize+2*len(in) {
		t.Fatalf("len = %d, want %d", len(b), HeaderSize+2*len(in))
	}
	a, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if a.SampleRate != 22050 || len(a.Samples) != len(in) {
		t.Fatalf("decoded rate %d, %d samples", a.SampleRate, len(a.Samples))
	}
	for i, f := range in {
		if a.Samples[i] != ToInt16(f) {
			t.Errorf("sample %d = %d, want %d", i, a.Samples[i], ToInt16(f))
		}
	}
}

func TestEncodeRejectsBadRate(t *testing.T) {
	if _, err := Encode([]float32{0}, 0); err == nil {
		t.Fatal("want error for sample rate 0")
	}
}

func TestDecodeRejectsGarbage(t *testing.T) {
	good, _ := Encode([]float32{0.1, 0.2}, 16000)
	for name, b := range map[string][]byte{
		"empty":     nil,
		"not riff":  []byte("RIFX0000WAVEfmt "),
		"truncated": good[:len(good)-1],
	} {
		if _, err := Decode(b); err == nil {
			t.Errorf("%s: want error", name)
		}
	}
}

func FuzzDecode(f *testing.F) {
	good, _ := Encode([]float32{0.1, -0.2, 0.3}, 16000)
	f.Add(good)
	f.Fuzz(func(t *testing.T, b []byte) { Decode(b) })
}

// sox is an independent reader of the header.
func TestSoxReadsIt(t *testing.T) {
	sox, err := exec.LookPath("sox")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("sox not installed (scripts/setup-system.sh installs it)")
		}
		t.Skip("sox not installed")
	}
	samples := make([]float32, 22050)
	for i := range samples {
		samples[i] = float32(0.5 * math.Sin(2*math.Pi*440*float64(i)/22050))
	}
	b, err := Encode(samples, 22050)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "a.wav")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(sox, "--i", path).CombinedOutput()
	if err != nil {
		t.Fatalf("sox --i: %v\n%s", err, out)
	}
	for _, want := range []string{"Channels       : 1", "Sample Rate    : 22050", "Precision      : 16-bit", "00:00:01.00 = 22050 samples", "16-bit Signed Integer PCM"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("sox --i output lacks %q:\n%s", want, out)
		}
	}
}

func TestPutMatchesToInt16(t *testing.T) {
	in := []float32{0, 0.25, -0.25, 0.5, -0.5, 1, -1, 3, -3, 0.49999, float32(math.NaN()), float32(math.Inf(1))}
	for _, gain := range []float32{1, 0.5, 2} {
		f, err := New(len(in)+2, 8000)
		if err != nil {
			t.Fatal(err)
		}
		Put(f, 2, in, gain)
		a, err := Decode(f)
		if err != nil {
			t.Fatal(err)
		}
		if a.Samples[0] != 0 || a.Samples[1] != 0 {
			t.Error("Put wrote before its offset")
		}
		for i, s := range in {
			if got, want := a.Samples[2+i], ToInt16(s*gain); got != want {
				t.Errorf("gain %v sample %v: Put wrote %d, ToInt16 gives %d", gain, s, got, want)
			}
		}
	}
}

func BenchmarkPut(b *testing.B) {
	x := make([]float32, 22050)
	for i := range x {
		x[i] = float32(math.Sin(float64(i) / 10))
	}
	f, _ := New(len(x), 22050)
	b.SetBytes(int64(len(x)))
	for b.Loop() {
		Put(f, 0, x, 0.9)
	}
}
