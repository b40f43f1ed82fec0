package phonemize

import (
	"fmt"
	"slices"
	"sync"
	"testing"
)

// testMap is a small Piper-style phoneme_id_map written for these tests, so
// the expected ids below can be checked by hand.
var testMap = IDMap{
	"_": {0}, "^": {1}, "$": {2}, " ": {3}, ".": {4}, ",": {5}, "?": {6}, "!": {7},
	"h": {8}, "ə": {9}, "l": {10}, "ˈ": {11}, "o": {12}, "ʊ": {13}, "w": {14},
	"ɜ": {15}, "ː": {16}, "d": {17},
	"ɐ": {20}, "n": {21}, "j": {22}, "ʌ": {23}, "ŋ": {24}, "ˌ": {25}, "s": {26}, "e": {27},
}

func TestEspeakEnglishIDs(t *testing.T) {
	got, err := Espeak("en-us", "Hello world. How are you today?")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"həlˈoʊ wˈɜːld.", "hˌaʊ ɑːɹ juː tədˈeɪ?"}
	if len(got) != len(want) {
		t.Fatalf("got %d sentences %q, want %q", len(got), got, want)
	}
	for i := range want {
		if got[i].String() != want[i] {
			t.Errorf("sentence %d = %q, want %q", i, got[i], want[i])
		}
	}
	ids, missing := IDs(got[0], testMap)
	// ^ _ h _ ə _ l _ ˈ _ o _ ʊ _ ␠ _ w _ ˈ _ ɜ _ ː _ l _ d _ . _ $
	wantIDs := []int64{1, 0, 8, 0, 9, 0, 10, 0, 11, 0, 12, 0, 13, 0, 3, 0, 14, 0, 11, 0, 15, 0, 16, 0, 10, 0, 17, 0, 4, 0, 2}
	if !slices.Equal(ids, wantIDs) {
		t.Errorf("ids = %v\nwant  %v", ids, wantIDs)
	}
	if missing != nil {
		t.Errorf("missing = %v, want none", missing)
	}
}

func TestEspeakKoreanIDs(t *testing.T) {
	got, err := Espeak("ko", "안녕하세요. 오늘 날씨가 정말 좋네요!")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"ˈɐnnjʌŋhˌɐsejˌo.", "ˈonɯɫnˈɐɫs-iqˌɐ tɕˈʌŋmɐɫ tɕˈot-nejˌo!"}
	if len(got) != 2 || got[0].String() != want[0] || got[1].String() != want[1] {
		t.Fatalf("sentences = %q, want %q", got, want)
	}
	ids, missing := IDs(got[0], testMap)
	// ^ _ ˈ _ ɐ _ n _ n _ j _ ʌ _ ŋ _ h _ ˌ _ ɐ _ s _ e _ j _ ˌ _ o _ . _ $
	wantIDs := []int64{1, 0, 11, 0, 20, 0, 21, 0, 21, 0, 22, 0, 23, 0, 24, 0, 8, 0, 25, 0, 20, 0, 26, 0, 27, 0, 22, 0, 25, 0, 12, 0, 4, 0, 2}
	if !slices.Equal(ids, wantIDs) {
		t.Errorf("ids = %v\nwant  %v", ids, wantIDs)
	}
	if missing != nil {
		t.Errorf("missing = %v, want none", missing)
	}
}

func TestIDsUnknownSymbolsSkippedAndCounted(t *testing.T) {
	// "ɯ" and "q" are not in testMap; "ə" maps to two ids.
	m := IDMap{"_": {0}, "^": {1}, "$": {2}, "ə": {9, 19}, "n": {21}}
	ids, missing := IDs(Sentence("nɯəqɯ"), m)
	want := []int64{1, 0, 21, 0, 9, 19, 0, 2}
	if !slices.Equal(ids, want) {
		t.Errorf("ids = %v, want %v", ids, want)
	}
	if fmt.Sprint(missing) != fmt.Sprint(map[rune]int{'ɯ': 2, 'q': 1}) {
		t.Errorf("missing = %v, want ɯ:2 q:1", missing)
	}
}

func TestEspeakPunctuation(t *testing.T) {
	tests := []struct {
		voice, text string
		want        []string
	}{
		{"en-us", "Hello, world; ok: fine", []string{"həlˈoʊ, wˈɜːld; ˌoʊkˈeɪ: fˈaɪn"}},
		{"en-us", `I said "yes." Then stop!`, []string{"aɪ sˈɛd jˈɛs.", "ðˈɛn stˈɑːp!"}},
		// An ellipsis ends no sentence, as in Piper (which glues the words:
		// wˈeɪtɹˈiəli?); Chorus keeps them apart.
		{"en-us", "Wait... really?! Yes", []string{"wˈeɪt ɹˈiəli?", "jˈɛs"}},
		{"en-us", "Wait… really?", []string{"wˈeɪt ɹˈiəli?"}},
		{"en-us", "Well...", []string{"wˈɛl"}},
		{"en-us", "  ... ?! ", nil},
		{"ko", "가나다, 좋네요", []string{"ɡˈɐnɐdˌɐ, tɕˈot-nejˌo"}},
	}
	for _, tt := range tests {
		got, err := Espeak(tt.voice, tt.text)
		if err != nil {
			t.Fatalf("%q: %v", tt.text, err)
		}
		var gs []string
		for _, s := range got {
			gs = append(gs, s.String())
		}
		if !slices.Equal(gs, tt.want) {
			t.Errorf("Espeak(%q, %q) = %q, want %q", tt.voice, tt.text, gs, tt.want)
		}
	}
}

func TestEspeakStripsLanguageSwitch(t *testing.T) {
	got, err := Espeak("ko", "hello 원")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range got {
		for _, r := range s {
			if r == '(' || r == ')' {
				t.Fatalf("language switch marker left in %q", s)
			}
		}
	}
	if len(got) != 1 {
		t.Fatalf("got %q, want one sentence", got)
	}
}

func TestEspeakUnknownVoice(t *testing.T) {
	if _, err := Espeak("no-such-voice-xx", "hello"); err == nil {
		t.Fatal("want an error for an unknown voice")
	}
	// A failed voice change must not break later calls.
	if _, err := Espeak("en-us", "hello"); err != nil {
		t.Fatal(err)
	}
}

func TestTextNFD(t *testing.T) {
	got := Text(" é! ")
	if len(got) != 1 || !slices.Equal([]rune(got[0]), []rune{'e', '\u0301', '!'}) {
		t.Fatalf("Text = %q (%U)", got, []rune(got[0]))
	}
	if Text(" ?! ") != nil {
		t.Fatal("punctuation only must give no sentence")
	}
}

func TestTerminator(t *testing.T) {
	tests := []struct {
		consumed  string
		lookahead bool
		want      rune
	}{
		{"Hello world. H", true, '.'},
		{` said "yes."`, true, '.'},
		{" Then, 3", true, ','},
		{"eally?!", false, '?'},
		{"Wait... w", true, ellipsis},
		{"Wait… w", true, ellipsis},
		{"Wait...? w", true, '?'},
		{"fine", false, 0},
		{"좋네요。 가", true, '.'},
		{"", true, 0},
	}
	for _, tt := range tests {
		if got := terminator(tt.consumed, tt.lookahead); got != tt.want {
			t.Errorf("terminator(%q, %v) = %q, want %q", tt.consumed, tt.lookahead, got, tt.want)
		}
	}
}

// espeak-ng is process-global; the package lock must keep concurrent
// callers with different voices from corrupting each other.
func TestEspeakConcurrent(t *testing.T) {
	en, _ := Espeak("en-us", "Hello world.")
	ko, _ := Espeak("ko", "안녕하세요.")
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				voice, text, want := "en-us", "Hello world.", en
				if i%2 == 1 {
					voice, text, want = "ko", "안녕하세요.", ko
				}
				got, err := Espeak(voice, text)
				if err != nil || len(got) != 1 || got[0].String() != want[0].String() {
					t.Errorf("%s: got %q, %v; want %q", voice, got, err, want)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func FuzzEspeak(f *testing.F) {
	f.Add("Hello world. How are you?")
	f.Add("안녕하세요, 세상!")
	f.Add("(en) ((( ..!?")
	f.Fuzz(func(t *testing.T, s string) {
		sents, err := Espeak("en-us", s)
		if err != nil {
			return
		}
		for _, se := range sents {
			ids, _ := IDs(se, testMap)
			if len(ids) < 3 || ids[0] != 1 || ids[len(ids)-1] != 2 {
				t.Fatalf("bad layout %v", ids)
			}
		}
	})
}

func TestMapPhonemes(t *testing.T) {
	in := Sentence("aɹb")
	if got := MapPhonemes(in, nil); string(got) != "aɹb" {
		t.Errorf("nil map changed the sentence: %q", string(got))
	}
	got := MapPhonemes(in, map[string][]string{"ɹ": {"r"}, "b": {"p", "ʰ"}})
	if string(got) != "arpʰ" {
		t.Errorf("mapped %q, want %q", string(got), "arpʰ")
	}
}
