package encode_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"testing"

	"github.com/chorus-voice/chorus/shared/job"
	"github.com/chorus-voice/chorus/synth-job/encode"
	"github.com/chorus-voice/chorus/synth-job/internal/testenv"
	"github.com/chorus-voice/chorus/synth-job/wav"
)

// speech-like test audio: tone bursts with pauses, at −20 dBFS peaks.
func bursts(rate int, seconds float64) []float32 {
	n := int(seconds * float64(rate))
	pcm := make([]float32, n)
	for i := range pcm {
		t := float64(i) / float64(rate)
		if math.Mod(t, 0.5) < 0.3 {
			pcm[i] = float32(3000.0 / 32768 * (math.Sin(2*math.Pi*220*t) + 0.5*math.Sin(2*math.Pi*1200*t)) * math.Sin(math.Pi*math.Mod(t, 0.5)/0.3))
		}
	}
	return pcm
}

// rms is the RMS of float samples or of 16-bit ones, in full scale.
func rms[T float32 | int16](x []T) float64 {
	scale := 1.0
	if _, ok := any(x).([]int16); ok {
		scale = 1.0 / 32768
	}
	var s float64
	for _, v := range x {
		f := float64(v) * scale
		s += f * f
	}
	return math.Sqrt(s / float64(max(len(x), 1)))
}

// Encode is the one entry point: each format at the rate it stores, a
// WAV that decodes to the samples (16-bit rounding), and no format it
// does not know.
func TestEncodeFormats(t *testing.T) {
	pcm := bursts(22050, 1.2)
	for _, tt := range []struct {
		format string
		rate   int
		magic  []byte // how the file starts (an MP3 frame: its first sync byte)
	}{{job.FormatWAV, 22050, []byte("RIFF")}, {job.FormatOpus, encode.OpusRate, []byte("OggS")}, {job.FormatMP3, 22050, []byte{0xff}}} {
		b, rate, err := encode.Encode(tt.format, pcm, 22050)
		if err != nil {
			t.Fatalf("%s: %v", tt.format, err)
		}
		if rate != tt.rate || !bytes.HasPrefix(b, tt.magic) {
			t.Errorf("%s: stored at %d Hz (want %d), starts % x", tt.format, rate, tt.rate, b[:min(len(b), 4)])
		}
		if tt.format == job.FormatWAV {
			a, err := wav.Decode(b)
			if err != nil {
				t.Fatal(err)
			}
			if a.SampleRate != 22050 || len(a.Samples) != len(pcm) {
				t.Fatalf("WAV: %d Hz, %d samples; want 22050, %d", a.SampleRate, len(a.Samples), len(pcm))
			}
			for i, s := range a.Samples {
				if s != wav.ToInt16(pcm[i]) {
					t.Fatalf("WAV sample %d is %d, want %d", i, s, wav.ToInt16(pcm[i]))
				}
			}
		}
	}
	if _, _, err := encode.Encode("flac", pcm, 22050); !errors.Is(err, encode.ErrFormat) {
		t.Errorf("flac: %v, want ErrFormat", err)
	}
}

func TestOpusIsOggOpusOfTheSameLength(t *testing.T) {
	for _, rate := range []int{22050, 16000, 48000} {
		pcm := bursts(rate, 2.3)
		b, err := encode.Opus(pcm, rate)
		if err != nil {
			t.Fatal(err)
		}
		// The first Ogg page holds the OpusHead packet: mono, 48 kHz
		// output, our pre-skip.
		if len(b) < 47 || string(b[:4]) != "OggS" || string(b[28:36]) != "OpusHead" {
			t.Fatalf("%d Hz: not Ogg Opus: % x", rate, b[:min(len(b), 40)])
		}
		if ch := b[37]; ch != 1 {
			t.Errorf("%d Hz: %d channels", rate, ch)
		}
		if !bytes.Contains(b[:min(len(b), 4096)], []byte("OpusTags")) {
			t.Errorf("%d Hz: no OpusTags", rate)
		}
		if kbps := float64(len(b)*8) / 2.3 / 1000; kbps > 48 {
			t.Errorf("%d Hz: %.0f kbit/s, want about %d", rate, kbps, encode.OpusBitrate/1000)
		}
		again, _ := encode.Opus(pcm, rate)
		if !bytes.Equal(b, again) {
			t.Errorf("%d Hz: the same input gave another file", rate)
		}
		// Decoded: exactly as long as the input, as loud.
		dec := testenv.DecodePCM(t, b, rate)
		if d := len(dec) - len(pcm); d < -1 || d > 1 {
			t.Errorf("%d Hz: decoded %d samples, encoded %d", rate, len(dec), len(pcm))
		}
		if r := rms(dec) / rms(pcm); r < 0.9 || r > 1.1 {
			t.Errorf("%d Hz: decoded RMS %.4f, input %.4f", rate, rms(dec), rms(pcm))
		}
	}
}

func TestMP3(t *testing.T) {
	for _, tt := range []struct{ rate, stored int }{{22050, 22050}, {16000, 16000}, {20000, 22050}, {96000, 48000}} {
		pcm := bursts(tt.rate, 2.3)
		b, err := encode.MP3(pcm, tt.rate)
		if err != nil {
			t.Fatal(err)
		}
		if encode.MP3Rate(tt.rate) != tt.stored {
			t.Errorf("MP3Rate(%d) = %d, want %d", tt.rate, encode.MP3Rate(tt.rate), tt.stored)
		}
		// An MPEG audio frame (11 sync bits, layer III) starts the file,
		// and it is the LAME tag frame ("Xing" for VBR, or "Info").
		if len(b) < 4 || b[0] != 0xff || b[1]&0xe0 != 0xe0 || (b[1]>>1)&3 != 1 {
			t.Fatalf("%d Hz: not an MPEG layer III frame: % x", tt.rate, b[:min(len(b), 8)])
		}
		if !bytes.Contains(b[:min(len(b), 400)], []byte("Xing")) && !bytes.Contains(b[:min(len(b), 400)], []byte("Info")) {
			t.Errorf("%d Hz: no LAME/Xing tag in the first frame", tt.rate)
		}
		if !bytes.Contains(b[:min(len(b), 400)], []byte("LAME")) {
			t.Errorf("%d Hz: no LAME tag (encoder delay and padding)", tt.rate)
		}
		// Decoded at the input's rate: as long (ffmpeg trims LAME's
		// delay and padding from the tag), as loud.
		dec := testenv.DecodePCM(t, b, tt.rate)
		if d := len(dec) - len(pcm); d < -2 || d > 2 {
			t.Errorf("%d Hz: decoded %d samples, encoded %d", tt.rate, len(dec), len(pcm))
		}
		if r := rms(dec) / rms(pcm); r < 0.9 || r > 1.1 {
			t.Errorf("%d Hz: decoded RMS %.4f, input %.4f", tt.rate, rms(dec), rms(pcm))
		}
		t.Logf("%d Hz → %d Hz MP3: %d bytes (%.0f kbit/s), decoded %d of %d samples", tt.rate, tt.stored, len(b),
			float64(len(b)*8)/2.3/1000, len(dec), len(pcm))
	}
}

func TestEmptyAndBadInput(t *testing.T) {
	if _, err := encode.Opus(nil, 22050); err == nil {
		t.Error("empty Opus encoded")
	}
	if _, err := encode.MP3(nil, 22050); err == nil {
		t.Error("empty MP3 encoded")
	}
	if b, err := encode.Opus([]float32{5.0 / 32768}, 22050); err != nil || string(b[:4]) != "OggS" {
		t.Errorf("one sample: %v", err)
	}
	if _, err := encode.Opus([]float32{1.0 / 32768}, 0); err == nil {
		t.Error("rate 0 accepted")
	}
	if _, err := encode.MP3([]float32{1.0 / 32768}, -1); err == nil {
		t.Error("rate -1 accepted")
	}
}

// The OpusHead's input rate is informational; the pre-skip is what
// decoders drop (RFC 7845 §4.2): it must be there.
func TestOpusPreSkip(t *testing.T) {
	b, err := encode.Opus(bursts(22050, 1), 22050)
	if err != nil {
		t.Fatal(err)
	}
	if skip := binary.LittleEndian.Uint16(b[38:]); skip == 0 {
		t.Error("no pre-skip")
	}
}
