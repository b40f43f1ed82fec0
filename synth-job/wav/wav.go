// Package wav encodes and decodes 16-bit PCM mono WAV files, the format
// Chorus stores and browsers play everywhere.
package wav

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// HeaderSize is the size of the canonical 44-byte RIFF/WAVE header.
const HeaderSize = 44

// maxDataBytes keeps the RIFF size field (uint32) from overflowing.
const maxDataBytes = math.MaxUint32 - HeaderSize

// ToInt16 converts a float sample in [-1, 1] to int16, clipping values
// outside the range (VITS output may overshoot), rounding to nearest (halves
// up) and mapping NaN to 0.
func ToInt16(f float32) int16 { return quantize(f * math.MaxInt16) }

// quantize rounds a sample already scaled to the int16 range. Branch-free
// apart from the (predictable) NaN test: it runs once per output sample.
func quantize(v float32) int16 {
	if v != v { // NaN
		return 0
	}
	v = min(max(v, -math.MaxInt16), math.MaxInt16)
	// floor(v + 0.5) without math.Floor: shift into positive range so that
	// truncation is flooring.
	return int16(int32(float64(v)+32768.5) - 32768)
}

// Encode returns a WAV file of mono float samples as 16-bit PCM.
func Encode(samples []float32, sampleRate int) ([]byte, error) {
	buf, err := New(len(samples), sampleRate)
	if err != nil {
		return nil, err
	}
	Put(buf, 0, samples, 1)
	return buf, nil
}

// New returns a WAV file of n silent samples, header filled in, for callers
// that write the samples in pieces with Put (no intermediate float buffer).
func New(n, sampleRate int) ([]byte, error) {
	if sampleRate <= 0 {
		return nil, fmt.Errorf("wav: sample rate %d must be positive", sampleRate)
	}
	if n < 0 || n > maxDataBytes/2 {
		return nil, fmt.Errorf("wav: %d samples do not fit in a WAV file", n)
	}
	buf := make([]byte, HeaderSize+2*n)
	putHeader(buf, 2*n, sampleRate)
	return buf, nil
}

// Put writes samples, multiplied by gain, into a file from New starting at
// sample index at, with the same clipping as ToInt16. It panics if they do
// not fit, like a slice would.
func Put(file []byte, at int, samples []float32, gain float32) {
	PutPCM(file[HeaderSize+2*at:HeaderSize+2*(at+len(samples))], samples, gain)
}

// PutPCM writes samples, multiplied by gain, as 16-bit little-endian PCM
// into dst (2 bytes per sample). It is the engine's per-sample hot loop.
func PutPCM(dst []byte, samples []float32, gain float32) {
	dst = dst[:2*len(samples)] // lets the compiler drop bounds checks
	g := gain * math.MaxInt16
	for i, s := range samples {
		q := quantize(s * g)
		dst[2*i] = byte(q)
		dst[2*i+1] = byte(uint16(q) >> 8)
	}
}

func putHeader(b []byte, dataBytes, sampleRate int) {
	const channels, bits = 1, 16
	copy(b[0:], "RIFF")
	binary.LittleEndian.PutUint32(b[4:], uint32(36+dataBytes))
	copy(b[8:], "WAVE")
	copy(b[12:], "fmt ")
	binary.LittleEndian.PutUint32(b[16:], 16) // PCM fmt chunk size
	binary.LittleEndian.PutUint16(b[20:], 1)  // PCM
	binary.LittleEndian.PutUint16(b[22:], channels)
	binary.LittleEndian.PutUint32(b[24:], uint32(sampleRate))
	binary.LittleEndian.PutUint32(b[28:], uint32(sampleRate*channels*bits/8))
	binary.LittleEndian.PutUint16(b[32:], channels*bits/8)
	binary.LittleEndian.PutUint16(b[34:], bits)
	copy(b[36:], "data")
	binary.LittleEndian.PutUint32(b[40:], uint32(dataBytes))
}

// Audio is a decoded 16-bit PCM mono WAV file.
type Audio struct {
	SampleRate int
	Samples    []int16
}

// Decode parses a 16-bit PCM mono WAV file, skipping chunks other than
// "fmt " and "data". It rejects anything else with an error.
func Decode(b []byte) (*Audio, error) {
	if len(b) < 12 || string(b[0:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return nil, errors.New("wav: not a RIFF/WAVE file")
	}
	if riff := binary.LittleEndian.Uint32(b[4:]); uint64(riff)+8 != uint64(len(b)) {
		return nil, fmt.Errorf("wav: RIFF size %d does not match file size %d", riff, len(b))
	}
	var (
		a      Audio
		gotFmt bool
	)
	for p := 12; p+8 <= len(b); {
		id := string(b[p : p+4])
		size := int(binary.LittleEndian.Uint32(b[p+4:]))
		body := p + 8
		if size < 0 || body+size > len(b) {
			return nil, fmt.Errorf("wav: chunk %q overruns the file", id)
		}
		switch id {
		case "fmt ":
			if size < 16 {
				return nil, errors.New("wav: short fmt chunk")
			}
			f := b[body:]
			format, channels := binary.LittleEndian.Uint16(f[0:]), binary.LittleEndian.Uint16(f[2:])
			bits := binary.LittleEndian.Uint16(f[14:])
			if format != 1 || channels != 1 || bits != 16 {
				return nil, fmt.Errorf("wav: want PCM mono 16-bit, got format %d, %d channels, %d bits", format, channels, bits)
			}
			a.SampleRate = int(binary.LittleEndian.Uint32(f[4:]))
			gotFmt = true
		case "data":
			if !gotFmt {
				return nil, errors.New("wav: data chunk before fmt chunk")
			}
			if size%2 != 0 {
				return nil, errors.New("wav: odd data size for 16-bit samples")
			}
			a.Samples = make([]int16, size/2)
			for i := range a.Samples {
				a.Samples[i] = int16(binary.LittleEndian.Uint16(b[body+2*i:]))
			}
			return &a, nil
		}
		p = body + size + size%2 // chunks are word-aligned
	}
	return nil, errors.New("wav: no data chunk")
}
