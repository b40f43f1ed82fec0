package textnorm

import (
	"slices"
	"strings"
	"testing"
)

func TestSentences(t *testing.T) {
	for _, tt := range []struct {
		name, lang, text string
		want             []string
	}{
		{"one", "en-us", "Hello world.", []string{"Hello world."}},
		{"no end mark", "en-us", "  Hello world  ", []string{"Hello world"}},
		{"three", "en-us", "Hello everyone! Are you ready? Let's go.", []string{"Hello everyone!", "Are you ready?", "Let's go."}},
		{"money and decimals", "en-us", "It costs $49.95. Thank you!", []string{"It costs $49.95.", "Thank you!"}},
		{"abbreviation before a name", "en-us", "Dr. Kim is here. Mr. Lee too.", []string{"Dr. Kim is here.", "Mr. Lee too."}},
		// Normalize reads "Dr." before any word as "Doctor", so it is one sentence.
		{"abbreviation before any word", "en-us", "I saw the Dr. Then I left.", []string{"I saw the Dr. Then I left."}},
		{"abbreviation at the end", "en-us", "I saw the Dr.", []string{"I saw the Dr."}},
		{"lower case goes on", "en-us", "Bring fruit, e.g. apples. Thanks.", []string{"Bring fruit, e.g. apples.", "Thanks."}},
		{"initials", "en-us", "J. R. R. Tolkien wrote it. Read it!", []string{"J. R. R. Tolkien wrote it.", "Read it!"}},
		{"number", "en-us", "Room No. 5 is free. Go.", []string{"Room No. 5 is free.", "Go."}},
		{"quotes", "en-us", `He said "Stop." Then he left.`, []string{`He said "Stop."`, "Then he left."}},
		{"marks together", "en-us", "What?! Really... Yes.", []string{"What?!", "Really...", "Yes."}},
		{"emoji joins the sentence before", "en-us", "See you. 💜💜", []string{"See you. 💜💜"}},
		{"emoji starts a sentence", "en-us", "Hello! 🎤🎤 See you.", []string{"Hello!", "🎤🎤 See you."}},
		{"emoji first joins the next", "en-us", "💜 ! Hello there.", []string{"💜 ! Hello there."}},
		{"nothing speakable", "en-us", " ... !? ", []string{"... !?"}},
		{"empty", "en-us", "  ", nil},
		{"korean", "ko", "안녕하세요. 오늘 날씨가 정말 좋네요!", []string{"안녕하세요.", "오늘 날씨가 정말 좋네요!"}},
		{"CJK stops need no space", "ja", "こんにちは。元気ですか？はい。", []string{"こんにちは。", "元気ですか？", "はい。"}},
		{"inline phonemes", "en-us", "Say [[ a. b! ]] now. Done.", []string{"Say [[ a. b! ]] now.", "Done."}},
		{"line breaks", "en-us", "First line.\nSecond line.", []string{"First line.", "Second line."}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := Sentences(tt.text, tt.lang)
			if !slices.Equal(got, tt.want) {
				t.Fatalf("Sentences(%q) = %q, want %q", tt.text, got, tt.want)
			}
			for _, s := range got {
				if !strings.Contains(tt.text, s) {
					t.Errorf("%q is not a substring of the text", s)
				}
			}
		})
	}
}

func FuzzSentences(f *testing.F) {
	for _, s := range []string{"Hello. World!", "[[ a. ]] b.", "안녕. 🎤", "a.\xffb. c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, p := range Sentences(s, "en-us") {
			if p == "" || p != strings.TrimSpace(p) || !strings.Contains(s, p) {
				t.Fatalf("bad piece %q of %q", p, s)
			}
		}
	})
}
