package utterance_test

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/chorus-voice/chorus/shared/lexicon"
	"github.com/chorus-voice/chorus/shared/textnorm"
	"github.com/chorus-voice/chorus/shared/utterance"
)

// FuzzKeyIsEngineInput: the cache key equals the engine's input. For any
// two texts (and a lexicon word), their keys are equal exactly when what
// the engine is given is equal. It also checks what Prepare promises:
// every sentence is the text at its span, every part's map slices the
// original, parts have text, and without a lexicon or inline phonemes the
// utterance is speakable exactly when textnorm.SpeakableIn says so (the
// rule the web app mirrors).
func FuzzKeyIsEngineInput(f *testing.F) {
	for _, p := range [][4]string{
		{"Good morning!\u0001Have a nice day.", "Good morning! Have a nice day.", "", ""},
		{"Thanks. & you too!", "Thanks. and you too!", "", ""},
		{"[[ a&b ]]", "[[ a and b ]]", "", ""},
		{"Good morning!  Have a nice day.", "Good morning!\nHave a nice day.", "", ""},
		{"Love you 💜💜💜", "Love you", "💜", "lˈʌv"},
		{"Hana sings", "[[ hˈɑːnə ]] sings", "Hana", "hˈɑːnə"},
		{"오후 3시에 만나요", "오후 세 시에 만나요", "", ""},
		{"It's 40–60°C", "It's 40 to 60 degrees Celsius", "", ""},
		{"a\xffb", "a b", "", ""},
		{"x", "x", "", "x"},
	} {
		f.Add(p[0], p[1], p[2], p[3])
	}
	f.Fuzz(func(t *testing.T, a, b, word, phonemes string) {
		lex := lexicon.Lexicon{word: phonemes}
		for _, lang := range []string{"en-us", "ko"} {
			ua, ub := utterance.Prepare(a, lang, lex), utterance.Prepare(b, lang, lex)
			check(t, a, lang, ua, word == "")
			check(t, b, lang, ub, word == "")
			same := slices.Equal(shown(ua), shown(ub))
			if (ua.Key() == ub.Key()) != same {
				t.Fatalf("%s: keys equal %v, engine input equal %v:\n %q\n %q", lang, ua.Key() == ub.Key(), same, spoken(ua), spoken(ub))
			}
		}
	})
}

// shown is spoken with each caption as a WebVTT player shows it, written
// independently of the package: the lines of the cue, each with its runs
// of white space as one, blank lines dropped.
func shown(u utterance.Utterance) []string {
	out := spoken(u)
	for i, s := range out {
		c, ok := strings.CutPrefix(s, "S:")
		if !ok {
			continue
		}
		var lines []string
		for _, l := range strings.Split(strings.ReplaceAll(strings.ReplaceAll(c, "\r\n", "\n"), "\r", "\n"), "\n") {
			if l = strings.Join(strings.Fields(l), " "); l != "" {
				lines = append(lines, l)
			}
		}
		out[i] = "S:" + strings.Join(lines, "\n")
	}
	return out
}

func check(t *testing.T, text, lang string, u utterance.Utterance, noLexicon bool) {
	t.Helper()
	for _, s := range u.Sentences {
		if s.Span.Start < 0 || s.Span.End > len(text) || text[s.Span.Start:s.Span.End] != s.Text || s.Text == "" {
			t.Fatalf("sentence %q at %v of %q", s.Text, s.Span, text)
		}
		for _, p := range s.Parts {
			if p.Text == "" || p.Map.String() != p.Text || !utf8.ValidString(p.Text) {
				t.Fatalf("part %+v of %q", p, text)
			}
			for _, w := range p.Map.Words() {
				if w.Source.Start < s.Span.Start || w.Source.End > s.Span.End || w.Source.Start > w.Source.End {
					t.Fatalf("word %q maps to %v, outside its sentence %v of %q", w.Text, w.Source, s.Span, text)
				}
			}
		}
	}
	if noLexicon && !strings.Contains(text, "[[") {
		if got, want := u.Speakable(), textnorm.SpeakableIn(text, lang); got != want {
			t.Fatalf("%s: Prepare(%q).Speakable() = %v, SpeakableIn = %v", lang, text, got, want)
		}
	}
}
