package phonemize

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/chorus-voice/chorus/shared/utterance"
)

func TestJoinKeepsPhonemesInTheirSentence(t *testing.T) {
	plain := func(text string) ([]Sentence, error) {
		var out []Sentence
		for _, s := range strings.SplitAfter(text, ".") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, Sentence(s))
			}
		}
		return out, nil
	}
	parts := []utterance.Part{{Text: "my name is"}, {Text: "hˈɑːnə", Phonemes: true}, {Text: "and i sing. next one."}}
	got, err := join(parts, plain)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].String() != "my name is hˈɑːnə and i sing." || got[1].String() != "next one." {
		t.Fatalf("sentences %q", got)
	}
}

// Chorus gives a Piper voice one model sentence per sentence the user
// wrote (captions need them), and inside it Piper's clauses: for "Wait...
// what?! Really?" Piper's phonemiser makes wˈeɪtwˌʌt? and ɹˈiəli? (issue
// 17, measured against sherpa-onnx); Chorus makes the same two, with the
// glued words kept apart.
func TestSentencesAPiperVoiceGets(t *testing.T) {
	u := utterance.Prepare("Wait... what?! Really?", "en-us", nil)
	if got := u.Captions(); !slices.Equal(got, []string{"Wait... what?!", "Really?"}) {
		t.Fatalf("captions %q", got)
	}
	var got []string
	for _, s := range u.Sentences {
		sents, err := Voice{Espeak: "en-us"}.Speak(s.Parts)
		if err != nil {
			t.Fatal(err)
		}
		for _, ph := range sents {
			got = append(got, ph.String())
		}
	}
	if want := []string{"wˈeɪt wˌʌt?", "ɹˈiəli?"}; !slices.Equal(got, want) {
		t.Fatalf("model sentences %q, want %q", got, want)
	}
}

// Inline phonemes cannot insert the voice's start, end or pad symbol:
// the ids of the text keep the layout ^ _ p1 _ … _ $ with ^ and $ only at
// the ends (issue 15, hardening).
func TestInlinePhonemesCannotInsertSpecialSymbols(t *testing.T) {
	for _, text := range []string{"[[ h^ə$l_o ]]", "[[ ^^^ ]] hello", "[[ $ ]]"} {
		u := utterance.Prepare(text, "en-us", nil)
		for _, s := range u.Sentences {
			for _, v := range []Voice{{Espeak: "en-us"}, {Text: true}} {
				sents, err := v.Speak(s.Parts)
				if err != nil {
					t.Fatal(err)
				}
				for _, ph := range sents {
					ids, _ := IDs(ph, testMap)
					if slices.Contains(ids[1:len(ids)-1], 1) || slices.Contains(ids[1:len(ids)-1], 2) {
						t.Errorf("%q: ids %v carry ^ or $ inside", text, ids)
					}
					for i := 2; i < len(ids)-1; i += 2 {
						if ids[i] == 0 {
							t.Errorf("%q: ids %v carry a pad where a phoneme belongs", text, ids)
						}
					}
				}
			}
		}
	}
	// Plain text for a text voice cannot insert them either.
	if got := Text("a^b_c$"); len(got) != 1 || got[0].String() != "abc" {
		t.Errorf("Text = %q", got)
	}
}

func TestCheckEntry(t *testing.T) {
	ids := IDMap{"_": {0}, "^": {1}, "$": {2}, " ": {3}, "h": {4}, "a": {5}, "n": {6}, "ˈ": {7}}
	if err := CheckEntry("Hana", "hˈana", ids, nil); err != nil {
		t.Fatalf("good entry: %v", err)
	}
	if err := CheckEntry("Hana", "hˈɑna", ids, map[string][]string{"ɑ": {"a"}}); err != nil {
		t.Fatalf("entry using the voice's phoneme_map: %v", err)
	}
	for _, bad := range [][2]string{{"", "hana"}, {"Hana", ""}, {"Hana", "hˈɑːnə"}, {"[[x]]", "h"}, {"!!", "h"},
		{strings.Repeat("a", 65), "h"}, {"Hana", "^hana"}, {"Hana", "ha_na"}} {
		if err := CheckEntry(bad[0], bad[1], ids, nil); !errors.Is(err, ErrLexicon) {
			t.Errorf("CheckEntry(%q, %q) = %v, want ErrLexicon", bad[0], bad[1], err)
		}
	}
}
