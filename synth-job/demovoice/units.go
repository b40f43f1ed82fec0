package demovoice

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os/exec"
	"runtime"
	"slices"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
)

// recipe says how espeak-ng renders the unit of one symbol: the phoneme
// mnemonic given to espeak-ng as [[mnemonic]], and the part of the sounding
// region that belongs to the symbol (from, to as fractions; 0, 1 = all of
// it). A part is for symbols that espeak-ng only has inside a larger
// phoneme: "a" is the start of "aɪ", "ɕ" the end of "tɕ". An empty
// mnemonic is a silence that takes the symbol's time.
type recipe struct {
	mnemonic string
	from, to float64
}

func whole(m string) recipe { return recipe{m, 0, 1} }

// language is how to render the units of one espeak-ng language: the
// recipes of the symbols espeak-ng produces for it (the IPA code points of
// `espeak-ng --ipa`, which the engine maps through phoneme_id_map; symbols
// without a recipe are silent and take no time), and the vowel that
// follows each consonant when it is rendered (espeak-ng says a consonant
// alone badly or not at all, so a consonant C is cut from [[C vowel]]: it
// is what that rendering has more than [[vowel]] alone, at its start).
type language struct {
	vowel   string
	recipes map[rune]recipe
}

var languages = map[string]language{
	"en-us": {vowel: "@", recipes: map[rune]recipe{
		'i': whole("i"), 'ɪ': whole("I;"), 'ᵻ': whole("I#"), 'u': whole("u"), 'ʊ': whole("U"),
		'e': whole("e"), 'o': whole("o"), 'ə': whole("@"), 'ɚ': whole("3"), 'ɛ': whole("E"),
		'ɜ': whole("3:"), 'ʌ': whole("V"), 'ɔ': whole("O"), 'æ': whole("a"), 'ɐ': whole("a#"),
		'a': {"aI", 0, 0.45}, 'ɑ': whole("A:"),
		'm': whole("m"), 'n': whole("n"), 'ŋ': whole("N"), 'l': whole("l"), 'ɹ': whole("r-"),
		'w': whole("w"), 'j': whole("j"), 'ɾ': whole("d"),
		'f': whole("f"), 'v': whole("v"), 's': whole("s"), 'z': whole("z"), 'ʃ': whole("S"),
		'ʒ': whole("Z"), 'θ': whole("T"), 'ð': whole("D"), 'h': whole("h"),
		'p': whole("p"), 'b': whole("b"), 't': whole("t"), 'd': whole("d"), 'k': whole("k"),
		'ɡ': whole("g"), 'ʔ': {}, // a glottal stop is a short silence
	}},
	"ko": {vowel: "a", recipes: map[rune]recipe{
		'ɐ': whole("a"), 'ʌ': whole("@"), 'ɯ': whole("u-"), 'o': whole("o"), 'u': whole("u"),
		'i': whole("i"), 'e': whole("e"), 'ɛ': whole("E"),
		'n': whole("n"), 'm': whole("m"), 'ŋ': whole("N"), 'ɫ': whole("L"), 'l': whole("l"),
		'ɾ': whole("*"), 'j': whole("j"), 'w': whole("w"),
		's': whole("s"), 'h': whole("h"), 'ʃ': whole("S"), 'ç': whole("C"),
		'ɕ': {"tS;", 0.45, 1}, 'ʑ': {"dZ;", 0.45, 1},
		'p': whole("p"), 't': whole("t"), 'k': whole("k"), 'q': whole("q"), 'b': whole("b"),
		'd': whole("d"), 'ɡ': whole("g"),
	}},
}

// Hop is the grain hop of the model's overlap-add, in output samples: every
// Hop samples a new grain (2·Hop long, Hann-windowed) is taken from the unit
// of the phoneme sounding at that moment.
const Hop = 256

// unit is one symbol's waveform as one speaker says it, and how the model
// maps a position o ∈ [0, d) inside the symbol's d output samples to a
// position in buf (the grain centre):
//
//	src = alpha + beta·d + o·(gamma + delta/d), clamped to [Hop, len(buf)−Hop]
//
// Stretched units (vowels, sonorants, fricatives) map their steady part
// [alpha, alpha+delta) onto the whole duration (beta = gamma = 0); stops
// play at their own speed, right-aligned, after a silent closure (beta =
// −1, gamma = 1, delta = 0). period, when the unit is voiced, is its pitch
// period in samples: the model moves each grain's source by whole periods
// so that overlapping grains stay in phase.
type unit struct {
	buf                       []float32
	alpha, beta, gamma, delta float32
	period                    float32
}

// silentUnit is what symbols without a sound play: zeros.
func silentUnit() unit {
	return unit{buf: make([]float32, 2*Hop+1), alpha: Hop}
}

// espeakRate is the rate espeak-ng synthesises at (its formant synthesiser
// always runs at 22050 Hz, the demo voices' rate).
const espeakRate = SampleRate

// render synthesises [[mnemonic]] with espeak-ng's command-line program.
// A separate process keeps espeak-ng's process-global state (voice,
// buffers) away from the engine's own phonemiser in the same process.
func render(ctx context.Context, bin, voice, mnemonic string) ([]float32, error) {
	cmd := exec.CommandContext(ctx, bin, "-v", voice, "--stdout", "[["+mnemonic+"]]")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("espeak-ng -v %s [[%s]]: %v: %s", voice, mnemonic, err, bytes.TrimSpace(stderr.Bytes()))
	}
	x, rate, err := decodeWAV(out)
	if err != nil {
		return nil, fmt.Errorf("espeak-ng -v %s [[%s]]: %w", voice, mnemonic, err)
	}
	if rate != espeakRate {
		return nil, fmt.Errorf("espeak-ng -v %s: rate %d Hz, want %d", voice, rate, espeakRate)
	}
	return x, nil
}

// decodeWAV reads the 16-bit mono PCM WAV that espeak-ng writes. When it
// writes to a pipe its sizes are placeholders, so the data chunk runs to
// the end of the input.
func decodeWAV(b []byte) ([]float32, int, error) {
	if len(b) < 12 || string(b[:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return nil, 0, errors.New("not a WAV file")
	}
	rate := 0
	for off := 12; off+8 <= len(b); {
		id, size := string(b[off:off+4]), int(binary.LittleEndian.Uint32(b[off+4:]))
		body := b[off+8:]
		switch id {
		case "fmt ":
			if len(body) < 16 {
				return nil, 0, errors.New("short fmt chunk")
			}
			format, channels := binary.LittleEndian.Uint16(body), binary.LittleEndian.Uint16(body[2:])
			bits := binary.LittleEndian.Uint16(body[14:])
			if format != 1 || channels != 1 || bits != 16 {
				return nil, 0, fmt.Errorf("WAV format %d, %d channels, %d bits; want 16-bit mono PCM", format, channels, bits)
			}
			rate = int(binary.LittleEndian.Uint32(body[4:]))
		case "data":
			if rate == 0 {
				return nil, 0, errors.New("data before fmt")
			}
			n := min(size, len(body)) / 2
			x := make([]float32, n)
			for i := range x {
				x[i] = float32(int16(binary.LittleEndian.Uint16(body[2*i:]))) / 32768
			}
			return x, rate, nil
		}
		off += 8 + size + size%2
	}
	return nil, 0, errors.New("no data chunk")
}

// unitCache keeps the units rendered in this process (they depend only on
// the espeak-ng voice and the language), so building a voice again, as
// tests and the local stack do, does not run espeak-ng again.
var unitCache struct {
	sync.Mutex
	m map[[2]string][]unit
}

// cachedUnits returns renderUnits(voice, languages[lang]), rendering once
// per process. The units are shared: callers must not modify them.
func cachedUnits(voice, lang string) ([]unit, error) {
	key := [2]string{voice, lang}
	unitCache.Lock()
	us, ok := unitCache.m[key]
	unitCache.Unlock()
	if ok {
		return us, nil
	}
	us, err := renderUnits(voice, languages[lang])
	if err != nil {
		return nil, err
	}
	unitCache.Lock()
	if unitCache.m == nil {
		unitCache.m = map[[2]string][]unit{}
	}
	unitCache.m[key] = us
	unitCache.Unlock()
	return us, nil
}

// renderUnits renders the units of every symbol of inventory that has a
// recipe, as espeak-ng voice says them (several espeak-ng processes at once).
func renderUnits(voice string, lang language) ([]unit, error) {
	bin, err := exec.LookPath("espeak-ng")
	if err != nil {
		return nil, fmt.Errorf("the demo voices are rendered with the espeak-ng program (Debian package espeak-ng): %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	vowel, err := render(ctx, bin, voice, lang.vowel)
	if err != nil {
		return nil, err
	}
	vLo, vHi := soundingRegion(vowel)
	if vHi <= vLo {
		return nil, fmt.Errorf("espeak-ng -v %s [[%s]] rendered silence", voice, lang.vowel)
	}
	units := make([]unit, len(inventory))
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(min(max(runtime.NumCPU(), 2), 8))
	for id, s := range inventory {
		rec, ok := lang.recipes[s.r]
		if !ok || !sounds(s.cls) || rec.mnemonic == "" {
			units[id] = silentUnit()
			continue
		}
		g.Go(func() error {
			text, tail := rec.mnemonic, 0
			if s.cls != clsVowel {
				text, tail = rec.mnemonic+lang.vowel, vHi-vLo
			}
			x, err := render(ctx, bin, voice, text)
			if err != nil {
				return err
			}
			u, err := cut(x, tail, s.cls, rec)
			if err != nil {
				return fmt.Errorf("espeak-ng -v %s [[%s]] (%q): %w", voice, text, s.r, err)
			}
			units[id] = u
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return units, nil
}

// sounds reports whether symbols of the class have units.
func sounds(c class) bool {
	return c == clsVowel || c == clsSonorant || c == clsFricative || c == clsStop
}

// Unit cutting constants.
const (
	envFrame   = 110   // samples per envelope frame (5 ms)
	envFloor   = 0.001 // sounding = envelope above this (espeak-ng's silence is zeros)
	steadyFrom = 0.15  // a stretched unit plays this part of its region …
	steadyTo   = 0.85  // … (onset and decay of the isolated phoneme left out)
	maxBurst   = 150 * espeakRate / 1000
	minSound   = 10 * espeakRate / 1000
	transition = 15 * espeakRate / 1000 // a stop keeps this much of what follows its burst
)

// cut turns espeak-ng's rendering of one phoneme into a unit. The phoneme
// is the sounding part of x less the last tail samples (the vowel after a
// consonant).
func cut(x []float32, tail int, cls class, rec recipe) (unit, error) {
	lo, hi := soundingRegion(x)
	hi -= tail
	if hi-lo < minSound {
		return unit{}, fmt.Errorf("%d ms of sound", (hi-lo)*1000/espeakRate)
	}
	n := hi - lo
	lo, hi = lo+int(rec.from*float64(n)), lo+int(rec.to*float64(n))
	if cls == clsStop {
		hi = min(hi+transition, lo+maxBurst)
		buf := make([]float32, 2*Hop, 2*Hop+hi-lo+Hop)
		buf = append(buf, window(x, lo, hi+Hop)...)
		return unit{buf: buf, alpha: float32(2*Hop + hi - lo), beta: -1, gamma: 1}, nil
	}
	n = hi - lo
	a, b := lo+int(steadyFrom*float64(n)), lo+int(steadyTo*float64(n))
	margin := Hop + maxPeriod
	return unit{
		buf:    window(x, a-margin, b+margin),
		alpha:  float32(margin),
		delta:  float32(b - a),
		period: float32(pitchPeriod(x[a:b])),
	}, nil
}

// window returns x[from:to], with zeros where the range leaves x.
func window(x []float32, from, to int) []float32 {
	out := make([]float32, to-from)
	for i := range out {
		if j := from + i; j >= 0 && j < len(x) {
			out[i] = x[j]
		}
	}
	return out
}

// soundingRegion returns the samples between the first and the last
// envelope frame above envFloor.
func soundingRegion(x []float32) (lo, hi int) {
	nf := len(x) / envFrame
	env := make([]float64, nf)
	peak := 0.0
	for f := range env {
		var s float64
		for _, v := range x[f*envFrame : (f+1)*envFrame] {
			s += float64(v) * float64(v)
		}
		env[f] = math.Sqrt(s / envFrame)
		peak = max(peak, env[f])
	}
	if peak == 0 {
		return 0, 0
	}
	first := slices.IndexFunc(env, func(e float64) bool { return e >= envFloor })
	if first < 0 {
		return 0, 0
	}
	last := nf - 1
	for env[last] < envFloor {
		last--
	}
	return first * envFrame, (last + 1) * envFrame
}

// Pitch search range (samples): 55–440 Hz.
const (
	minPeriod = espeakRate / 440
	maxPeriod = espeakRate / 55
)

// pitchPeriod returns the pitch period of x in samples (the lag of the
// highest normalised autocorrelation), or 0 when x is not clearly periodic.
func pitchPeriod(x []float32) int {
	if len(x) < 2*maxPeriod {
		return 0
	}
	best, bestLag := 0.0, 0
	for lag := minPeriod; lag <= maxPeriod; lag++ {
		var xy, xx, yy float64
		for i := lag; i < len(x); i++ {
			a, b := float64(x[i]), float64(x[i-lag])
			xy += a * b
			xx += a * a
			yy += b * b
		}
		if xx == 0 || yy == 0 {
			continue
		}
		if r := xy / math.Sqrt(xx*yy); r > best {
			best, bestLag = r, lag
		}
	}
	if best < 0.6 {
		return 0
	}
	return bestLag
}
