package textnorm

import (
	"unicode"
	"unicode/utf8"
)

//go:generate node gen_pictographic.mjs

// DropPictographs removes emoji and other pictographs from m, with
// everything that only dresses them: skin-tone modifiers, variation
// selectors and zero-width joiners inside an emoji sequence, the tags of
// subdivision flags, regional-indicator flags and keycaps ("1️⃣" goes as a
// whole). espeak-ng reads pictographs by name ("Love you 💜💜💜" → "love you
// purple purple purple"); fans put them beside their words to be seen, not
// heard. The removed spans stay in m.Dropped, so that what the fan typed
// can still be shown where the audio has nothing for it.
//
// Pictographs are the code points with the Unicode property
// Extended_Pictographic (UTS #51, table generated from ICU).
func DropPictographs(m Mapped) Mapped {
	t := m.text
	var b *builder
	for i := 0; i < len(t); {
		n := pictographAt(t, i)
		if n == 0 {
			_, size := utf8.DecodeRuneInString(t[i:])
			if b != nil {
				b.copy(m, i, i+size)
			}
			i += size
			continue
		}
		if b == nil {
			b = newBuilder(m)
			b.copy(m, 0, i)
		}
		b.write("", m, i, i+n)
		i += n
	}
	if b == nil {
		return m
	}
	return b.mapped()
}

// pictographAt is the length in bytes of the emoji sequence starting at
// t[i:], or 0 when none starts there.
func pictographAt(t string, i int) int {
	r, size := utf8.DecodeRuneInString(t[i:])
	j := i + size
	switch {
	case isPictograph(r), isRegionalIndicator(r), isEmojiModifier(r), isTag(r), r == keycap:
	case r == '#' || r == '*' || ('0' <= r && r <= '9'):
		// A keycap: the base, an optional emoji presentation selector, and
		// the combining enclosing keycap.
		k := j
		if r2, s2 := utf8.DecodeRuneInString(t[k:]); r2 == vs16 {
			k += s2
		}
		if r2, s2 := utf8.DecodeRuneInString(t[k:]); r2 == keycap {
			return k + s2 - i
		}
		return 0
	default:
		return 0
	}
	// What dresses the pictograph, and further pictographs joined to it.
	for j < len(t) {
		r2, s2 := utf8.DecodeRuneInString(t[j:])
		switch {
		case r2 == vs15 || r2 == vs16 || isEmojiModifier(r2) || isTag(r2) || r2 == keycap:
			j += s2
		case isRegionalIndicator(r2) && isRegionalIndicator(r):
			j += s2
			r = 0 // a flag is a pair
		case r2 == zwj:
			if n := pictographAt(t, j+s2); n > 0 {
				j += s2 + n
				continue
			}
			return j + s2 - i // a joiner dangling after an emoji goes with it
		default:
			return j - i
		}
	}
	return j - i
}

const (
	zwj    = '\u200d'
	vs15   = '\ufe0e'
	vs16   = '\ufe0f'
	keycap = '\u20e3'
)

func isPictograph(r rune) bool        { return r >= 0xa9 && unicode.Is(pictographic, r) }
func isRegionalIndicator(r rune) bool { return 0x1f1e6 <= r && r <= 0x1f1ff }
func isEmojiModifier(r rune) bool     { return 0x1f3fb <= r && r <= 0x1f3ff }
func isTag(r rune) bool               { return 0xe0020 <= r && r <= 0xe007f }
