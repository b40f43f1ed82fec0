package phonemize

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Inline phonemes. As in Piper, text between [[ and ]] is phonemes, passed
// straight to the voice (one code point each, spaces between words), not
// text for espeak-ng: "My name is [[ hˈɑːnə ]]." A member's lexicon (word →
// phonemes) is applied by rewriting its words into such segments.

// Segment is a run of plain text or, when Inline, of phonemes.
type Segment struct {
	Text   string
	Inline bool
}

// Segments splits text at [[ … ]]. An unclosed "[[" is plain text.
func Segments(text string) []Segment {
	var out []Segment
	for {
		open := strings.Index(text, "[[")
		if open < 0 {
			break
		}
		end := strings.Index(text[open+2:], "]]")
		if end < 0 {
			break
		}
		if open > 0 {
			out = append(out, Segment{Text: text[:open]})
		}
		if ph := strings.TrimSpace(text[open+2 : open+2+end]); ph != "" {
			out = append(out, Segment{Text: ph, Inline: true})
		}
		text = text[open+2+end+2:]
	}
	if text != "" {
		out = append(out, Segment{Text: text})
	}
	return out
}

// Join phonemises segments into sentences: plain segments with phonemise
// (espeak-ng, or the text voice's code points), inline ones as they are.
// Inline phonemes continue the sentence in progress, and the text after
// them continues it too, until a sentence ends (".", "?", "!").
func Join(segs []Segment, phonemise func(string) ([]Sentence, error)) ([]Sentence, error) {
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
	for _, seg := range segs {
		if seg.Inline {
			add(Sentence([]rune(norm.NFD.String(strings.Join(strings.Fields(seg.Text), " ")))))
			continue
		}
		sents, err := phonemise(seg.Text)
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

// Lexicon is a member's pronunciations: word (as written, any case) →
// phonemes (as inline phonemes are written).
type Lexicon map[string]string

// Apply rewrites the lexicon's words in text into inline phonemes. Words
// match whole and case-insensitively, longest entry first; a word in
// Hangul also matches with a particle after it ("하나가"). Text already
// inside [[ ]] is left alone.
func (l Lexicon) Apply(text string) string {
	if len(l) == 0 {
		return text
	}
	words := make([]string, 0, len(l))
	for w := range l {
		words = append(words, w)
	}
	slices.SortFunc(words, func(a, b string) int { return utf8.RuneCountInString(b) - utf8.RuneCountInString(a) })
	var b strings.Builder
	for _, seg := range Segments(text) {
		if seg.Inline {
			b.WriteString("[[ " + seg.Text + " ]]")
			continue
		}
		b.WriteString(l.applyPlain(seg.Text, words))
	}
	return b.String()
}

func (l Lexicon) applyPlain(text string, words []string) string {
	lower := []rune(strings.ToLower(text))
	orig := []rune(text)
	if len(lower) != len(orig) { // a case mapping changed the length: match on the text as is
		lower = orig
	}
	var b strings.Builder
	for i := 0; i < len(orig); {
		matched := false
		if i == 0 || !isWordRune(orig[i-1]) {
			for _, w := range words {
				wr := []rune(strings.ToLower(w))
				end := i + len(wr)
				if end > len(lower) || string(lower[i:end]) != string(wr) {
					continue
				}
				if end < len(orig) && isWordRune(orig[end]) && !(isHangul(wr[len(wr)-1]) && isHangul(orig[end])) {
					continue
				}
				b.WriteString("[[ " + l[w] + " ]]")
				i, matched = end, true
				break
			}
		}
		if !matched {
			b.WriteRune(orig[i])
			i++
		}
	}
	return b.String()
}

func isWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsNumber(r) || r == '\'' || r == '’'
}

func isHangul(r rune) bool { return unicode.Is(unicode.Hangul, r) }

// ErrLexicon marks a lexicon entry a voice cannot use.
var ErrLexicon = errors.New("invalid lexicon entry")

// CheckEntry checks one lexicon entry against a voice: the word is 1–64
// characters of text, the phonemes non-empty, and every phoneme one the
// voice knows (in its phoneme_id_map, or mapped to such by its
// phoneme_map). Operators get this error when they save the entry, not
// listeners when they synthesise.
func CheckEntry(word, phonemes string, ids IDMap, phonemeMap map[string][]string) error {
	w := strings.TrimSpace(word)
	switch n := utf8.RuneCountInString(w); {
	case n == 0 || n > 64:
		return fmt.Errorf("%w: word %q must have 1 to 64 characters", ErrLexicon, word)
	case !utf8.ValidString(w) || strings.ContainsAny(w, "[]"):
		return fmt.Errorf("%w: word %q must be plain text (no [ or ])", ErrLexicon, word)
	case strings.IndexFunc(w, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsNumber(r) }) < 0:
		return fmt.Errorf("%w: word %q has no letters or digits", ErrLexicon, word)
	}
	ph := strings.Join(strings.Fields(phonemes), " ")
	if ph == "" || !utf8.ValidString(ph) || strings.Contains(ph, "[[") || strings.Contains(ph, "]]") {
		return fmt.Errorf("%w: %q: phonemes %q must be a non-empty phoneme string", ErrLexicon, word, phonemes)
	}
	var unknown []string
	for _, r := range norm.NFD.String(ph) {
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
