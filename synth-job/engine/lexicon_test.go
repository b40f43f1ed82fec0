package engine

import (
	"slices"
	"testing"

	"github.com/chorus-voice/chorus/synth-job/phonemize"
	"github.com/chorus-voice/chorus/synth-job/voice"
)

// A member's lexicon entry for their own name decides its phonemes, in
// Korean and romanised; inline [[ phonemes ]] pass straight through.
func TestLexiconDecidesTheIDs(t *testing.T) {
	e, v := fakeEngine(t, Options{}, &fakeModel{memIDs: 1 << 30}, voice.SpeakerPerRun)
	ids := func(text string, lex phonemize.Lexicon) []int64 {
		its, _, _, err := e.prepare(v.Config, 0, Request{Text: text, Lexicon: lex})
		if err != nil || len(its) != 1 {
			t.Fatalf("%q: %d items, %v", text, len(its), err)
		}
		return its[0].ids
	}
	want := func(phonemes string) []int64 {
		out, _ := phonemize.IDs(phonemize.Sentence([]rune(phonemes)), v.Config.PhonemeIDMap)
		return out[2 : len(out)-1] // without ^ _ … $
	}
	lex := phonemize.Lexicon{"Hana": "hˈɑːnɑ", "하나": "hˈɑːnɑ"}
	plain := ids("Hana sings.", nil)
	for _, text := range []string{"Hana sings.", "HANA sings."} {
		got := ids(text, lex)
		if slices.Equal(got, plain) {
			t.Fatalf("%q: the lexicon changed nothing", text)
		}
		if !containsRun(got, want("hˈɑːnɑ")) {
			t.Errorf("%q: ids %v lack the entry's %v", text, got, want("hˈɑːnɑ"))
		}
	}
	if got := ids("Hello [[ hˈɑːnɑ ]].", nil); !containsRun(got, want("hˈɑːnɑ")) {
		t.Errorf("inline phonemes: ids %v lack %v", got, want("hˈɑːnɑ"))
	}
	v.Config.Espeak.Voice = "ko"
	if got := ids("하나 노래해요.", lex); !containsRun(got, want("hˈɑːnɑ")) {
		t.Errorf("Korean name: ids %v lack %v", got, want("hˈɑːnɑ"))
	}
}

func containsRun(s, run []int64) bool {
	for i := 0; i+len(run) <= len(s); i++ {
		if slices.Equal(s[i:i+len(run)], run) {
			return true
		}
	}
	return false
}
