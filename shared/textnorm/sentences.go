package textnorm

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Sentences splits text, as the user wrote it, into its sentences: each a
// trimmed substring of text, never empty, in order. The engine speaks them
// one by one and times one caption cue per sentence, so a cue's text is
// exactly what the user typed.
//
// A sentence ends after . ! ? … (and the CJK 。！？, which need no space
// after them), with any closing quotes or brackets that follow, where
// white space or the end of the text comes next. It does not end
//   - inside inline phonemes [[ … ]],
//   - before a word that starts with a lower-case letter ("e.g. this"),
//   - after a single capital letter (initials: "J. R. R. Tolkien"),
//   - in English, after an abbreviation Normalize expands before a word
//     ("Dr. Kim"), or "No." before a number.
//
// A piece with nothing to say (emoji, lone punctuation: see SpeakableIn)
// joins the sentence before it, or the one after it at the start.
func Sentences(text, lang string) []string {
	spans := SentenceSpans(text, lang)
	if spans == nil {
		return nil
	}
	out := make([]string, len(spans))
	for i, s := range spans {
		out[i] = text[s.Start:s.End]
	}
	return out
}

// SentenceSpans is Sentences as byte offsets into text: text[s.Start:s.End]
// is each sentence.
func SentenceSpans(text, lang string) []Span {
	english := langOf(lang) == "en"
	var cuts []int // byte offsets where a sentence ends
	for i := 0; i < len(text); {
		if strings.HasPrefix(text[i:], "[[") {
			if end := strings.Index(text[i+2:], "]]"); end >= 0 {
				i += 2 + end + 2
				continue
			}
		}
		r, size := utf8.DecodeRuneInString(text[i:])
		if !isSentenceEnd(r) {
			i += size
			continue
		}
		j := i + size
		for j < len(text) {
			r2, s2 := utf8.DecodeRuneInString(text[j:])
			if !isSentenceEnd(r2) && !isCloser(r2) {
				break
			}
			j += s2
		}
		next, _ := utf8.DecodeRuneInString(text[j:])
		if j == len(text) || (unicode.IsSpace(next) && endsHere(text, i, j, english)) || (isCJKStop(r) && j < len(text)) {
			cuts = append(cuts, j)
		}
		i = j
	}
	if len(cuts) == 0 || cuts[len(cuts)-1] != len(text) {
		cuts = append(cuts, len(text))
	}

	type span struct{ from, to int }
	var spans []span
	from := 0
	for _, to := range cuts {
		if strings.TrimSpace(text[from:to]) != "" {
			spans = append(spans, span{from, to})
		}
		from = to
	}
	// Pieces with nothing to say join a neighbour.
	var merged []span
	carry := -1 // start of unspeakable pieces waiting for a sentence
	for _, s := range spans {
		if !SpeakableIn(text[s.from:s.to], lang) {
			if len(merged) > 0 {
				merged[len(merged)-1].to = s.to
			} else if carry < 0 {
				carry = s.from
			}
			continue
		}
		if carry >= 0 {
			s.from, carry = carry, -1
		}
		merged = append(merged, s)
	}
	if len(merged) == 0 {
		if strings.TrimSpace(text) != "" {
			return []Span{trimmed(text, 0, len(text))}
		}
		return nil
	}
	out := make([]Span, len(merged))
	for i, s := range merged {
		out[i] = trimmed(text, s.from, s.to)
	}
	return out
}

// trimmed is text[from:to] without the white space at its ends.
func trimmed(text string, from, to int) Span {
	s := text[from:to]
	lead := len(s) - len(strings.TrimLeftFunc(s, unicode.IsSpace))
	trail := len(s) - len(strings.TrimRightFunc(s, unicode.IsSpace))
	return Span{from + lead, max(to-trail, from+lead)}
}

// endsHere reports whether the punctuation text[at:end] (followed by white
// space) ends a sentence, by the exceptions of Sentences.
func endsHere(text string, at, end int, english bool) bool {
	rest := strings.TrimLeftFunc(text[end:], unicode.IsSpace)
	next, _ := utf8.DecodeRuneInString(rest)
	if unicode.IsLower(next) {
		return false
	}
	if text[at] != '.' || end != at+1 {
		return true // ! ? … or several marks: always an end
	}
	// The word before the full stop.
	start := at
	for start > 0 {
		r, size := utf8.DecodeLastRuneInString(text[:start])
		if !unicode.IsLetter(r) {
			break
		}
		start -= size
	}
	word := text[start:at]
	if utf8.RuneCountInString(word) == 1 && unicode.IsUpper([]rune(word)[0]) {
		return false // an initial
	}
	if english {
		if word == "No" && unicode.IsDigit(next) {
			return false
		}
		if unicode.IsLetter(next) {
			for _, a := range englishAbbrev {
				if a.abbr == word {
					return false
				}
			}
		}
	}
	return true
}

func isCloser(r rune) bool { return strings.ContainsRune("\"'”’)]}»」』", r) }
