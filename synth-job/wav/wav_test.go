package wav

import (
	"bytes"
	"encoding/binary"
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

// Whatever Decode accepts makes a round trip: its samples, written again
// (as floats, the engine's form) and decoded, are the same samples at the
// same rate — but -32768, which the writer's symmetric scale clips to
// -32767.
func FuzzDecode(f *testing.F) {
	good, _ := Encode([]float32{0.1, -0.2, 0.3}, 16000)
	f.Add(good)
	withList := append(bytes.Clone(good[:12]), "LIST\x04\x00\x00\x00abcd"...)
	withList = append(withList, good[12:]...)
	binary.LittleEndian.PutUint32(withList[4:], uint32(len(withList)-8))
	f.Add(withList)
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := Decode(b)
		if err != nil {
			return
		}
		if a.SampleRate <= 0 {
			if _, err := Encode(nil, a.SampleRate); err == nil {
				t.Fatalf("rate %d encoded", a.SampleRate)
			}
			return
		}
		x := make([]float32, len(a.Samples))
		for i, s := range a.Samples {
			x[i] = float32(s) / math.MaxInt16
		}
		again, err := Encode(x, a.SampleRate)
		if err != nil {
			t.Fatalf("re-encode %d samples at %d Hz: %v", len(x), a.SampleRate, err)
		}
		b2, err := Decode(again)
		if err != nil {
			t.Fatalf("decode the re-encoded file: %v", err)
		}
		if b2.SampleRate != a.SampleRate || len(b2.Samples) != len(a.Samples) {
			t.Fatalf("round trip: %d Hz, %d samples; want %d Hz, %d", b2.SampleRate, len(b2.Samples), a.SampleRate, len(a.Samples))
		}
		for i, s := range a.Samples {
			if want := max(s, -math.MaxInt16); b2.Samples[i] != want {
				t.Fatalf("round trip: sample %d is %d, want %d", i, b2.Samples[i], want)
			}
		}
	})
}

// Any float samples make a round trip: Decode(Encode(x)) is ToInt16 of
// each, at the rate written.
func FuzzEncodeRoundTrip(f *testing.F) {
	f.Add([]byte{0, 0, 0x80, 0x3f, 0, 0, 0x80, 0xbf, 0, 0, 0xc0, 0x7f}, uint16(22050)) // 1, -1, NaN
	f.Fuzz(func(t *testing.T, raw []byte, rate uint16) {
		x := make([]float32, len(raw)/4)
		for i := range x {
			x[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		}
		b, err := Encode(x, int(rate))
		if rate == 0 {
			if err == nil {
				t.Fatal("rate 0 encoded")
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		a, err := Decode(b)
		if err != nil {
			t.Fatalf("decode what Encode wrote: %v", err)
		}
		if a.SampleRate != int(rate) || len(a.Samples) != len(x) {
			t.Fatalf("%d Hz, %d samples; want %d Hz, %d", a.SampleRate, len(a.Samples), rate, len(x))
		}
		for i, v := range x {
			if a.Samples[i] != ToInt16(v) {
				t.Fatalf("sample %d (%v) decoded %d, want %d", i, v, a.Samples[i], ToInt16(v))
			}
		}
	})
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
