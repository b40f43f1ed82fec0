package textnorm

import (
	"strings"
	"unicode/utf8"
)

// Span is a half-open range of byte offsets [Start, End) in the original
// text, the text as the user wrote it.
type Span struct{ Start, End int }

// Len is the span's length in bytes.
func (s Span) Len() int { return s.End - s.Start }

// union is the smallest span covering a and b; a zero-width span only
// contributes its position.
func (s Span) union(o Span) Span { return Span{min(s.Start, o.Start), max(s.End, o.End)} }

// Mapped is text derived from an original text, with an offset map back to
// it: every byte of the derived text knows the span of the original it
// came from. Text copied unchanged maps byte for byte; text a rule wrote
// ("49 dollars 95 cents" for "$49.95", "세" for "3", phonemes for a
// lexicon word) maps, as a whole, to the span the rule read. Text removed
// (an emoji, invisible characters) is remembered in Dropped.
//
// Offsets are bytes of the original, so original[s.Start:s.End] is the
// written text of a Span. The zero Mapped is empty.
type Mapped struct {
	text    string
	src     []Span // src[i] is where byte i of text came from
	dropped []Span // original spans removed with nothing in their place
}

// NewMapped starts a derivation from original, whose first byte sits at
// offset base of the text offsets refer to (a sentence's offset in the
// whole text, or 0).
func NewMapped(original string, base int) Mapped {
	src := make([]Span, len(original))
	for i := 0; i < len(original); {
		_, size := utf8.DecodeRuneInString(original[i:])
		for k := range size {
			src[i+k] = Span{base + i, base + i + size}
		}
		i += size
	}
	return Mapped{text: original, src: src}
}

// String is the derived text.
func (m Mapped) String() string { return m.text }

// Len is the derived text's length in bytes.
func (m Mapped) Len() int { return len(m.text) }

// Source is the span of the original that the derived bytes [from, to)
// came from. An empty range maps to an empty span where it sits.
func (m Mapped) Source(from, to int) Span {
	from, to = max(from, 0), min(to, len(m.text))
	if from >= to {
		return m.point(from)
	}
	s := m.src[from]
	for _, o := range m.src[from+1 : to] {
		s = s.union(o)
	}
	return s
}

// point is the empty span at derived offset at: where the original text
// stands between the bytes before and after it.
func (m Mapped) point(at int) Span {
	switch {
	case len(m.src) == 0:
		return Span{}
	case at <= 0:
		return Span{m.src[0].Start, m.src[0].Start}
	case at >= len(m.src):
		e := m.src[len(m.src)-1].End
		return Span{e, e}
	}
	e := m.src[at-1].End
	return Span{e, e}
}

// Dropped lists the spans of the original removed without a replacement
// (emoji, invisible characters), in the order they were removed.
func (m Mapped) Dropped() []Span { return m.dropped }

// A Word is a run of non-space derived text and where it came from.
type Word struct {
	Text string
	// At is the word's byte range in the derived text.
	At Span
	// Source is the span of the original it came from: for an expanded
	// symbol, the symbol as written ("degrees" and "Celsius" both point
	// at "°C").
	Source Span
}

// Words splits the derived text at spaces and maps each word back.
func (m Mapped) Words() []Word {
	var out []Word
	for i := 0; i < len(m.text); {
		if m.text[i] == ' ' {
			i++
			continue
		}
		j := i
		for j < len(m.text) && m.text[j] != ' ' {
			j++
		}
		out = append(out, Word{Text: m.text[i:j], At: Span{i, j}, Source: m.Source(i, j)})
		i = j
	}
	return out
}

// Slice is the derived bytes [from, to) with their map. from and to must
// be on rune boundaries.
func (m Mapped) Slice(from, to int) Mapped {
	return Mapped{text: m.text[from:to], src: m.src[from:to:to]}
}

// builder derives one Mapped from another.
type builder struct {
	b       strings.Builder
	src     []Span
	dropped []Span
}

func newBuilder(m Mapped) *builder {
	b := &builder{src: make([]Span, 0, len(m.src)), dropped: append([]Span(nil), m.dropped...)}
	b.b.Grow(len(m.text))
	return b
}

// copy keeps m's bytes [from, to) and their origins.
func (b *builder) copy(m Mapped, from, to int) {
	b.b.WriteString(m.text[from:to])
	b.src = append(b.src, m.src[from:to]...)
}

// write puts s in place of m's bytes [from, to): all of s maps to what
// they came from. Writing nothing in place of something drops it.
func (b *builder) write(s string, m Mapped, from, to int) {
	src := m.Source(from, to)
	if s == "" {
		switch n := len(b.dropped); {
		case from >= to:
		case n > 0 && b.dropped[n-1].End == src.Start:
			b.dropped[n-1].End = src.End // "💜💜💜" is one span
		default:
			b.dropped = append(b.dropped, src)
		}
		return
	}
	b.b.WriteString(s)
	for range len(s) {
		b.src = append(b.src, src)
	}
}

// rewrite puts s in place of m's bytes [from, to), keeping the map fine
// where s and the replaced text share a beginning or an end: rewriting
// "0%" as "0 percent" keeps "0" mapped to "0" and maps " percent" to "%".
func (b *builder) rewrite(s string, m Mapped, from, to int) {
	old := m.text[from:to]
	p := commonPrefix(old, s)
	q := commonSuffix(old[p:], s[p:])
	b.copy(m, from, from+p)
	b.write(s[p:len(s)-q], m, from+p, to-q)
	b.copy(m, to-q, to)
}

func (b *builder) mapped() Mapped {
	return Mapped{text: b.b.String(), src: b.src, dropped: b.dropped}
}

// commonPrefix is the length in bytes of the longest common prefix of a
// and b that ends on a rune boundary.
func commonPrefix(a, b string) int {
	n := 0
	for n < len(a) && n < len(b) {
		ra, sa := utf8.DecodeRuneInString(a[n:])
		rb, sb := utf8.DecodeRuneInString(b[n:])
		if ra != rb || sa != sb || ra == utf8.RuneError {
			break
		}
		n += sa
	}
	return n
}

// commonSuffix is the length in bytes of the longest common suffix of a
// and b that starts on a rune boundary.
func commonSuffix(a, b string) int {
	n := 0
	for n < len(a) && n < len(b) {
		ra, sa := utf8.DecodeLastRuneInString(a[:len(a)-n])
		rb, sb := utf8.DecodeLastRuneInString(b[:len(b)-n])
		if ra != rb || sa != sb || ra == utf8.RuneError {
			break
		}
		n += sa
	}
	return n
}

// mapRunes rewrites m rune by rune: f returns the replacement of one rune
// (itself to keep it, "" to drop it).
func mapRunes(m Mapped, f func(r rune) (string, bool)) Mapped {
	var b *builder
	for i := 0; i < len(m.text); {
		r, size := utf8.DecodeRuneInString(m.text[i:])
		repl, changed := f(r)
		if changed && b == nil {
			b = newBuilder(m)
			b.copy(m, 0, i)
		}
		if b != nil {
			if changed {
				b.write(repl, m, i, i+size)
			} else {
				b.copy(m, i, i+size)
			}
		}
		i += size
	}
	if b == nil {
		return m
	}
	return b.mapped()
}

// collapse turns every run of spaces into one space and trims the ends:
// the derived text has single spaces between words.
func collapse(m Mapped) Mapped {
	t := m.text
	if !strings.Contains(t, "  ") && !strings.HasPrefix(t, " ") && !strings.HasSuffix(t, " ") {
		return m
	}
	b := newBuilder(m)
	for i := 0; i < len(t); {
		if t[i] != ' ' {
			j := i
			for j < len(t) && t[j] != ' ' {
				j++
			}
			if b.b.Len() > 0 {
				b.copy(m, i-1, i) // one space before the word
			}
			b.copy(m, i, j)
			i = j
			continue
		}
		i++
	}
	return b.mapped()
}

// Replaced is text s written in place of the original span src: all of it
// maps to src (phonemes a lexicon entry gives for a word, for example).
func Replaced(s string, src Span) Mapped {
	m := Mapped{text: s, src: make([]Span, len(s))}
	for i := range m.src {
		m.src[i] = src
	}
	if s == "" && src.Len() > 0 {
		m.dropped = []Span{src}
	}
	return m
}
