package lexicon

import (
	"errors"
	"strconv"
	"strings"
	"testing"
)

func TestApply(t *testing.T) {
	l := Lexicon{"Hana": "hˈɑːnə", "하나": "hˈana", "Starlight Avenue": "stˈɑːlaɪt  ˈævənuː", "💜": "pˈɜːpəl"}
	for _, tt := range []struct{ name, in, want string }{
		{"a word", "Hana sings.", "[[ hˈɑːnə ]] sings."},
		{"any case", "HANA! hana?", "[[ hˈɑːnə ]]! [[ hˈɑːnə ]]?"},
		{"whole words only", "Hanami and Shana", "Hanami and Shana"},
		{"longest first, phonemes spaced once", "Welcome to Starlight Avenue", "Welcome to [[ stˈɑːlaɪt ˈævənuː ]]"},
		{"a Hangul word with a particle", "하나가 노래해요", "[[ hˈana ]]가 노래해요"},
		{"inline phonemes left alone", "[[ hˈɑːnə ]] is Hana", "[[ hˈɑːnə ]] is [[ hˈɑːnə ]]"},
		{"an emoji named by the lexicon, even against a word", "I💜you 💜💜", "I[[ pˈɜːpəl ]]you [[ pˈɜːpəl ]][[ pˈɜːpəl ]]"},
		{"nothing", "nothing here", "nothing here"},
		{"invalid UTF-8 around a word", "\xffHana\xfe", "\xff[[ hˈɑːnə ]]\xfe"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := l.Apply(tt.in); got != tt.want {
				t.Errorf("Apply(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// Fuzzing found Apply crashing on a lexicon with an empty word (issue 15
// item 6): entries that break the rules are skipped, never a crash.
func TestApplySkipsBrokenEntries(t *testing.T) {
	l := Lexicon{"": "x", "  ": "y", "ok": "", "[[x]]": "z", "Hana": "hˈɑː$nə", "Kim": "kˈɪm"}
	if got := l.Apply("a Hana and Kim ok"); got != "a Hana and [[ kˈɪm ]] ok" {
		t.Fatalf("Apply = %q", got)
	}
}

func TestFindOffsets(t *testing.T) {
	text := "안녕 HANA, 하나야!"
	ms := Lexicon{"Hana": "h", "하나": "h"}.Compile().Find(text)
	if len(ms) != 2 {
		t.Fatalf("matches %+v", ms)
	}
	if got := text[ms[0].Start:ms[0].End]; got != "HANA" || ms[0].Word != "Hana" {
		t.Errorf("first match %q (%+v)", got, ms[0])
	}
	if got := text[ms[1].Start:ms[1].End]; got != "하나" || ms[1].Word != "하나" {
		t.Errorf("second match %q (%+v)", got, ms[1])
	}
}

func TestCheckEntry(t *testing.T) {
	for _, good := range [][2]string{{"Hana", "hˈana"}, {" 하나 ", "hana"}, {"💜", "pˈɜːpəl"}, {"👍🏽", "ɡˈʊd"}, {"R2-D2", "ɑːɹ tˈuː"}} {
		if err := CheckEntry(good[0], good[1]); err != nil {
			t.Errorf("CheckEntry(%q, %q) = %v", good[0], good[1], err)
		}
	}
	for _, bad := range []struct{ name, word, phonemes string }{
		{"empty word", "", "hana"},
		{"blank word", "   ", "hana"},
		{"empty phonemes", "Hana", " "},
		{"brackets in the word", "[[x]]", "h"},
		{"punctuation only", "!!", "h"},
		{"word too long", strings.Repeat("a", MaxWordRunes+1), "h"},
		{"phonemes too long", "Hana", strings.Repeat("a", MaxPhonemeRunes+1)},
		{"start symbol", "Hana", "^hana"},
		{"end symbol", "Hana", "hana$"},
		{"pad symbol", "Hana", "ha_na"},
		{"closing brackets", "Hana", "ha]]na"},
		{"control character in the word", "Ha\x01na", "hana"},
		{"control character in the phonemes", "Hana", "ha\x7fna"},
		{"invalid UTF-8", "Ha\xffna", "hana"},
	} {
		t.Run(bad.name, func(t *testing.T) {
			if err := CheckEntry(bad.word, bad.phonemes); !errors.Is(err, ErrEntry) {
				t.Errorf("CheckEntry(%q, %q) = %v, want ErrEntry", bad.word, bad.phonemes, err)
			}
		})
	}
}

func TestCheckLexicon(t *testing.T) {
	if err := (Lexicon{"Hana": "h", "Kim": "k"}).Check(); err != nil {
		t.Fatal(err)
	}
	if err := (Lexicon{"Hana": "h", "HANA": "k"}).Check(); !errors.Is(err, ErrEntry) {
		t.Errorf("words differing in case: %v", err)
	}
	big := Lexicon{}
	for i := range MaxEntries + 1 {
		big["w"+strconv.Itoa(i)] = "w"
	}
	if err := big.Check(); !errors.Is(err, ErrEntry) || !strings.Contains(err.Error(), strconv.Itoa(MaxEntries)) {
		t.Errorf("over the cap: %v", err)
	}
	delete(big, "w0")
	if err := big.Check(); err != nil {
		t.Errorf("at the cap: %v", err)
	}
}

// Compile lower-cases each word once: matching a long text against a full
// lexicon costs a lookup per word start, not a lower-casing per entry and
// position (issue 15, hardening).
func BenchmarkFindFullLexicon(b *testing.B) {
	l := Lexicon{}
	for i := range MaxEntries {
		l["Word"+strconv.Itoa(i)] = "w"
	}
	mt := l.Compile()
	text := strings.Repeat("Wordy words and Word42 with Word499, ", 30)
	for b.Loop() {
		mt.Find(text)
	}
}
