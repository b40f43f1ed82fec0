package textnorm_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/chorus-voice/chorus/shared/textnorm"
)

// FuzzSplit checks the splitter's contract on any input: pieces are
// non-empty, trimmed and at most maxRunes long, and (for valid UTF-8) they
// hold exactly the input's non-space characters, in order: nothing is lost,
// duplicated or reordered, whatever the punctuation.
func FuzzSplit(f *testing.F) {
	f.Add("Hello world. How are you today? Fine, thanks!", 12)
	f.Add("안녕하세요。오늘 날씨가 정말 좋네요！그렇죠？", 5)
	f.Add("Supercalifragilisticexpialidocious", 4)
	f.Add("a. b, c; d: e — f … g", 1)
	f.Add("   \t\n  ", 3)
	f.Add("one\u00a0two\u2003three\u3000four", 4)
	f.Add("\xff\xfe. \xc3", 2)
	f.Add(strings.Repeat("word, ", 200), 37)
	f.Fuzz(func(t *testing.T, s string, n int) {
		n = int(uint(n)%300) + 1
		pieces := textnorm.Split(s, n)
		for _, p := range pieces {
			if p == "" || p != strings.TrimSpace(p) || utf8.RuneCountInString(p) > n {
				t.Fatalf("bad piece %q (max %d) from %q", p, n, s)
			}
		}
		if !utf8.ValidString(s) {
			return
		}
		noSpace := func(x string) string { return strings.Join(strings.Fields(x), "") }
		if got, want := noSpace(strings.Join(pieces, "")), noSpace(s); got != want {
			t.Fatalf("pieces %q do not hold the text %q", pieces, s)
		}
	})
}
