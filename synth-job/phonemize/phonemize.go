// Package phonemize turns text into Piper phoneme ids.
//
// It follows the conventions of Piper (piper-phonemize and piper1-gpl), so
// that any published Piper voice hears the ids it was trained on:
//
//   - espeak-ng voices: each clause is phonemised by espeak-ng as IPA;
//     language-switch markers such as "(en)" are removed; the clause's
//     punctuation is appended (followed by a space for "," ":" ";"), and a
//     clause ending in "." "?" "!" ends the sentence. An ellipsis ("..." or
//     "…") ends neither: Piper's espeak-ng reports it as a clause without
//     punctuation and glues the next clause on ("Wait... what?" is
//     wˈeɪtwˌʌt?); Chorus keeps the clauses in one sentence too, with a
//     space between the words. espeak-ng 1.51 does not report the
//     terminator, so it is recovered from the text the clause consumed
//     (see terminator).
//   - text voices: the phonemes are the code points of the NFD-normalised text.
//   - ids: the phonemes of one sentence are NFD-normalised code points, each
//     mapped through the voice's phoneme_id_map, laid out as
//     ^ _ p1 _ p2 … pn _ $ (the pad "_" after BOS and after every phoneme).
//     Symbols missing from the map are skipped and counted.
package phonemize

import (
	"cmp"
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// The special symbols of Piper's phoneme_id_map.
const (
	Pad = '_'
	BOS = '^'
	EOS = '$'
)

// Sentence is the phonemes of one sentence: single code points (NFD), with
// spaces between words and punctuation kept as Piper keeps it.
type Sentence []rune

func (s Sentence) String() string { return string(s) }

// langSwitch matches espeak-ng's language-switch markers, e.g. "(en)".
var langSwitch = regexp.MustCompile(`\([^)]*\)`)

// Espeak phonemises text with the espeak-ng voice (e.g. "en-us", "ko") and
// groups the phonemes into sentences. Sentences without phonemes are dropped,
// so a text of only punctuation or spaces yields no sentences.
func Espeak(voice, text string) ([]Sentence, error) {
	clauses, err := espeakClauses(voice, text)
	if err != nil {
		return nil, fmt.Errorf("espeak-ng %s: %w", voice, err)
	}
	var (
		out []Sentence
		cur []rune
	)
	flush := func() {
		if hasPhoneme(cur) {
			out = append(out, Sentence(strings.TrimRightFunc(string(cur), unicode.IsSpace)))
		}
		cur = nil
	}
	for i, c := range clauses {
		last := i == len(clauses)-1
		ipa := strings.TrimSpace(langSwitch.ReplaceAllString(c.ipa, ""))
		term := terminator(c.consumed, !last)
		if ipa != "" {
			cur = append(cur, []rune(norm.NFD.String(ipa))...)
		}
		switch term {
		case '.', '?', '!':
			if ipa != "" {
				cur = append(cur, term)
			}
			flush()
		case ',', ':', ';':
			if ipa != "" {
				cur = append(cur, term, ' ')
			}
		case ellipsis:
			if ipa != "" {
				cur = append(cur, ' ')
			}
		default:
			// A clause espeak-ng split without punctuation (a very long
			// clause): keep the words apart.
			if ipa != "" && !last {
				cur = append(cur, ' ')
			}
		}
	}
	flush()
	return out, nil
}

// Text phonemises a voice with phoneme_type "text": its phonemes are the code
// points of the NFD-normalised text, as one sentence, less Piper's start,
// end and pad symbols (text may not insert them).
func Text(text string) []Sentence {
	text = strings.Map(func(r rune) rune {
		if r == BOS || r == EOS || r == Pad {
			return -1
		}
		return r
	}, text)
	s := Sentence([]rune(norm.NFD.String(strings.TrimSpace(text))))
	if !hasPhoneme(s) {
		return nil
	}
	return []Sentence{s}
}

func hasPhoneme(rs []rune) bool {
	for _, r := range rs {
		if !unicode.IsSpace(r) && !unicode.IsPunct(r) {
			return true
		}
	}
	return false
}

// fullwidth maps the CJK forms of clause punctuation to the ASCII symbols
// Piper voices know.
var fullwidth = map[rune]rune{
	'。': '.', '．': '.', '？': '?', '！': '!', '，': ',', '、': ',', '：': ':', '；': ';', '…': '.',
}

// ellipsis is what terminator returns for a clause that ended in "..." or
// "…": no punctuation, no sentence end.
const ellipsis = '…'

// terminator recovers the punctuation that ended a clause from the text the
// clause consumed. espeak-ng 1.51 advances its pointer one character past
// the clause (it reads ahead), so when more text follows (lookahead) the last
// character belongs to the next clause and is ignored. Trailing spaces and
// closing quotes or brackets are skipped; of a run like "?!" the first
// symbol is the terminator, and a run that starts with an ellipsis ("...",
// "…") without "?" or "!" is an ellipsis. It returns 0 when the clause had
// none.
func terminator(consumed string, lookahead bool) rune {
	rs := []rune(consumed)
	if lookahead && len(rs) > 0 {
		rs = rs[:len(rs)-1]
	}
	i := len(rs) - 1
	for i >= 0 && (unicode.IsSpace(rs[i]) || isCloser(rs[i])) {
		i--
	}
	term, end := rune(0), i
	for ; i >= 0; i-- {
		r := rs[i]
		if f, ok := fullwidth[r]; ok {
			r = f
		}
		if !strings.ContainsRune(".?!,:;", r) {
			break
		}
		term = r
	}
	run := string(rs[i+1 : end+1])
	if strings.HasPrefix(run, "..") || strings.HasPrefix(run, "…") {
		if k := strings.IndexAny(run, "?!？！"); k >= 0 {
			r, _ := utf8.DecodeRuneInString(run[k:])
			return cmp.Or(fullwidth[r], r)
		}
		return ellipsis
	}
	return term
}

func isCloser(r rune) bool {
	switch r {
	case '"', '\'', ')', ']', '}', '»', '”', '’', '」', '』', '）':
		return true
	}
	return false
}

// MapPhonemes applies a voice's phoneme_map: each phoneme that is a key is
// replaced by the phonemes it maps to. Nil or empty maps return s as is.
func MapPhonemes(s Sentence, m map[string][]string) Sentence {
	if len(m) == 0 {
		return s
	}
	out := make(Sentence, 0, len(s))
	for _, r := range s {
		to, ok := m[string(r)]
		if !ok {
			out = append(out, r)
			continue
		}
		for _, p := range to {
			out = append(out, []rune(p)...)
		}
	}
	return out
}

// IDMap is a voice's phoneme_id_map: symbol → ids.
type IDMap map[string][]int64

// IDs lays out the ids of one sentence as ^ _ p1 _ … pn _ $. Phonemes that are
// not in the map are skipped; missing counts them by symbol (nil when none).
// The map must contain "^", "_" and "$" (the voice config checks that).
func IDs(s Sentence, m IDMap) (ids []int64, missing map[rune]int) {
	pad := m[string(Pad)]
	ids = make([]int64, 0, 2*len(s)+3)
	ids = append(ids, m[string(BOS)]...)
	ids = append(ids, pad...)
	for _, r := range s {
		v, ok := m[string(r)]
		if !ok {
			if missing == nil {
				missing = make(map[rune]int)
			}
			missing[r]++
			continue
		}
		ids = append(ids, v...)
		ids = append(ids, pad...)
	}
	ids = append(ids, m[string(EOS)]...)
	return ids, missing
}
