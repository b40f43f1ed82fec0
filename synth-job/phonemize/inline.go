package phonemize

import (
	"fmt"
	"slices"
	"strings"

	"golang.org/x/text/unicode/norm"

	"github.com/chorus-voice/chorus/shared/lexicon"
	"github.com/chorus-voice/chorus/shared/textnorm"
	"github.com/chorus-voice/chorus/shared/utterance"
)

// Lexicon is a member's pronunciations (shared/lexicon): word → phonemes.
type Lexicon = lexicon.Lexicon

// Voice is how one voice turns an utterance's parts into phonemes.
type Voice struct {
	// Espeak is the espeak-ng voice (phoneme_type "espeak").
	Espeak string
	// Text marks phoneme_type "text": the phonemes are the code points of
	// the text.
	Text bool
	// MaxTextRunes bounds the text of one espeak-ng call (textnorm.Split);
	// below 1, no bound.
	MaxTextRunes int
}

// Speak phonemises the parts of one sentence (shared/utterance): text with
// the voice's phonemiser, phonemes as they are. Phonemes continue the
// sentence in progress, and the text after them continues it too, until a
// clause ends it (".", "?", "!"), so usually one sentence becomes one
// model sentence. An espeak-ng failure is returned as is (ErrUnknownVoice
// for a voice it does not know).
func (v Voice) Speak(parts []utterance.Part) ([]Sentence, error) {
	return join(parts, func(text string) ([]Sentence, error) {
		var out []Sentence
		for _, piece := range textnorm.Split(text, v.MaxTextRunes) {
			if v.Text {
				out = append(out, Text(piece)...)
				continue
			}
			s, err := Espeak(v.Espeak, piece)
			if err != nil {
				return nil, err
			}
			out = append(out, s...)
		}
		return out, nil
	})
}

// join phonemises parts into sentences: text parts with phonemise,
// phonemes as they are (see Speak).
func join(parts []utterance.Part, phonemise func(string) ([]Sentence, error)) ([]Sentence, error) {
	var out []Sentence
	open := false // out's last sentence may still grow
	add := func(s Sentence) {
		if open && len(out) > 0 {
			last := out[len(out)-1]
			if len(last) > 0 && last[len(last)-1] != ' ' {
				last = append(last, ' ')
			}
			out[len(out)-1] = append(last, s...)
		} else {
			out = append(out, s)
		}
		open = !endsSentence(s)
	}
	for _, p := range parts {
		if p.Phonemes {
			add(Sentence([]rune(norm.NFD.String(p.Text))))
			continue
		}
		sents, err := phonemise(p.Text)
		if err != nil {
			return nil, err
		}
		for _, s := range sents {
			add(s)
		}
	}
	return out, nil
}

func endsSentence(s Sentence) bool {
	return len(s) > 0 && strings.ContainsRune(".?!", s[len(s)-1])
}

// ErrLexicon marks a lexicon entry a voice cannot use (it is
// lexicon.ErrEntry: one test for every reason).
var ErrLexicon = lexicon.ErrEntry

// CheckEntry checks one lexicon entry: its shape (lexicon.CheckEntry: sizes,
// no start, end or pad symbols) and that every phoneme is one the voice
// knows (in its phoneme_id_map, or mapped to such by its phoneme_map).
// Operators get this error when they save the entry, not listeners when
// they synthesise.
func CheckEntry(word, phonemes string, ids IDMap, phonemeMap map[string][]string) error {
	if err := lexicon.CheckEntry(word, phonemes); err != nil {
		return err
	}
	var unknown []string
	for _, r := range norm.NFD.String(strings.Join(strings.Fields(phonemes), " ")) {
		if r == ' ' {
			continue
		}
		if _, ok := ids[string(r)]; ok {
			continue
		}
		if to, ok := phonemeMap[string(r)]; ok && allKnown(to, ids) {
			continue
		}
		unknown = append(unknown, fmt.Sprintf("%q (U+%04X)", r, r))
	}
	if len(unknown) > 0 {
		return fmt.Errorf("%w: %q: the voice has no phoneme %s", ErrLexicon, word, strings.Join(slices.Compact(unknown), ", "))
	}
	return nil
}

func allKnown(ps []string, ids IDMap) bool {
	for _, p := range ps {
		if _, ok := ids[p]; !ok {
			return false
		}
	}
	return true
}
