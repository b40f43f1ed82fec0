package loudness

import (
	"math"
	"math/rand/v2"
	"testing"
)

// tone is a sine of freq Hz and peak amplitude amp (linear) lasting sec.
func tone(rate int, freq, amp, sec float64) []float32 {
	x := make([]float32, int(sec*float64(rate)))
	for i := range x {
		x[i] = float32(amp * math.Sin(2*math.Pi*freq*float64(i)/float64(rate)))
	}
	return x
}

// lufsTone is the amplitude of a 1 kHz mono sine that reads lufs: a sine's
// mean square is amp²/2, and K-weighting adds +0.691 dB at 1 kHz, which
// the −0.691 of the loudness formula cancels. So a sine at −20 dBFS peak
// reads −23.0 LUFS (EBU Tech 3341's stereo −23 dBFS sine is the same
// power: two channels, 3 dB more).
func lufsTone(lufs float64) float64 { return math.Pow(10, (lufs+3.0103)/20) }

func concat(parts ...[]float32) []float32 {
	var out []float32
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func TestIntegratedLoudnessOfKnownSignals(t *testing.T) {
	for _, tt := range []struct {
		name string
		rate int
		x    []float32
		want float64
	}{
		// A 1 kHz sine at −20 dBFS (peak) reads −23.0 LUFS, at every rate
		// the voices use (the K filter is derived for each).
		{"sine -20 dBFS 48k", 48000, tone(48000, 1000, 0.1, 10), -23.0},
		{"sine -20 dBFS 22.05k", 22050, tone(22050, 1000, 0.1, 10), -23.0},
		{"sine -20 dBFS 16k", 16000, tone(16000, 1000, 0.1, 10), -23.0},
		{"sine 0 dBFS", 48000, tone(48000, 1000, 1, 5), -3.01},
		// EBU Tech 3341 case 3, in mono: the quiet parts are under the
		// relative gate.
		{"relative gate", 48000, concat(tone(48000, 1000, lufsTone(-36), 10), tone(48000, 1000, lufsTone(-23), 60),
			tone(48000, 1000, lufsTone(-36), 10)), -23.0},
		// Case 4: and parts under the absolute gate.
		{"absolute gate", 48000, concat(tone(48000, 1000, lufsTone(-72), 10), tone(48000, 1000, lufsTone(-36), 10),
			tone(48000, 1000, lufsTone(-23), 60), tone(48000, 1000, lufsTone(-36), 10), tone(48000, 1000, lufsTone(-72), 10)), -23.0},
		// Case 5: −26, −20, −26 LUFS for 20, 20.1 and 20 s average to −23.
		{"average", 48000, concat(tone(48000, 1000, lufsTone(-26), 20), tone(48000, 1000, lufsTone(-20), 20.1),
			tone(48000, 1000, lufsTone(-26), 20)), -23.0},
		// Shorter than one 400 ms block: its momentary loudness.
		{"short clip", 22050, tone(22050, 1000, 0.1, 0.25), -23.0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := Measure(tt.x, tt.rate)
			if math.Abs(m.Integrated-tt.want) > 0.1 {
				t.Errorf("integrated %.3f LUFS, want %.1f ± 0.1", m.Integrated, tt.want)
			}
		})
	}
}

func TestSilence(t *testing.T) {
	m := Measure(make([]float32, 22050), 22050)
	if !math.IsInf(m.Integrated, -1) || m.TruePeak != 0 {
		t.Fatalf("silence: %v LUFS, peak %v", m.Integrated, m.TruePeak)
	}
	if g := m.Gain(TargetLUFS, CeilingDBTP, 100); g != 1 {
		t.Errorf("gain of silence %v, want 1", g)
	}
	// Everything under the absolute gate: no gated block, no loudness.
	if m := Measure(tone(22050, 1000, lufsTone(-80), 2), 22050); !math.IsInf(m.Integrated, -1) {
		t.Errorf("a −80 LUFS tone reads %v, want nothing above the gate", m.Integrated)
	}
	if m := Measure([]float32{float32(math.NaN()), 0.5}, 22050); math.IsNaN(m.Integrated) || m.TruePeak < 0.5 {
		t.Errorf("NaN samples: %+v", m)
	}
}

func TestTruePeakFindsPeaksBetweenSamples(t *testing.T) {
	// A sine at a quarter of the rate, 45° out of phase: every sample sits
	// at 0.707 of the peak, which lies between them (EBU Tech 3341 case 15
	// shape). The sample peak reads −3 dB low; the true peak must not.
	const amp = 0.5
	x := make([]float32, 48000)
	for i := range x {
		x[i] = float32(amp * math.Sin(math.Pi/2*float64(i)+math.Pi/4))
	}
	var sample float64
	for _, v := range x {
		sample = max(sample, math.Abs(float64(v)))
	}
	tp := TruePeak(x)
	if got, want := 20*math.Log10(tp), 20*math.Log10(amp); got < want-0.4 || got > want+0.2 {
		t.Errorf("true peak %.2f dBTP, want %.2f (+0.2/−0.4); sample peak %.2f dBFS", got, want, 20*math.Log10(sample))
	}
	// A full-scale 1 kHz sine: true peak 0 dBTP.
	if tp := 20 * math.Log10(TruePeak(tone(48000, 1000, 1, 1))); math.Abs(tp) > 0.1 {
		t.Errorf("0 dBFS 1 kHz sine: true peak %.2f dBTP", tp)
	}
}

func TestGainReachesTargetUnderCeiling(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	noise := make([]float32, 5*22050)
	for i := range noise {
		noise[i] = float32(0.01 * rng.NormFloat64())
	}
	// Speech-like: bursts of tone and noise with silences between.
	var speechy []float32
	for i := range 6 {
		speechy = append(speechy, tone(22050, 200+100*float64(i), 0.05, 0.5)...)
		speechy = append(speechy, make([]float32, 22050/5)...)
	}
	// A click train: almost no loudness, full peaks. The ceiling wins.
	clicks := make([]float32, 3*22050)
	for i := 0; i < len(clicks); i += 2205 {
		clicks[i] = 0.9
	}
	ceiling := math.Pow(10, CeilingDBTP/20)
	for _, tt := range []struct {
		name        string
		x           []float32
		ceilingWins bool
	}{
		{"quiet tone", tone(22050, 440, 0.01, 3), false},
		{"loud tone", tone(22050, 440, 1.2, 3), false},
		{"noise", noise, false},
		{"speech-like", speechy, false},
		{"short clip", tone(22050, 440, 0.02, 0.3), false},
		{"clicks", clicks, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			g := Measure(tt.x, 22050).Gain(TargetLUFS, CeilingDBTP, 1000)
			y := make([]float32, len(tt.x))
			for i, v := range tt.x {
				y[i] = float32(float64(v) * g)
			}
			m := Measure(y, 22050)
			if m.TruePeak > ceiling*1.0001 {
				t.Errorf("true peak %.2f dBTP over the ceiling", m.TruePeakDBTP())
			}
			if tt.ceilingWins {
				if m.Integrated > TargetLUFS-1 || math.Abs(m.TruePeakDBTP()-CeilingDBTP) > 0.01 {
					t.Errorf("ceiling should win: %.2f LUFS, %.2f dBTP", m.Integrated, m.TruePeakDBTP())
				}
				return
			}
			if math.Abs(m.Integrated-TargetLUFS) > 0.05 {
				t.Errorf("%.3f LUFS after gain %.3f, want %.1f", m.Integrated, g, TargetLUFS)
			}
		})
	}
}

func TestGainIsBounded(t *testing.T) {
	if g := Measure(tone(22050, 440, 1e-4, 2), 22050).Gain(TargetLUFS, CeilingDBTP, 10); g != 10 {
		t.Errorf("gain %v for a −80 dBFS tone, want the bound 10", g)
	}
}

func BenchmarkMeasure10s(b *testing.B) {
	x := tone(22050, 440, 0.3, 10)
	for b.Loop() {
		Measure(x, 22050)
	}
}

// The fast paths agree with the direct definitions: blocks from step sums
// with the mean square of each K-weighted block, the paired phases of the
// peak envelope with the four phase dot products.
func TestFastPathsMatchTheDefinitions(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, rate := range []int{11025, 16000, 22050, 48000} { // 11025: a block is not four steps
		x := make([]float32, 3*rate+123)
		for i := range x {
			x[i] = float32(r.NormFloat64() * 0.2)
		}
		got := measureLoudness(x, rate)
		k := kWeight(x, rate)
		block, step := int(math.Round(blockSeconds*float64(rate))), int(math.Round(stepSeconds*float64(rate)))
		var want []float64
		for start := 0; start+block <= len(k); start += step {
			want = append(want, meanSquare(k[start:start+block]))
		}
		if len(got.blocks) != len(want) {
			t.Fatalf("rate %d: %d blocks, want %d", rate, len(got.blocks), len(want))
		}
		for i := range want {
			if math.Abs(got.blocks[i]-want[i]) > 1e-12*want[i] {
				t.Fatalf("rate %d block %d: %g, want %g", rate, i, got.blocks[i], want[i])
			}
		}

		env := peakEnvelope(x)
		const taps = 12
		xp := make([]float64, len(x)+2*(taps-1))
		for i, v := range x {
			xp[i+taps-1] = float64(v)
		}
		direct := make([]float64, len(x))
		for i, v := range x {
			direct[i] = math.Abs(float64(v))
		}
		for m := 0; m < len(x)+taps-1; m++ {
			var hi float64
			for p := range 4 {
				var y float64
				for j := range taps {
					y += reversed[p][j] * xp[m+j]
				}
				hi = max(hi, math.Abs(y))
			}
			for _, j := range []int{m - 6, m - 5} {
				if j >= 0 && j < len(x) {
					direct[j] = max(direct[j], hi)
				}
			}
		}
		for i := range direct {
			if math.Abs(env[i]-direct[i]) > 1e-12 {
				t.Fatalf("rate %d sample %d: envelope %g, want %g", rate, i, env[i], direct[i])
			}
		}
	}
}
