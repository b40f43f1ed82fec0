package loudness

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestLevel(t *testing.T) {
	const rate = 22050
	ceiling := math.Pow(10, CeilingDBTP/20)
	// A tone with a few sharp spikes: a peak-to-loudness ratio of ~25 dB,
	// far more than the 14.5 dB between −16 LUFS and −1.5 dBTP.
	spiky := tone(rate, 300, 0.05, 4)
	for _, at := range []int{rate / 2, 2 * rate, 3*rate + 77} {
		for k := range 20 {
			spiky[at+k] += float32(0.8 * math.Sin(math.Pi*float64(k)/20))
		}
	}
	for _, tt := range []struct {
		name    string
		x       []float32
		limited bool
	}{
		{"quiet tone: one gain", tone(rate, 440, 0.01, 3), false},
		{"spiky: one gain and the limiter", spiky, true},
		{"peak at the very start", append([]float32{0.9, -0.9}, tone(rate, 440, 0.02, 2)...), true},
		{"short clip", tone(rate, 440, 0.02, 0.3), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			x := append([]float32(nil), tt.x...)
			got := Level(x, rate, TargetLUFS, CeilingDBTP, 1000)
			m := Measure(x, rate)
			if math.Abs(m.Integrated-TargetLUFS) > 0.1 || math.Abs(got.Integrated-m.Integrated) > 1e-6 {
				t.Errorf("%.3f LUFS (reported %.3f), want %.0f", m.Integrated, got.Integrated, TargetLUFS)
			}
			if m.TruePeak > ceiling {
				t.Errorf("true peak %.3f dBTP over the ceiling", m.TruePeakDBTP())
			}
			if (got.Reduction > 0) != tt.limited {
				t.Errorf("limiter reduction %.2f dB, want limiting %v", got.Reduction, tt.limited)
			}
			if !tt.limited {
				for i := range x {
					if want := float32(float64(tt.x[i]) * got.Gain); x[i] != want {
						t.Fatalf("sample %d: %v, want the one gain: %v", i, x[i], want)
					}
				}
			}
		})
	}
}

// The limiter only touches the neighbourhood of the peaks: far from them
// every sample has the clip's one gain.
func TestLimiterLeavesTheRestAlone(t *testing.T) {
	const rate = 22050
	x := tone(rate, 300, 0.05, 4)
	at := 2 * rate
	for k := range 20 {
		x[at+k] += float32(0.8 * math.Sin(math.Pi*float64(k)/20))
	}
	orig := append([]float32(nil), x...)
	got := Level(x, rate, TargetLUFS, CeilingDBTP, 1000)
	if got.Reduction < 3 {
		t.Fatalf("reduction %.2f dB: the spike should have been limited", got.Reduction)
	}
	before := at - int(math.Ceil(LimiterAttack*rate)) - 8 // the look-ahead, and the interpolator's reach
	after := at + 20 + int(8*LimiterRelease*rate)         // recovered to within e^-8
	for i := range x {
		if i >= before && i < after {
			continue
		}
		want := float64(orig[i]) * got.Gain
		if math.Abs(float64(x[i])-want) > 1e-3*math.Abs(want)+1e-6 {
			t.Fatalf("sample %d (%.3f s from the spike): %v, want the one gain: %v", i, float64(i-at)/rate, x[i], want)
		}
	}
}

func TestLimiterGainNeverExceedsWhatIsNeeded(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	env := make([]float64, 5000)
	for i := range env {
		env[i] = rng.Float64() * 0.3
		if rng.IntN(100) == 0 {
			env[i] = 0.5 + rng.Float64()
		}
	}
	env[0] = 2 // at the very start
	const g, limit = 1.7, 0.84
	red := limiterGain(env, g, limit, 22050)
	for i, e := range env {
		if e*g*red[i] > limit*(1+1e-12) || red[i] > 1 || red[i] <= 0 {
			t.Fatalf("sample %d: envelope %.3f × %.2f × %.4f > %.2f", i, e, g, red[i], limit)
		}
	}
}

func TestLevelBoundsAndSilence(t *testing.T) {
	silent := make([]float32, 1000)
	if got := Level(silent, 22050, TargetLUFS, CeilingDBTP, 100); got.Gain != 1 || got.Reduction != 0 {
		t.Errorf("silence: %+v", got)
	}
	x := tone(22050, 440, 1e-4, 2) // −80 dBFS: +40 dB is not enough
	got := Level(x, 22050, TargetLUFS, CeilingDBTP, 100)
	if got.Gain != 100 || got.Integrated > TargetLUFS-10 {
		t.Errorf("bounded gain: %+v", got)
	}
}

// BenchmarkLevel10s levels 10 s of speech-like bursts at 22.05 kHz that
// need the limiter (the demo voices' case: the costliest path).
func BenchmarkLevel10s(b *testing.B) {
	const rate = 22050
	var x []float32
	for i := range 20 {
		x = append(x, tone(rate, 150+20*float64(i%5), 0.3, 0.3)...)
		x = append(x, make([]float32, rate/5)...)
	}
	for i := 0; i < len(x); i += rate / 10 {
		x[i] = 0.9 // a peak every 100 ms
	}
	buf := make([]float32, len(x))
	for b.Loop() {
		copy(buf, x)
		if got := Level(buf, rate, TargetLUFS, CeilingDBTP, 100); got.Reduction == 0 {
			b.Fatal("not limited")
		}
	}
}
