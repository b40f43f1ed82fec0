package demovoice

import (
	"math"
	"math/cmplx"
	"math/rand/v2"
	"testing"
)

// MFCCs for comparing the demo voice with espeak-ng (speech_test.go):
// pre-emphasis 0.97, 25 ms Hamming frames every 10 ms, power spectrum by
// FFT, 26 triangular mel filters from 0 Hz to Nyquist, log, DCT-II
// (orthonormal), 13 coefficients.
const (
	mfccFilters = 26
	mfccCoeffs  = 13
	preEmphasis = 0.97
)

func hzToMel(f float64) float64 { return 2595 * math.Log10(1+f/700) }
func melToHz(m float64) float64 { return 700 * (math.Pow(10, m/2595) - 1) }

// fft returns the discrete Fourier transform of x (len a power of two).
func fft(x []complex128) []complex128 {
	n := len(x)
	if n == 1 {
		return []complex128{x[0]}
	}
	even, odd := make([]complex128, n/2), make([]complex128, n/2)
	for i := range n / 2 {
		even[i], odd[i] = x[2*i], x[2*i+1]
	}
	e, o := fft(even), fft(odd)
	out := make([]complex128, n)
	for k := range n / 2 {
		t := cmplx.Exp(complex(0, -2*math.Pi*float64(k)/float64(n))) * o[k]
		out[k], out[k+n/2] = e[k]+t, e[k]-t
	}
	return out
}

// melFilterbank returns the filters' weights over the bins 0 … nfft/2.
func melFilterbank(rate, nfft int) [][]float64 {
	lo, hi := hzToMel(0), hzToMel(float64(rate)/2)
	edges := make([]float64, mfccFilters+2) // in (fractional) FFT bins
	for i := range edges {
		edges[i] = melToHz(lo+(hi-lo)*float64(i)/float64(mfccFilters+1)) * float64(nfft) / float64(rate)
	}
	bank := make([][]float64, mfccFilters)
	for m := range bank {
		bank[m] = make([]float64, nfft/2+1)
		l, c, r := edges[m], edges[m+1], edges[m+2]
		for k := range bank[m] {
			f := float64(k)
			switch {
			case f > l && f <= c:
				bank[m][k] = (f - l) / (c - l)
			case f > c && f < r:
				bank[m][k] = (r - f) / (r - c)
			}
		}
	}
	return bank
}

// dct2 is the orthonormal DCT-II of x, first n coefficients.
func dct2(x []float64, n int) []float64 {
	out := make([]float64, n)
	N := float64(len(x))
	for k := range out {
		var s float64
		for i, v := range x {
			s += v * math.Cos(math.Pi*float64(k)*(float64(i)+0.5)/N)
		}
		scale := math.Sqrt(2 / N)
		if k == 0 {
			scale = math.Sqrt(1 / N)
		}
		out[k] = s * scale
	}
	return out
}

// mfcc returns one 13-coefficient vector per 10 ms frame of x.
func mfcc(x []float32, rate int) [][]float64 {
	frameLen := int(math.Round(0.025 * float64(rate)))
	hop := int(math.Round(0.010 * float64(rate)))
	nfft := 1
	for nfft < frameLen {
		nfft *= 2
	}
	emph := make([]float64, len(x))
	for i := range x {
		emph[i] = float64(x[i])
		if i > 0 {
			emph[i] -= preEmphasis * float64(x[i-1])
		}
	}
	bank := melFilterbank(rate, nfft)
	var out [][]float64
	for _, logMel := range logMelFrames(emph, frameLen, hop, nfft, bank) {
		out = append(out, dct2(logMel, mfccCoeffs))
	}
	return out
}

// logMelFrames returns the log mel energies of Hamming-windowed frames.
func logMelFrames(emph []float64, frameLen, hop, nfft int, bank [][]float64) [][]float64 {
	hamming := make([]float64, frameLen)
	for i := range hamming {
		hamming[i] = 0.54 - 0.46*math.Cos(2*math.Pi*float64(i)/float64(frameLen-1))
	}
	var out [][]float64
	for start := 0; start+frameLen <= len(emph); start += hop {
		buf := make([]complex128, nfft)
		for i := range frameLen {
			buf[i] = complex(emph[start+i]*hamming[i], 0)
		}
		spec := fft(buf)
		logMel := make([]float64, mfccFilters)
		for m, w := range bank {
			var e float64
			for k, wk := range w {
				if wk != 0 {
					p := real(spec[k])*real(spec[k]) + imag(spec[k])*imag(spec[k])
					e += wk * p / float64(nfft)
				}
			}
			logMel[m] = math.Log(e + 1e-10)
		}
		out = append(out, logMel)
	}
	return out
}

// dtw returns the dynamic-time-warping distance between two sequences of
// vectors (Euclidean frame distance; steps (1,0), (0,1), (1,1)), divided by
// the length of the best path.
func dtw(a, b [][]float64) float64 {
	n, m := len(a), len(b)
	inf := math.Inf(1)
	cost := make([][]float64, n+1)
	steps := make([][]int, n+1)
	for i := range cost {
		cost[i] = make([]float64, m+1)
		steps[i] = make([]int, m+1)
		for j := range cost[i] {
			cost[i][j] = inf
		}
	}
	cost[0][0] = 0
	for i := 1; i <= n; i++ {
		for j := 1; j <= m; j++ {
			var d float64
			for k := range a[i-1] {
				e := a[i-1][k] - b[j-1][k]
				d += e * e
			}
			d = math.Sqrt(d)
			best, bi, bj := cost[i-1][j-1], i-1, j-1
			if cost[i-1][j] < best {
				best, bi, bj = cost[i-1][j], i-1, j
			}
			if cost[i][j-1] < best {
				best, bi, bj = cost[i][j-1], i, j-1
			}
			cost[i][j] = best + d
			steps[i][j] = steps[bi][bj] + 1
		}
	}
	return cost[n][m] / float64(steps[n][m])
}

func TestMelScale(t *testing.T) {
	// 2595·log10(1 + 1000/700) = 999.985…: 1 kHz is about 1000 mel.
	if m := hzToMel(1000); math.Abs(m-999.985) > 0.01 {
		t.Errorf("hzToMel(1000) = %v", m)
	}
	if f := melToHz(hzToMel(4321)); math.Abs(f-4321) > 1e-6 {
		t.Errorf("melToHz(hzToMel(4321)) = %v", f)
	}
}

func TestFFTMatchesDFT(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	x := make([]complex128, 16)
	for i := range x {
		x[i] = complex(r.Float64()-0.5, 0)
	}
	got := fft(x)
	for k := range x {
		var want complex128
		for n := range x {
			want += x[n] * cmplx.Exp(complex(0, -2*math.Pi*float64(k*n)/16))
		}
		if cmplx.Abs(got[k]-want) > 1e-9 {
			t.Fatalf("bin %d: fft %v, DFT %v", k, got[k], want)
		}
	}
	// A cosine of 3 cycles in 8 samples: all energy in bins 3 and 5, each N/2.
	c := make([]complex128, 8)
	for i := range c {
		c[i] = complex(math.Cos(2*math.Pi*3*float64(i)/8), 0)
	}
	for k, v := range fft(c) {
		want := 0.0
		if k == 3 || k == 5 {
			want = 4
		}
		if math.Abs(cmplx.Abs(v)-want) > 1e-9 {
			t.Errorf("cosine bin %d = %v, want %v", k, cmplx.Abs(v), want)
		}
	}
}

func TestDCT2(t *testing.T) {
	// A constant c over N filters has only c0 = c·√N (orthonormal).
	x := make([]float64, mfccFilters)
	for i := range x {
		x[i] = 2
	}
	d := dct2(x, mfccCoeffs)
	if math.Abs(d[0]-2*math.Sqrt(mfccFilters)) > 1e-9 {
		t.Errorf("c0 = %v, want %v", d[0], 2*math.Sqrt(mfccFilters))
	}
	for k := 1; k < mfccCoeffs; k++ {
		if math.Abs(d[k]) > 1e-9 {
			t.Errorf("c%d = %v, want 0", k, d[k])
		}
	}
	// [1, −1] → c1 = √(2/2)·(cos(π/4) − cos(3π/4)) = √2.
	if d := dct2([]float64{1, -1}, 2); math.Abs(d[0]) > 1e-12 || math.Abs(d[1]-math.Sqrt2) > 1e-12 {
		t.Errorf("dct2([1 -1]) = %v, want [0 √2]", d)
	}
}

func TestMelFilterbank(t *testing.T) {
	bank := melFilterbank(22050, 1024)
	// Edges are 3176.3/27 = 117.64 mel apart (hzToMel(11025) = 3176.3).
	// Filter 0 rises from 0 Hz to 117.64 mel = 77.0 Hz (bin 3.58) and
	// falls to 235.3 mel = 162.5 Hz (bin 7.55): bins 1…7, peak 0.894 at 4.
	for k, v := range bank[0] {
		want := 0.0
		switch f := float64(k); {
		case k >= 1 && k <= 3:
			want = f / 3.576
		case k >= 4 && k <= 7:
			want = (7.547 - f) / (7.547 - 3.576)
		}
		if math.Abs(v-want) > 0.005 {
			t.Errorf("filter 0 bin %d = %v, want %v", k, v, want)
		}
	}
	// Between the first and the last centre, neighbouring triangles sum to 1.
	for k := 4; k <= 458; k++ { // last centre: bin 458.03
		var s float64
		for _, w := range bank {
			s += w[k]
		}
		if math.Abs(s-1) > 1e-9 {
			t.Fatalf("bin %d: filters sum to %v", k, s)
		}
	}
}

func TestMFCCOfSine(t *testing.T) {
	const rate = 22050
	// 1091.03 Hz is the centre of mel filter 8 (9 × 117.64 mel).
	x := make([]float32, rate) // 1 s
	for i := range x {
		x[i] = float32(0.5 * math.Sin(2*math.Pi*1091.03*float64(i)/rate))
	}
	c := mfcc(x, rate)
	// 25 ms = 551 samples, 10 ms = 220: 1 + (22050−551)/220 = 98 frames.
	if len(c) != 98 || len(c[0]) != mfccCoeffs {
		t.Fatalf("%d frames of %d coefficients, want 98 of 13", len(c), len(c[0]))
	}
	emph := make([]float64, len(x))
	for i := range x {
		emph[i] = float64(x[i])
		if i > 0 {
			emph[i] -= preEmphasis * float64(x[i-1])
		}
	}
	for i, lm := range logMelFrames(emph, 551, 220, 1024, melFilterbank(rate, 1024)) {
		best := 0
		for m := range lm {
			if lm[m] > lm[best] {
				best = m
			}
		}
		if best != 8 {
			t.Fatalf("frame %d: loudest mel filter %d, want 8", i, best)
		}
	}
	// The cepstrum is the DCT of those log energies: c0 = their sum / √26.
	lm := logMelFrames(emph, 551, 220, 1024, melFilterbank(rate, 1024))[0]
	var sum float64
	for _, v := range lm {
		sum += v
	}
	if math.Abs(c[0][0]-sum/math.Sqrt(mfccFilters)) > 1e-9 {
		t.Errorf("c0 = %v, want %v", c[0][0], sum/math.Sqrt(mfccFilters))
	}
	// Same sound, different lengths: DTW distance about 0.
	if d := dtw(c[:50], c[:80]); d > 1 {
		t.Errorf("dtw of a steady tone against itself = %v", d)
	}
}

func TestDTW(t *testing.T) {
	v := func(xs ...float64) [][]float64 {
		out := make([][]float64, len(xs))
		for i, x := range xs {
			out[i] = []float64{x}
		}
		return out
	}
	if d := dtw(v(1, 2, 3), v(1, 2, 3)); d != 0 {
		t.Errorf("identical: %v", d)
	}
	// [1 2 3] against [1 1 2 3 3]: repeats cost nothing.
	if d := dtw(v(1, 2, 3), v(1, 1, 2, 3, 3)); d != 0 {
		t.Errorf("warped copy: %v", d)
	}
	// [0 0] against [1]: path (1,1),(2,1), cost 1+1 over 2 steps.
	if d := dtw(v(0, 0), v(1)); d != 1 {
		t.Errorf("[0 0] vs [1] = %v, want 1", d)
	}
	// [0 4] against [0 1 4]: best path (1,1)(1,2)(2,3) or (1,1)(2,2)(2,3):
	// costs 0+1+0 or 0+3+0 → 1 over 3 steps.
	if d := dtw(v(0, 4), v(0, 1, 4)); math.Abs(d-1.0/3) > 1e-12 {
		t.Errorf("[0 4] vs [0 1 4] = %v, want 1/3", d)
	}
}
