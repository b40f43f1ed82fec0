// Package voice reads and validates Piper voices (NAME.onnx + NAME.onnx.json)
// at the boundary, so that the engine only ever sees a voice whose config is
// sane and whose model honours the Piper input/output contract.
package voice

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"
)

// ErrInvalid marks a voice whose config or model breaks the Piper contract.
// It is permanent: retrying cannot fix it.
var ErrInvalid = errors.New("invalid voice")

// Phoneme types of Piper voices.
const (
	PhonemeEspeak = "espeak"
	PhonemeText   = "text"
)

// Defaults Piper applies when a config omits its inference section.
const (
	DefaultNoiseScale  = 0.667
	DefaultLengthScale = 1.0
	DefaultNoiseW      = 0.8
)

// Sample-rate bounds accepted for a voice (Piper voices use 16000 or 22050).
const (
	MinSampleRate = 8000
	MaxSampleRate = 48000
)

// Config is a Piper voice config (.onnx.json). Unknown fields are ignored so
// any published voice parses.
type Config struct {
	Audio        Audio              `json:"audio"`
	Espeak       Espeak             `json:"espeak"`
	Language     *Language          `json:"language,omitempty"`
	Inference    Inference          `json:"inference"`
	PhonemeType  string             `json:"phoneme_type"`
	PhonemeIDMap map[string][]int64 `json:"phoneme_id_map"`
	// PhonemeMap, optional in Piper configs, replaces a phoneme by others
	// before ids are looked up (Piper applies it the same way).
	PhonemeMap   map[string][]string `json:"phoneme_map,omitempty"`
	NumSymbols   int                 `json:"num_symbols"`
	NumSpeakers  int                 `json:"num_speakers"`
	SpeakerIDMap map[string]int      `json:"speaker_id_map"`
	PiperVersion string              `json:"piper_version,omitempty"`
	// Dataset names what the voice was trained on ("lessac"); Piper's
	// exporter writes it, and an import without a label is named after it.
	Dataset string `json:"dataset,omitempty"`
	// Chorus carries Chorus's own metadata; absent in Piper's voices.
	Chorus *Chorus `json:"chorus,omitempty"`
}

// Audio is the config's audio section.
type Audio struct {
	SampleRate int    `json:"sample_rate"`
	Quality    string `json:"quality,omitempty"`
}

// Espeak names the espeak-ng voice used to phonemise text.
type Espeak struct {
	Voice string `json:"voice"`
}

// Language is the voice's language (informational): Piper's exporter
// writes the code and the English names used in default labels.
type Language struct {
	Code           string `json:"code"`
	NameEnglish    string `json:"name_english,omitempty"`
	CountryEnglish string `json:"country_english,omitempty"`
}

// Inference holds the default scales passed to the model.
type Inference struct {
	NoiseScale  float64 `json:"noise_scale"`
	LengthScale float64 `json:"length_scale"`
	NoiseW      float64 `json:"noise_w"`
}

// Chorus marks voices Chorus made itself (the generated demo voices), so
// that every place that shows them can label them as such.
type Chorus struct {
	Demo  bool   `json:"demo"`
	Label string `json:"label,omitempty"`
}

// espeakVoiceName accepts espeak-ng voice names such as "en-us", "cmn",
// "en-gb-x-rp" or "roa/it" and nothing that could smuggle other input.
var espeakVoiceName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_+/-]{0,63}$`)

// ParseConfig decodes and validates a voice config. Errors wrap ErrInvalid.
func ParseConfig(data []byte) (*Config, error) {
	c := Config{Inference: Inference{
		NoiseScale: DefaultNoiseScale, LengthScale: DefaultLengthScale, NoiseW: DefaultNoiseW,
	}}
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("%w: config is not valid JSON: %v", ErrInvalid, err)
	}
	if c.PhonemeType == "" {
		c.PhonemeType = PhonemeEspeak
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

// ReadConfig reads and validates the config file at path.
func ReadConfig(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read voice config: %w", err)
	}
	c, err := ParseConfig(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// Validate reports every problem of the config, wrapping ErrInvalid. It
// fills NumSymbols from the map when the config leaves it out.
func (c *Config) Validate() error {
	var errs []string
	bad := func(format string, a ...any) { errs = append(errs, fmt.Sprintf(format, a...)) }

	if c.Audio.SampleRate < MinSampleRate || c.Audio.SampleRate > MaxSampleRate {
		bad("audio.sample_rate %d outside [%d, %d]", c.Audio.SampleRate, MinSampleRate, MaxSampleRate)
	}
	for from, to := range c.PhonemeMap {
		if utf8.RuneCountInString(from) != 1 {
			bad("phoneme_map key %q is not one code point", from)
		}
		for _, p := range to {
			if utf8.RuneCountInString(p) != 1 {
				bad("phoneme_map[%q] holds %q, not one code point", from, p)
			}
		}
	}
	switch c.PhonemeType {
	case PhonemeEspeak:
		if !espeakVoiceName.MatchString(c.Espeak.Voice) {
			bad("espeak.voice %q is not an espeak-ng voice name", c.Espeak.Voice)
		}
	case PhonemeText:
	default:
		bad("phoneme_type %q is not supported (espeak or text)", c.PhonemeType)
	}

	if len(c.PhonemeIDMap) == 0 {
		bad("phoneme_id_map is empty")
	}
	for _, s := range []string{"^", "_", "$"} {
		if len(c.PhonemeIDMap[s]) == 0 {
			bad("phoneme_id_map lacks %q", s)
		}
	}
	maxID := int64(-1)
	for _, k := range sortedKeys(c.PhonemeIDMap) {
		ids := c.PhonemeIDMap[k]
		if k == "" {
			bad("phoneme_id_map has an empty symbol")
		}
		if len(ids) == 0 {
			bad("phoneme_id_map[%q] has no ids", k)
		}
		for _, id := range ids {
			if id < 0 {
				bad("phoneme_id_map[%q] has negative id %d", k, id)
			}
			maxID = max(maxID, id)
		}
	}
	switch {
	case c.NumSymbols == 0:
		c.NumSymbols = int(maxID + 1)
	case c.NumSymbols < 0 || int64(c.NumSymbols) <= maxID:
		bad("num_symbols %d does not cover phoneme id %d", c.NumSymbols, maxID)
	}

	if c.NumSpeakers < 1 {
		bad("num_speakers %d must be at least 1", c.NumSpeakers)
	}
	seen := make(map[int]string)
	for _, name := range sortedKeys(c.SpeakerIDMap) {
		id := c.SpeakerIDMap[name]
		if id < 0 || id >= c.NumSpeakers {
			bad("speaker_id_map[%q] = %d outside [0, %d)", name, id, c.NumSpeakers)
		}
		if other, dup := seen[id]; dup {
			bad("speaker_id_map gives id %d to both %q and %q", id, other, name)
		}
		seen[id] = name
	}

	in := c.Inference
	if !inRange(in.NoiseScale, 0, 2) {
		bad("inference.noise_scale %v outside [0, 2]", in.NoiseScale)
	}
	if !inRange(in.NoiseW, 0, 2) {
		bad("inference.noise_w %v outside [0, 2]", in.NoiseW)
	}
	if !inRange(in.LengthScale, 0.05, 5) {
		bad("inference.length_scale %v outside [0.05, 5]", in.LengthScale)
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %s", ErrInvalid, strings.Join(errs, "; "))
	}
	return nil
}

func inRange(v, lo, hi float64) bool {
	return !math.IsNaN(v) && v >= lo && v <= hi
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// TextLanguage is the language the voice's text is normalised for: the
// espeak-ng voice, or for a voice fed text phonemes its language code. The
// voice's record carries it so that the API applies the same speakable rule
// as the engine (shared/textnorm.SpeakableIn).
func (c *Config) TextLanguage() string {
	if c.PhonemeType == PhonemeText && c.Language != nil {
		return c.Language.Code
	}
	return c.Espeak.Voice
}

// HasSpeaker reports whether id is a speaker of this voice: [0, NumSpeakers).
func (c *Config) HasSpeaker(id int) bool { return id >= 0 && id < c.NumSpeakers }

// MultiSpeaker reports whether the model takes a "sid" input.
func (c *Config) MultiSpeaker() bool { return c.NumSpeakers > 1 }
