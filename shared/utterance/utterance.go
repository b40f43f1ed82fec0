// Package utterance computes what the engine speaks for a text: its
// sentences as written (the captions' cues) and, for each, the parts the
// voice's phonemiser is given: normalised text, or phonemes passed as they
// are (inline [[ … ]] as written, or a member's lexicon entry).
//
// It is the one place that decides this. The engine speaks Prepare's
// result and nothing else, and the result cache keys on Key, so two
// requests share a cached answer exactly when the engine would be given the
// same thing (issue 15 item 9). The package is pure Go: the API computes
// the key with it, the worker speaks with it.
package utterance

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"strings"

	"golang.org/x/text/unicode/norm"

	"github.com/chorus-voice/chorus/shared/lexicon"
	"github.com/chorus-voice/chorus/shared/textnorm"
)

// Utterance is what the engine speaks for one text.
type Utterance struct {
	Sentences []Sentence
}

// Sentence is one sentence the user wrote (textnorm.Sentences) and what is
// said for it. The engine speaks each sentence in its own model runs and
// gives each one caption cue.
type Sentence struct {
	// Text is the sentence as written, trimmed: the caption's cue.
	Text string
	// Span is where Text sits in the original text.
	Span textnorm.Span
	// Parts is what the voice is given, in order. A sentence with nothing
	// to say (it only had emoji, say) has none.
	Parts []Part
}

// Part is a run of normalised text for the voice's phonemiser or, when
// Phonemes, of phonemes for the voice as they are (one code point each,
// NFD, words separated by single spaces).
type Part struct {
	Text     string
	Phonemes bool
	// Word is the lexicon entry that gave these phonemes ("" for text and
	// for phonemes written inline). Not part of what the engine speaks.
	Word string
	// Map maps Text back to the original text: word timings point at what
	// the fan typed through it (see textnorm.Mapped). Not part of what the
	// engine speaks today.
	Map textnorm.Mapped
}

// Prepare splits text into its sentences and computes what is said for
// each, for the language of the voice (an espeak-ng voice or language code)
// and the member's lexicon (nil for none):
//
//  1. the sentence is cleaned (textnorm.CleanMapped: NFC, white space and
//     control characters);
//  2. inline phonemes [[ … ]] are kept as written, less Piper's start, end
//     and pad symbols (^ $ _), which would corrupt the voice's input;
//  3. the lexicon's words become phonemes (so an emoji the lexicon names is
//     spoken, and the lexicon wins over every rule below);
//  4. the rest is normalised for the language (textnorm.NormalizeMapped:
//     pictographs dropped, symbols, numbers and abbreviations expanded).
func Prepare(text, lang string, lex lexicon.Lexicon) Utterance {
	mt := lex.Compile()
	var u Utterance
	for _, sp := range textnorm.SentenceSpans(text, lang) {
		written := text[sp.Start:sp.End]
		m := textnorm.CleanMapped(textnorm.NewMapped(written, sp.Start))
		u.Sentences = append(u.Sentences, Sentence{Text: written, Span: sp, Parts: parts(m, lang, mt)})
	}
	return u
}

// parts computes the parts of one cleaned sentence.
func parts(m textnorm.Mapped, lang string, mt *lexicon.Matcher) []Part {
	var out []Part
	t := m.String()
	plain := func(from, to int) {
		if from >= to {
			return
		}
		piece := m.Slice(from, to)
		at := 0
		for _, w := range mt.Find(piece.String()) {
			out = appendText(out, piece.Slice(at, w.Start), lang)
			ph := canonicalPhonemes(w.Phonemes)
			if ph != "" {
				out = append(out, Part{Text: ph, Phonemes: true, Word: w.Word, Map: textnorm.Replaced(ph, piece.Source(w.Start, w.End))})
			}
			at = w.End
		}
		out = appendText(out, piece.Slice(at, piece.Len()), lang)
	}
	at := 0
	for {
		open := strings.Index(t[at:], "[[")
		if open < 0 {
			break
		}
		open += at
		end := strings.Index(t[open+2:], "]]")
		if end < 0 {
			break // an unclosed "[[" is text
		}
		end += open + 2
		plain(at, open)
		if ph := canonicalPhonemes(t[open+2 : end]); ph != "" {
			out = append(out, Part{Text: ph, Phonemes: true, Map: textnorm.Replaced(ph, m.Source(open, end+2))})
		}
		at = end + 2
	}
	plain(at, len(t))
	return out
}

func appendText(out []Part, piece textnorm.Mapped, lang string) []Part {
	n := textnorm.NormalizeMapped(piece, lang)
	if n.Len() == 0 {
		return out
	}
	return append(out, Part{Text: n.String(), Map: n})
}

// canonicalPhonemes is phonemes as the voice gets them: NFD, words
// separated by single spaces, without Piper's start, end and pad symbols.
func canonicalPhonemes(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '^' || r == '$' || r == '_' {
			return ' '
		}
		return r
	}, s)
	return norm.NFD.String(strings.Join(strings.Fields(s), " "))
}

// Speakable reports whether the utterance has anything to say: a part with
// a letter or a digit. The API refuses the rest (400 text_unspeakable) and
// the engine fails them with the same rule.
func (u Utterance) Speakable() bool {
	for _, s := range u.Sentences {
		for _, p := range s.Parts {
			if textnorm.Speakable(p.Text) {
				return true
			}
		}
	}
	return false
}

// Captions are the sentences as written, one per cue.
func (u Utterance) Captions() []string {
	out := make([]string, len(u.Sentences))
	for i, s := range u.Sentences {
		out[i] = s.Text
	}
	return out
}

// Key names what the engine is given: each sentence as written (its cue,
// as a caption displays it: WebVTT shows runs of spaces as one and drops
// blank lines) and each part's text and kind, in order, and nothing else. Equal keys
// mean equal engine input and the other way round (FuzzKeyIsEngineInput):
// "Thanks. & you too!" and "Thanks. and you too!" differ (one part is
// "and" written by the normaliser from "&", the captions differ), while
// "Love you" typed with different spacing between its sentences does not.
//
// The lexicon is in the key through what it did (phonemes in place of
// words), so an edit to a word a text does not use keeps its results.
// When word timings land, whatever of Map they report (offsets into the
// text) becomes engine input and must be added here.
func (u Utterance) Key() string {
	h := sha256.New()
	for _, s := range u.Sentences {
		field(h, 'S', displayed(s.Text))
		for _, p := range s.Parts {
			kind := byte('T')
			if p.Phonemes {
				kind = 'P'
			}
			field(h, kind, p.Text)
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// displayed is a caption's text as a player shows it: each line's runs of
// white space as one space, lines trimmed, blank lines gone.
func displayed(text string) string {
	lines := strings.FieldsFunc(text, func(r rune) bool { return r == '\n' || r == '\r' })
	out := lines[:0]
	for _, l := range lines {
		if l = strings.Join(strings.Fields(l), " "); l != "" {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// field writes one tagged, length-prefixed field, so that no two different
// sequences of fields hash the same bytes.
func field(h hash.Hash, tag byte, s string) {
	var buf [1 + binary.MaxVarintLen64]byte
	buf[0] = tag
	n := binary.PutUvarint(buf[1:], uint64(len(s)))
	h.Write(buf[:1+n])
	h.Write([]byte(s))
}
