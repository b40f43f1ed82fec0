package phonemize_test

import (
	"testing"
	"unicode"

	"golang.org/x/text/unicode/norm"

	"github.com/chorus-voice/chorus/shared/utterance"
	"github.com/chorus-voice/chorus/synth-job/phonemize"
)

// FuzzTextIDs maps arbitrary text through a phoneme_id_map built from
// arbitrary symbols: no panic, the Piper layout ^ _ p1 _ … pn _ $ always
// holds, every known phoneme appears with its id, and every unknown one is
// counted as missing, never silently dropped or mapped to a wrong id.
func FuzzTextIDs(f *testing.F) {
	f.Add("həlˈoʊ wˈɜːld!", "həloʊwɜːld ˈ!")
	f.Add("Café déjà vu", "abcdefghijklmnopqrstuvwxyz ")
	f.Add("안녕하세요", "안")
	f.Add("", "a")
	f.Add("^_$", "^_$")
	f.Add("\xff\xfe x", "x")
	f.Fuzz(func(t *testing.T, text, symbols string) {
		m := phonemize.IDMap{"^": {1}, "_": {0}, "$": {2}}
		next := int64(3)
		for _, r := range norm.NFD.String(symbols) {
			if _, ok := m[string(r)]; !ok {
				m[string(r)] = []int64{next}
				next++
			}
		}
		for _, s := range phonemize.Text(text) {
			if len(s) == 0 || unicode.IsSpace(s[0]) || unicode.IsSpace(s[len(s)-1]) {
				t.Fatalf("sentence %q is empty or not trimmed", s)
			}
			ids, missing := phonemize.IDs(s, m)
			if len(ids) < 3 || ids[0] != 1 || ids[1] != 0 || ids[len(ids)-1] != 2 {
				t.Fatalf("layout of %v for %q", ids, s)
			}
			k := 2
			lost := map[rune]int{}
			for _, r := range s {
				want, ok := m[string(r)]
				if !ok {
					lost[r]++
					continue
				}
				if k+1 >= len(ids) || ids[k] != want[0] || ids[k+1] != 0 {
					t.Fatalf("phoneme %q: ids %v at %d, want %d then pad", r, ids, k, want[0])
				}
				k += 2
			}
			if k != len(ids)-1 {
				t.Fatalf("%d ids for %q, layout needs %d", len(ids), s, k+1)
			}
			if len(lost) != len(missing) {
				t.Fatalf("missing %v, want %v", missing, lost)
			}
			for r, n := range lost {
				if missing[r] != n {
					t.Fatalf("missing %v, want %v", missing, lost)
				}
			}
		}
	})
}

// FuzzInlineWithLexicon speaks any text with inline phonemes and a lexicon
// entry of any word and phonemes (entries the rules refuse included)
// through the front-end and espeak-ng: no panic, and every model sentence
// keeps Piper's layout ^ _ p1 _ … pn _ $ with the start and end symbols
// only at the ends, whatever the text or the entry tried to insert.
func FuzzInlineWithLexicon(f *testing.F) {
	f.Add("My name is [[ hˈɑːnə ]]. Hana!", "Hana", "hˈɑːnə")
	f.Add("[[ ^$_ ]] x [[", "x", "^")
	f.Add("하나가 [[ a ]] 노래해요", "하나", "h_a$")
	f.Add("I 💜 you", "💜", "lˈʌv")
	f.Add("", "", "")
	f.Fuzz(func(t *testing.T, text, word, phonemes string) {
		m := phonemize.IDMap{"^": {1}, "_": {0}, "$": {2}}
		next := int64(3)
		for _, r := range norm.NFD.String(phonemes + "həlˈoʊ wɜːdæŋ.,?!") {
			if _, ok := m[string(r)]; !ok {
				m[string(r)] = []int64{next}
				next++
			}
		}
		u := utterance.Prepare(text, "en-us", phonemize.Lexicon{word: phonemes})
		for _, s := range u.Sentences {
			for _, v := range []phonemize.Voice{{Espeak: "en-us", MaxTextRunes: 50}, {Text: true}} {
				sents, err := v.Speak(s.Parts)
				if err != nil {
					t.Fatalf("%q: %v", text, err)
				}
				for _, ph := range sents {
					ids, _ := phonemize.IDs(ph, m)
					if len(ids) < 3 || ids[0] != 1 || ids[1] != 0 || ids[len(ids)-1] != 2 {
						t.Fatalf("layout %v for %q", ids, ph)
					}
					for i := 2; i < len(ids)-1; i++ {
						if (i%2 == 1) != (ids[i] == 0) || ids[i] == 1 || ids[i] == 2 {
							t.Fatalf("ids %v for %q: a special symbol inside", ids, ph)
						}
					}
				}
			}
		}
	})
}
