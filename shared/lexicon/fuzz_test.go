package lexicon_test

import (
	"strings"
	"testing"

	"github.com/chorus-voice/chorus/shared/lexicon"
)

// FuzzApply runs any text against a lexicon of any word, including ones
// the rules refuse (the empty word that once crashed Apply): no panic;
// without "[[" in the text or the word, removing the inserted phonemes
// gives back the text minus the matched words, and each match is the
// entry's word in some case.
func FuzzApply(f *testing.F) {
	f.Add("Hana sings", "Hana", "hˈɑːnə")
	f.Add("하나가 노래해요", "하나", "hana")
	f.Add("x", "", "x")
	f.Add("a  b", " ", "y")
	f.Add("İstanbul ıi", "İ", "i")
	f.Add("💜💜 I💜u", "💜", "l")
	f.Add("\xff\xfeA", "A", "a")
	f.Fuzz(func(t *testing.T, text, word, phonemes string) {
		l := lexicon.Lexicon{word: phonemes, "Kim": "kˈɪm"}
		out := l.Apply(text)
		ms := l.Compile().Find(text)
		prev := 0
		for _, m := range ms {
			if m.Start < prev || m.End <= m.Start || m.End > len(text) {
				t.Fatalf("match %+v out of order in %q", m, text)
			}
			if !lexicon.SameWord(text[m.Start:m.End], m.Word) {
				t.Fatalf("match %q is not the word %q", text[m.Start:m.End], m.Word)
			}
			prev = m.End
		}
		if strings.Contains(text, "[[") || strings.Contains(word, "[[") {
			return
		}
		var rest strings.Builder
		at := 0
		for _, m := range ms {
			rest.WriteString(text[at:m.Start])
			at = m.End
		}
		rest.WriteString(text[at:])
		stripped := out
		for _, m := range ms {
			stripped = strings.Replace(stripped, "[[ "+m.Phonemes+" ]]", "", 1)
		}
		if stripped != rest.String() {
			t.Fatalf("Apply(%q) = %q: without the phonemes %q, want %q", text, out, stripped, rest.String())
		}
	})
}
