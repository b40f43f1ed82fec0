// Package loudness measures mono audio as ITU-R BS.1770-4 does, and finds
// the one gain that brings a whole clip to a loudness target under a
// true-peak ceiling. It is pure Go: the engine levels every job with it, and
// tests check it against known signals (and the engine's output against
// ffmpeg's ebur128 filter, an independent implementation).
//
// Loudness. The signal is K-weighted (a high shelf of about +4 dB above
// 1.5 kHz, then a high pass at 38 Hz; the coefficients are derived from
// the analog prototype for the clip's own sample rate, which reproduces the
// standard's 48 kHz table), cut into 400 ms blocks that overlap by 75 %
// (a block every 100 ms), and each block's mean square z gives its loudness
// −0.691 + 10·log10(z) LUFS. Integrated loudness averages z over the blocks
// above the absolute gate (−70 LUFS), then again over the blocks above
// both that gate and the relative gate (10 LU below the first average). A
// clip shorter than one block has none: its loudness is the momentary
// loudness of what there is, the mean square of the whole K-weighted clip.
//
// True peak. The signal is oversampled 4× with the interpolating filter of
// BS.1770-4 Annex 2 (48 taps, 4 phases of 12) and the largest magnitude of
// the interpolated and the original samples is the true peak (dBTP =
// 20·log10 of it).
package loudness

import (
	"math"
)

// Defaults the engine levels every job to (EBU R128 S1 for streaming
// speech; −1.5 dBTP leaves room for the overshoot of lossy encoders).
const (
	TargetLUFS  = -16.0
	CeilingDBTP = -1.5
)

// Gating and block constants of BS.1770-4.
const (
	blockSeconds = 0.4
	stepSeconds  = 0.1 // 75 % overlap
	absoluteGate = -70.0
	relativeGate = -10.0
)

// Silence is the loudness of a clip with no energy at all.
var Silence = math.Inf(-1)

// Measurement is what Measure found in a clip.
type Measurement struct {
	// Integrated is the gated loudness in LUFS (momentary loudness for a
	// clip shorter than one block; Silence when there is nothing above
	// the absolute gate).
	Integrated float64
	// TruePeak is the 4× oversampled peak magnitude (linear, 1 = full scale).
	TruePeak float64
	// blocks are the mean squares of the K-weighted 400 ms blocks; short
	// holds the whole clip's when it has no full block.
	blocks []float64
	short  bool
}

// TruePeakDBTP is the true peak in dB relative to full scale.
func (m Measurement) TruePeakDBTP() float64 { return toDB(m.TruePeak) }

// Measure measures mono samples at rate (Hz). NaN samples count as 0.
func Measure(x []float32, rate int) Measurement {
	m := measureLoudness(x, rate)
	m.TruePeak = TruePeak(x)
	return m
}

// measureLoudness is Measure without the true peak.
func measureLoudness(x []float32, rate int) Measurement {
	var m Measurement
	block := int(math.Round(blockSeconds * float64(rate)))
	step := int(math.Round(stepSeconds * float64(rate)))
	switch {
	case len(x) < block || block == 0:
		m.short = true
		m.blocks = []float64{meanSquare(kWeight(x, rate))}
	case block == 4*step:
		// Each block is four steps: sum the squares once per step.
		steps := kWeightedSquareSums(x, rate, step)
		for i := 0; i+4 <= len(steps); i++ {
			m.blocks = append(m.blocks, (steps[i]+steps[i+1]+steps[i+2]+steps[i+3])/float64(block))
		}
	default:
		k := kWeight(x, rate)
		for start := 0; start+block <= len(k); start += step {
			m.blocks = append(m.blocks, meanSquare(k[start:start+block]))
		}
	}
	m.Integrated = m.loudnessAt(1)
	return m
}

// Scaled is the measurement of the clip multiplied by gain g.
func (m Measurement) Scaled(g float64) Measurement {
	out := m
	out.blocks = make([]float64, len(m.blocks))
	for i, z := range m.blocks {
		out.blocks[i] = g * g * z
	}
	out.TruePeak = m.TruePeak * g
	out.Integrated = out.loudnessAt(1)
	return out
}

// loudnessAt is the integrated loudness the clip would have at gain g:
// the gates are applied to the scaled blocks, so a gain that lifts quiet
// blocks over the absolute gate is accounted for exactly.
func (m Measurement) loudnessAt(g float64) float64 {
	g2 := g * g
	if m.short {
		return blockLoudness(g2 * m.blocks[0])
	}
	var sum float64
	var n int
	for _, z := range m.blocks {
		if blockLoudness(g2*z) > absoluteGate {
			sum += g2 * z
			n++
		}
	}
	if n == 0 {
		return Silence
	}
	rel := blockLoudness(sum/float64(n)) + relativeGate
	sum, n = 0, 0
	for _, z := range m.blocks {
		if l := blockLoudness(g2 * z); l > absoluteGate && l > rel {
			sum += g2 * z
			n++
		}
	}
	return blockLoudness(sum / float64(n))
}

// Gain is the one linear gain for a clip: the gain that brings its
// integrated loudness to target LUFS, lowered when needed so that its true
// peak stays at or below ceiling dBTP (pass +Inf for no ceiling; Level
// holds the ceiling with a limiter instead). maxGain bounds it, so that a
// near-silent clip is not amplified into noise; a clip with nothing above
// the absolute gate even at maxGain is silence, and gets 1.
func (m Measurement) Gain(target, ceiling, maxGain float64) float64 {
	g, l := 1.0, m.Integrated
	if math.IsInf(l, -1) {
		if l = m.loudnessAt(maxGain); math.IsInf(l, -1) {
			return 1
		}
		g = maxGain
	}
	// The gates make loudness at gain g differ from Integrated+dB(g) only
	// when g lifts blocks over the absolute gate: a few fixed-point steps
	// settle it.
	g *= fromDB(target - l)
	for range 4 {
		l := m.loudnessAt(g)
		if math.IsInf(l, -1) || math.Abs(l-target) < 1e-3 {
			break
		}
		g *= fromDB(target - l)
	}
	if m.TruePeak > 0 && !math.IsInf(ceiling, 1) {
		g = min(g, fromDB(ceiling)/m.TruePeak)
	}
	return min(g, maxGain)
}

func blockLoudness(z float64) float64 {
	if z <= 0 {
		return Silence
	}
	return -0.691 + 10*math.Log10(z)
}

func meanSquare(x []float64) float64 {
	if len(x) == 0 {
		return 0
	}
	var s float64
	for _, v := range x {
		s += v * v
	}
	return s / float64(len(x))
}

func toDB(v float64) float64 {
	if v <= 0 {
		return math.Inf(-1)
	}
	return 20 * math.Log10(v)
}

func fromDB(db float64) float64 { return math.Pow(10, db/20) }

// biquad is one second-order section (a0 normalised to 1).
type biquad struct{ b0, b1, b2, a1, a2 float64 }

// kFilters returns the two stages of the K-weighting filter for rate,
// from the analog prototype of BS.1770 (as libebur128 derives them): at
// 48 kHz they are the standard's table.
func kFilters(rate int) (shelf, highPass biquad) {
	fs := float64(rate)
	{
		const f0, gainDB, q = 1681.974450955533, 3.999843853973347, 0.7071752369554196
		k := math.Tan(math.Pi * f0 / fs)
		vh := math.Pow(10, gainDB/20)
		vb := math.Pow(vh, 0.4996667741545416)
		a0 := 1 + k/q + k*k
		shelf = biquad{
			b0: (vh + vb*k/q + k*k) / a0,
			b1: 2 * (k*k - vh) / a0,
			b2: (vh - vb*k/q + k*k) / a0,
			a1: 2 * (k*k - 1) / a0,
			a2: (1 - k/q + k*k) / a0,
		}
	}
	{
		const f0, q = 38.13547087602444, 0.5003270373238773
		k := math.Tan(math.Pi * f0 / fs)
		a0 := 1 + k/q + k*k
		highPass = biquad{b0: 1, b1: -2, b2: 1, a1: 2 * (k*k - 1) / a0, a2: (1 - k/q + k*k) / a0}
	}
	return shelf, highPass
}

// kWeightedSquareSums returns the sums of the squared K-weighted samples
// of x over consecutive spans of step samples (the last partial span is
// left out), without keeping the filtered signal. The filter is kWeight's,
// written out again: as a shared method it is too large to inline, and a
// call per sample with its states in memory measured slower.
func kWeightedSquareSums(x []float32, rate, step int) []float64 {
	sums := make([]float64, len(x)/step)
	s, h := kFilters(rate)
	var s1, s2, h1, h2 float64 // transposed direct form II states
	for j := range sums {
		var sum float64
		for _, v := range x[j*step : (j+1)*step] {
			in := float64(v)
			if in != in {
				in = 0
			}
			y := s.b0*in + s1
			s1 = s.b1*in - s.a1*y + s2
			s2 = s.b2*in - s.a2*y
			z := h.b0*y + h1
			h1 = h.b1*y - h.a1*z + h2
			h2 = h.b2*y - h.a2*z
			sum += z * z
		}
		sums[j] = sum
	}
	return sums
}

// kWeight returns x through the K-weighting filter (NaN read as 0).
func kWeight(x []float32, rate int) []float64 {
	out := make([]float64, len(x))
	if rate <= 0 {
		return out
	}
	s, h := kFilters(rate)
	var s1, s2, h1, h2 float64 // transposed direct form II states
	for i, v := range x {
		in := float64(v)
		if in != in {
			in = 0
		}
		y := s.b0*in + s1
		s1 = s.b1*in - s.a1*y + s2
		s2 = s.b2*in - s.a2*y
		z := h.b0*y + h1
		h1 = h.b1*y - h.a1*z + h2
		h2 = h.b2*y - h.a2*z
		out[i] = z
	}
	return out
}

// interpolator is the 4× oversampling filter of BS.1770-4 Annex 2, one row
// of 12 taps per phase (phases 2 and 3 are 1 and 0 reversed).
var interpolator = [4][12]float64{
	{0.0017089843750, 0.0109863281250, -0.0196533203125, 0.0332031250000, -0.0594482421875, 0.1373291015625,
		0.9721679687500, -0.1022949218750, 0.0476074218750, -0.0266113281250, 0.0148925781250, -0.0083007812500},
	{-0.0291748046875, 0.0292968750000, -0.0517578125000, 0.0891113281250, -0.1665039062500, 0.4650878906250,
		0.7797851562500, -0.2003173828125, 0.1015625000000, -0.0582275390625, 0.0330810546875, -0.0189208984375},
	{-0.0189208984375, 0.0330810546875, -0.0582275390625, 0.1015625000000, -0.2003173828125, 0.7797851562500,
		0.4650878906250, -0.1665039062500, 0.0891113281250, -0.0517578125000, 0.0292968750000, -0.0291748046875},
	{-0.0083007812500, 0.0148925781250, -0.0266113281250, 0.0476074218750, -0.1022949218750, 0.9721679687500,
		0.1373291015625, -0.0594482421875, 0.0332031250000, -0.0196533203125, 0.0109863281250, 0.0017089843750},
}

// reversed holds the interpolator's phases tap-reversed, so that a phase
// is a dot product with the window of samples in time order.
var reversed = func() (r [4][12]float64) {
	for p := range interpolator {
		for k, h := range interpolator[p] {
			r[p][len(interpolator[p])-1-k] = h
		}
	}
	return r
}()

// pairs holds, for phases 0 and 1 of reversed, the half sums and half
// differences of taps j and 11−j (peakEnvelope).
var pairs = func() (p [2]struct{ even, odd [6]float64 }) {
	for ph := range p {
		r := reversed[ph]
		for j := range 6 {
			p[ph].even[j] = (r[j] + r[11-j]) / 2
			p[ph].odd[j] = (r[j] - r[11-j]) / 2
		}
	}
	return p
}()

// TruePeak returns the largest magnitude of x oversampled 4× (Annex 2 of
// BS.1770-4), and of x itself, as a linear value (NaN read as 0). The
// signal is taken as silent before its start and after its end, so the
// filter's tail past the last sample is measured too.
func TruePeak(x []float32) float64 {
	var peak float64
	for _, v := range peakEnvelope(x) {
		peak = max(peak, v)
	}
	return peak
}

// peakEnvelope returns, for every sample j, the largest magnitude of x[j]
// and of the 4× interpolated values on either side of it (between j−1 and
// j, and between j and j+1). Its maximum is the true peak.
//
// The interpolator is a 48-tap filter h split into 4 phases, h_p[k] =
// h[4k+p]; y_p[n] = Σ_k h_p[k]·x[n−k] lies at n − 5.875 + p/4 input
// samples (the filter's centre is tap 23.5), that is between samples n−6
// and n−5.
func peakEnvelope(x []float32) []float64 {
	const taps = 12
	n := len(x)
	env := make([]float64, n)
	if n == 0 {
		return env
	}
	// xp[i+taps-1] = x[i], zeros around: x[m−k] = xp[m−k+taps−1].
	xp := make([]float64, n+2*(taps-1))
	for i, v := range x {
		f := float64(v)
		if f != f {
			f = 0
		}
		xp[i+taps-1] = f
		env[i] = math.Abs(f)
	}
	for m := 0; m < n+taps-1; m++ {
		w := (*[taps]float64)(xp[m : m+taps]) // w[j] = x[m−(taps−1−j)]
		// Phases 3 and 2 are 0 and 1 reversed, so with s = w[j]+w[11−j]
		// and t = w[j]−w[11−j] over half the window, max(|y0|, |y3|) =
		// |Σ even·s| + |Σ odd·t| (max(|u+v|, |u−v|) = |u|+|v|), and
		// likewise for phases 1 and 2: half the products.
		var e0, o0, e1, o1 float64
		for j := range taps / 2 {
			sj, tj := w[j]+w[taps-1-j], w[j]-w[taps-1-j]
			e0 += pairs[0].even[j] * sj
			o0 += pairs[0].odd[j] * tj
			e1 += pairs[1].even[j] * sj
			o1 += pairs[1].odd[j] * tj
		}
		hi := max(math.Abs(e0)+math.Abs(o0), math.Abs(e1)+math.Abs(o1))
		// Between samples m−6 and m−5.
		if j := m - 6; j >= 0 && j < n {
			env[j] = max(env[j], hi)
		}
		if j := m - 5; j >= 0 && j < n {
			env[j] = max(env[j], hi)
		}
	}
	return env
}
