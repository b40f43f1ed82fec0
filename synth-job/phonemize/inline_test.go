package phonemize

import (
	"errors"
	"strings"
	"testing"
)

func TestSegments(t *testing.T) {
	got := Segments("My name is [[ hˈɑːnə ]]. [[]] Bye [[ unclosed")
	want := []Segment{{Text: "My name is "}, {Text: "hˈɑːnə", Inline: true}, {Text: ". "}, {Text: " Bye [[ unclosed"}}
	if len(got) != len(want) {
		t.Fatalf("segments %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("segment %d: %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestLexiconApply(t *testing.T) {
	l := Lexicon{"Hana": "hˈɑːnə", "하나": "hˈana", "Starlight Avenue": "stˈɑːlaɪt ˈævənuː"}
	for in, want := range map[string]string{
		"Hana sings.":                 "[[ hˈɑːnə ]] sings.",
		"HANA! hana?":                 "[[ hˈɑːnə ]]! [[ hˈɑːnə ]]?",
		"Hanami and Shana":            "Hanami and Shana",
		"Welcome to Starlight Avenue": "Welcome to [[ stˈɑːlaɪt ˈævənuː ]]",
		"하나가 노래해요":                    "[[ hˈana ]]가 노래해요",
		"[[ hˈɑːnə ]] is Hana":        "[[ hˈɑːnə ]] is [[ hˈɑːnə ]]",
		"nothing here":                "nothing here",
	} {
		if got := l.Apply(in); got != want {
			t.Errorf("Apply(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestJoinKeepsInlinePhonemesInTheirSentence(t *testing.T) {
	plain := func(text string) ([]Sentence, error) {
		var out []Sentence
		for _, s := range strings.SplitAfter(text, ".") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, Sentence(s))
			}
		}
		return out, nil
	}
	got, err := Join(Segments("my name is [[ hˈɑːnə ]] and i sing. next one."), plain)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].String() != "my name is hˈɑːnə and i sing." || got[1].String() != "next one." {
		t.Fatalf("sentences %q", got)
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
	for _, bad := range [][2]string{{"", "hana"}, {"Hana", ""}, {"Hana", "hˈɑːnə"}, {"[[x]]", "h"}, {"!!", "h"}, {strings.Repeat("a", 65), "h"}} {
		if err := CheckEntry(bad[0], bad[1], ids, nil); !errors.Is(err, ErrLexicon) {
			t.Errorf("CheckEntry(%q, %q) = %v, want ErrLexicon", bad[0], bad[1], err)
		}
	}
}
