// Package lexicon is a member's pronunciations: words as fans write them,
// and the phonemes the member's voice says for them.
//
// The rules an entry must follow are checked wherever a lexicon is saved
// (the store, through Check and CheckEntry) and the phonemes' inventory
// against the voice by the importer (synth-job/phonemize.CheckEntry).
// Matching never trusts that: an entry that breaks the rules is skipped,
// never a crash.
package lexicon

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/chorus-voice/chorus/shared/textnorm"
)

// Lexicon maps a word (as written, matched in any case) to its phonemes
// (as inline phonemes are written: "hˈɑːnə").
type Lexicon map[string]string

// The size caps of a lexicon: a member's record is one Firestore document
// (at most 1 MiB; MaxEntries × the longest entry stays under half of it),
// and every request matches every entry.
const (
	MaxEntries      = 500
	MaxWordRunes    = 64
	MaxPhonemeRunes = 256
)

// Piper's special symbols: the start, end and pad of every sentence's ids.
// Phonemes a fan or an operator writes may not contain them.
const specials = "^$_"

// ErrEntry marks a lexicon entry, or a lexicon, that breaks the rules.
var ErrEntry = errors.New("invalid lexicon entry")

// CheckEntry checks one entry's shape: the word has 1 to MaxWordRunes
// characters of plain text with a letter or a digit, or is one emoji
// (which the normaliser would otherwise drop); the phonemes are 1 to
// MaxPhonemeRunes characters without brackets, control characters or
// Piper's start, end and pad symbols (^ $ _).
func CheckEntry(word, phonemes string) error {
	w := strings.TrimSpace(word)
	switch n := utf8.RuneCountInString(w); {
	case !utf8.ValidString(w):
		return fmt.Errorf("%w: word %q is not valid UTF-8", ErrEntry, word)
	case n == 0 || n > MaxWordRunes:
		return fmt.Errorf("%w: word %q must have 1 to %d characters", ErrEntry, word, MaxWordRunes)
	case strings.ContainsAny(w, "[]"):
		return fmt.Errorf("%w: word %q must be plain text (no [ or ])", ErrEntry, word)
	case strings.IndexFunc(w, unicode.IsControl) >= 0:
		return fmt.Errorf("%w: word %q has control characters", ErrEntry, word)
	case !textnorm.Speakable(w) && !IsEmoji(w):
		return fmt.Errorf("%w: word %q has no letters or digits and is not an emoji", ErrEntry, word)
	}
	ph := strings.Join(strings.Fields(phonemes), " ")
	switch n := utf8.RuneCountInString(ph); {
	case !utf8.ValidString(ph):
		return fmt.Errorf("%w: %q: phonemes are not valid UTF-8", ErrEntry, word)
	case n == 0 || n > MaxPhonemeRunes:
		return fmt.Errorf("%w: %q: phonemes must have 1 to %d characters", ErrEntry, word, MaxPhonemeRunes)
	case strings.ContainsAny(ph, "[]"):
		return fmt.Errorf("%w: %q: phonemes %q must not contain [ or ]", ErrEntry, word, phonemes)
	case strings.ContainsAny(ph, specials):
		return fmt.Errorf("%w: %q: phonemes %q must not contain the voice's start, end or pad symbol (^ $ _)", ErrEntry, word, phonemes)
	case strings.IndexFunc(ph, unicode.IsControl) >= 0:
		return fmt.Errorf("%w: %q: phonemes have control characters", ErrEntry, word)
	}
	return nil
}

// IsEmoji reports whether word is one or more emoji and nothing else.
func IsEmoji(word string) bool {
	word = strings.TrimSpace(word)
	return word != "" && textnorm.DropPictographs(textnorm.NewMapped(word, 0)).Len() == 0
}

// Check checks every entry (CheckEntry), that no two words differ only in
// case, and the size cap.
func (l Lexicon) Check() error {
	if len(l) > MaxEntries {
		return fmt.Errorf("%w: %d entries; a lexicon holds at most %d", ErrEntry, len(l), MaxEntries)
	}
	seen := make(map[string]string, len(l))
	for _, w := range slices.Sorted(maps.Keys(l)) {
		if err := CheckEntry(w, l[w]); err != nil {
			return err
		}
		k, _ := Canonical(w, "")
		k = fold(k)
		if other, ok := seen[k]; ok {
			return fmt.Errorf("%w: %q and %q differ only in case", ErrEntry, other, w)
		}
		seen[k] = w
	}
	return nil
}

// Canonical is how an entry is stored: the word trimmed, the phonemes'
// words separated by single spaces.
func Canonical(word, phonemes string) (string, string) {
	return norm.NFC.String(strings.TrimSpace(word)), strings.Join(strings.Fields(phonemes), " ")
}

// SameWord reports whether two words are one entry (they differ only in
// case).
func SameWord(a, b string) bool {
	a, _ = Canonical(a, "")
	b, _ = Canonical(b, "")
	return fold(a) == fold(b)
}

// fold lower-cases rune by rune, so that a word keeps its length in runes
// (strings.ToLower may not: "İ" becomes two runes).
func fold(s string) string {
	return strings.Map(unicode.ToLower, s)
}

// A Match is one lexicon word found in a text.
type Match struct {
	// Start and End are byte offsets of the match in the text searched.
	Start, End int
	// Word is the lexicon's entry as stored; Phonemes what it says.
	Word, Phonemes string
}

// Matcher finds a lexicon's words in text. Build it once per lexicon
// (Compile); it is safe for concurrent use.
type Matcher struct {
	byFirst map[rune][]entry // by the first rune of the folded word
}

type entry struct {
	word     string // as stored
	folded   []rune
	phonemes string
}

// Compile prepares l for matching: each word is lower-cased once, here.
// Entries that break the rules (CheckEntry) are left out: they cannot be
// saved, and a lexicon from elsewhere must not make matching fail.
// Of words that differ only in case, the first in byte order wins.
func (l Lexicon) Compile() *Matcher {
	mt := &Matcher{byFirst: map[rune][]entry{}}
	seen := map[string]bool{}
	for _, w := range slices.Sorted(maps.Keys(l)) {
		if CheckEntry(w, l[w]) != nil {
			continue
		}
		tw, ph := Canonical(w, l[w])
		f := fold(tw)
		if seen[f] {
			continue
		}
		seen[f] = true
		rs := []rune(f)
		mt.byFirst[rs[0]] = append(mt.byFirst[rs[0]], entry{word: w, folded: rs, phonemes: ph})
	}
	for _, es := range mt.byFirst {
		// Longest first, so "Starlight Avenue" wins over "Starlight".
		slices.SortFunc(es, func(a, b entry) int {
			return cmp.Or(cmp.Compare(len(b.folded), len(a.folded)), strings.Compare(a.word, b.word))
		})
	}
	return mt
}

// Empty reports whether the matcher has no words.
func (mt *Matcher) Empty() bool { return mt == nil || len(mt.byFirst) == 0 }

// Find returns the lexicon's words in text, left to right, without
// overlaps. A word matches whole (not inside a longer word) and in any
// case; a word that ends in Hangul also matches with a particle after it
// ("하나가").
func (mt *Matcher) Find(text string) []Match {
	if mt.Empty() {
		return nil
	}
	var (
		orig []rune
		offs []int // byte offset of each rune, and of the end
	)
	for i := 0; i < len(text); {
		r, size := utf8.DecodeRuneInString(text[i:])
		orig, offs = append(orig, r), append(offs, i)
		i += size
	}
	offs = append(offs, len(text))
	folded := make([]rune, len(orig))
	for i, r := range orig {
		folded[i] = unicode.ToLower(r)
	}
	var out []Match
	for i := 0; i < len(orig); {
		if i > 0 && isWordRune(orig[i-1]) && isWordRune(orig[i]) {
			i++ // inside a word
			continue
		}
		e, ok := mt.longestAt(folded, orig, i)
		if !ok {
			i++
			continue
		}
		end := i + len(e.folded)
		out = append(out, Match{Start: offs[i], End: offs[end], Word: e.word, Phonemes: e.phonemes})
		i = end
	}
	return out
}

func (mt *Matcher) longestAt(folded, orig []rune, i int) (entry, bool) {
	for _, e := range mt.byFirst[folded[i]] {
		end := i + len(e.folded)
		if end > len(folded) || !slices.Equal(folded[i:end], e.folded) {
			continue
		}
		if end < len(orig) && isWordRune(orig[end]) && isWordRune(e.folded[len(e.folded)-1]) &&
			!(isHangul(e.folded[len(e.folded)-1]) && isHangul(orig[end])) {
			continue // inside a longer word
		}
		return e, true
	}
	return entry{}, false
}

// Apply rewrites the lexicon's words in text into inline phonemes
// ("[[ hˈɑːnə ]]"). Text already inside [[ ]] is left alone.
func (l Lexicon) Apply(text string) string {
	mt := l.Compile()
	if mt.Empty() {
		return text
	}
	var b strings.Builder
	for {
		open := strings.Index(text, "[[")
		end := -1
		if open >= 0 {
			end = strings.Index(text[open+2:], "]]")
		}
		if open < 0 || end < 0 {
			b.WriteString(mt.apply(text))
			return b.String()
		}
		b.WriteString(mt.apply(text[:open]))
		b.WriteString(text[open : open+2+end+2])
		text = text[open+2+end+2:]
	}
}

func (mt *Matcher) apply(text string) string {
	var b strings.Builder
	at := 0
	for _, m := range mt.Find(text) {
		b.WriteString(text[at:m.Start])
		b.WriteString("[[ " + m.Phonemes + " ]]")
		at = m.End
	}
	b.WriteString(text[at:])
	return b.String()
}

func isWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsNumber(r) || r == '\'' || r == '’'
}

func isHangul(r rune) bool { return unicode.Is(unicode.Hangul, r) }
