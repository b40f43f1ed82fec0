package textnorm

import (
	"strings"
	"unicode"
)

// Split cuts text into pieces of at most maxRunes runes (maxRunes < 1 means
// no limit), so that each piece becomes bounded model input. It cuts after
// sentence punctuation when it can, else after clause punctuation, else at a
// space, and only as a last resort inside a word. Pieces are trimmed and
// never empty; joining them with spaces gives back the cleaned text.
func Split(text string, maxRunes int) []string {
	text = strings.TrimSpace(text)
	if text == "" {
		return nil
	}
	rs := []rune(text)
	if maxRunes < 1 || len(rs) <= maxRunes {
		return []string{text}
	}
	var out []string
	for len(rs) > 0 {
		if len(rs) <= maxRunes {
			out = appendPiece(out, rs)
			break
		}
		cut := bestCut(rs[:maxRunes+1])
		out = appendPiece(out, rs[:cut])
		rs = rs[cut:]
		for len(rs) > 0 && unicode.IsSpace(rs[0]) {
			rs = rs[1:]
		}
	}
	return out
}

func appendPiece(out []string, rs []rune) []string {
	if s := strings.TrimSpace(string(rs)); s != "" {
		out = append(out, s)
	}
	return out
}

// bestCut returns where to end the piece within window (len ≥ 2): the
// position after the last sentence end, else clause end, else space, else
// the window's length minus one.
func bestCut(window []rune) int {
	limit := len(window) - 1 // the piece is window[:cut], cut ≤ limit
	for _, class := range []func(rune) bool{isSentenceEnd, isClauseEnd} {
		for i := limit - 1; i > 0; i-- {
			if class(window[i]) && unicode.IsSpace(window[i+1]) {
				return i + 1
			}
			if class(window[i]) && isCJKStop(window[i]) {
				return i + 1
			}
		}
	}
	for i := limit; i > 0; i-- {
		if unicode.IsSpace(window[i]) {
			return i
		}
	}
	return limit
}

func isSentenceEnd(r rune) bool { return strings.ContainsRune(".!?。！？…‼⁉", r) }
func isClauseEnd(r rune) bool   { return strings.ContainsRune(",;:，；：、—", r) }
func isCJKStop(r rune) bool     { return strings.ContainsRune("。！？，；：、", r) }
