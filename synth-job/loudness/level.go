package loudness

import "math"

// Limiter timing: the gain starts to fall this long before a peak above
// the ceiling (the look-ahead), and recovers towards unity with this time
// constant after it.
const (
	LimiterAttack  = 0.003 // seconds
	LimiterRelease = 0.03  // seconds
)

// Headroom (dB) the limiter keeps under the ceiling. The 4× interpolation
// of Annex 2 at the voices' 16–24 kHz reads inter-sample peaks up to about
// 0.1 dB lower than a meter running at 192 kHz (ffmpeg's ebur128 filter
// resamples to 48 kHz and oversamples that 4×), and a limited clip's
// peaks all sit at the ceiling.
const Headroom = 0.1

// Levelled is what Level did to a clip.
type Levelled struct {
	// Gain is the one linear gain applied to the whole clip.
	Gain float64
	// Reduction is how far the limiter lowered the highest peak, in dB
	// (0 when the clip's peaks were under the ceiling at Gain).
	Reduction float64
	// Measurement is the clip's, after levelling.
	Measurement
}

// Level brings x, in place, to target LUFS with one gain for the whole
// clip, and keeps its true peak at or under ceiling dBTP (with Headroom).
//
// When the gain that reaches the target would put peaks over the ceiling,
// a look-ahead limiter lowers just those peaks: its gain falls over
// LimiterAttack before each one (so no sample ever exceeds the ceiling)
// and recovers with LimiterRelease after it; everything else keeps the
// clip's one gain. Limiting takes some loudness away, so the gain is
// raised until the limited clip reads the target (secant steps). The
// ceiling always wins: the limiter never lets a peak through, and should
// the gain reach maxGain the clip simply stays quieter than the target.
// maxGain bounds the gain so that near-silence is not amplified into
// noise; a silent clip is left as it is.
func Level(x []float32, rate int, target, ceiling, maxGain float64) Levelled {
	env := peakEnvelope(x)
	m := measureLoudness(x, rate)
	for _, e := range env {
		m.TruePeak = max(m.TruePeak, e)
	}
	g := m.Gain(target, math.Inf(1), maxGain)
	ceil := fromDB(ceiling - Headroom)
	if m.TruePeak*g <= ceil {
		scale(x, x, g)
		return Levelled{Gain: g, Measurement: m.Scaled(g)}
	}
	// The envelope of the clip before gain scales with it; the limiter
	// aims a little under the ceiling, the interpolated values between
	// samples moving slightly when the gain around them does.
	orig := append([]float32(nil), x...)
	limit := ceil * 0.998
	var out Levelled
	var sc limiterScratch
	for range 3 {
		// Find the gain whose limited clip reads the target: the limiter
		// takes loudness away as the gain grows, so the loudness is a
		// flatter function of the gain than without it. Secant steps on
		// the gain in dB, from the unlimited estimate.
		try := func(g float64) (Levelled, []float64) {
			red := sc.gain(env, g, limit, rate)
			deepest := 1.0
			for i, v := range orig {
				x[i] = float32(float64(v) * g * red[i])
				deepest = min(deepest, red[i])
			}
			return Levelled{Gain: g, Reduction: -toDB(deepest), Measurement: measureLoudness(x, rate)}, red
		}
		lo := toDB(g)
		out, _ = try(g)
		errLo := out.Integrated - target
		hi := min(lo+max(-errLo, 0.5), toDB(maxGain))
		for step := 0; step < 8 && math.Abs(out.Integrated-target) > 0.02 && hi != lo; step++ {
			out, _ = try(fromDB(hi))
			errHi := out.Integrated - target
			if errHi == errLo || math.IsInf(errHi, 0) {
				break
			}
			next := hi - errHi*(hi-lo)/(errHi-errLo)
			lo, errLo = hi, errHi
			hi = min(max(next, toDB(g)-12), toDB(maxGain))
		}
		if math.Abs(out.Integrated-target) > 0.02 && hi != lo {
			out, _ = try(fromDB(hi))
		}
		out.TruePeak = TruePeak(x)
		if out.TruePeak <= ceil {
			return out
		}
		limit *= ceil / out.TruePeak * 0.998
	}
	// Never reached in practice: a uniform trim has the last word.
	t := ceil / out.TruePeak
	scale(x, x, t)
	out.Measurement = out.Measurement.Scaled(t)
	return out
}

func scale(dst, src []float32, g float64) {
	for i, v := range src {
		dst[i] = float32(float64(v) * g)
	}
}

// limiterGain returns the limiter's gain per sample for a clip whose peak
// envelope is env times g, so that env·g·gain ≤ limit everywhere.
//
// need[n] is the gain sample n needs (≤ 1). The look-ahead minimum
// m[n] = min(need[n … n+L−1]), with an exponential recovery towards 1
// (the release) that never rises above it, averaged over the last L
// values, is at most need[n] at every n (each of the L windows averaged
// contains n) and changes smoothly: it falls linearly over the L samples
// before a peak.
func limiterGain(env []float64, g, limit float64, rate int) []float64 {
	var sc limiterScratch
	return sc.gain(env, g, limit, rate)
}

// limiterScratch keeps limiterGain's buffers between the secant steps of
// one Level call.
type limiterScratch struct {
	need, m, out []float64
	dq           []int
}

func grow[T any](b []T, n int) []T {
	if cap(b) < n {
		return make([]T, n)
	}
	return b[:n]
}

// gain is limiterGain; the slice it returns is reused by the next call.
func (sc *limiterScratch) gain(env []float64, g, limit float64, rate int) []float64 {
	n := len(env)
	need := grow(sc.need, n)
	sc.need = need
	for i, e := range env {
		need[i] = 1
		if e*g > limit {
			need[i] = limit / (e * g)
		}
	}
	l := max(1, int(math.Round(LimiterAttack*float64(rate))))
	// Look-ahead minimum over [i, i+l−1], with a monotone deque: dq[head:]
	// holds indices of increasing need, the front the window's minimum.
	m := grow(sc.m, n)
	sc.m = m
	dq := grow(sc.dq, n)
	sc.dq = dq
	head, tail := 0, 0
	for i := n - 1; i >= 0; i-- {
		for tail > head && need[dq[tail-1]] >= need[i] {
			tail--
		}
		dq[tail] = i
		tail++
		if dq[head] > i+l-1 {
			head++
		}
		m[i] = need[dq[head]]
	}
	// Release: recover towards 1, never above m.
	rel := math.Exp(-1 / (LimiterRelease * float64(rate)))
	prev := 1.0
	for i := range m {
		prev = min(m[i], 1-(1-prev)*rel)
		m[i] = prev
	}
	// Average over the last l values. Before the start, the minimum need
	// of the first l samples stands in: a peak right at the start is held
	// too.
	start := 1.0
	for _, v := range need[:min(l, n)] {
		start = min(start, v)
	}
	out := grow(sc.out, n)
	sc.out = out
	sum := float64(l) * start
	for i := range m {
		sum += m[i]
		if i >= l {
			sum -= m[i-l]
		} else {
			sum -= start
		}
		out[i] = min(1, sum/float64(l))
	}
	return out
}
