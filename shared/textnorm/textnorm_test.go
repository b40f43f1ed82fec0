package textnorm

import (
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestNormalizeEnglish(t *testing.T) {
	tests := []struct{ in, want string }{
		{"It costs $49.95 today.", "It costs 49 dollars 95 cents today."},
		{"$1", "1 dollar"},
		{"$1.00 or $0.50 or $0.01", "1 dollar or 50 cents or 1 cent"},
		{"$1,200 and $3.5", "1200 dollars and 3 dollars 50 cents"},
		{"about $2.5 million", "about 2.5 million dollars"},
		{"-$5", "minus 5 dollars"},
		{"£3.20 and €1", "3 pounds 20 pence and 1 euro"},
		{"¥1000", "1000 yen"},
		{"50% off, 12.5 %", "50 percent off, 12.5 percent"},
		{"Tom & Jerry", "Tom and Jerry"},
		{"Mr. Smith met Dr. Who and Mrs. Jones.", "Mister Smith met Doctor Who and Missus Jones."},
		{"I saw the Dr.", "I saw the Dr."},
		{"apples, pears, etc. are fruit", "apples, pears, et cetera are fruit"},
		{"Call me at #5 or No. 7", "Call me at number 5 or number 7"},
		{"It is 20°C", "It is 20 degrees Celsius"},
		{"mail me@example", "mail me at example"},
		{"  lots \t of\n\nspace\u200b  ", "lots of space"},
		{"Sing 3 songs", "Sing 3 songs"}, // numbers stay for espeak-ng
	}
	for _, tt := range tests {
		if got := Normalize(tt.in, "en-us"); got != tt.want {
			t.Errorf("Normalize(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestNormalizeKorean(t *testing.T) {
	tests := []struct{ in, want string }{
		{"가격은 $49.95 입니다", "가격은 사십구 점 구오 달러 입니다"},
		{"50% 할인", "오십 퍼센트 할인"},
		{"₩1,000", "천 원"},
		{"Mr. Kim", "Mr. Kim"}, // English abbreviations are not expanded for Korean
	}
	for _, tt := range tests {
		if got := Normalize(tt.in, "ko"); got != tt.want {
			t.Errorf("Normalize(%q, ko) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestNormalizeOtherLanguagesOnlyCleans(t *testing.T) {
	if got := Normalize(" 50%  de  $3 ", "fr"); got != "50% de $3" {
		t.Errorf("got %q", got)
	}
}

func TestCleanInvalidUTF8(t *testing.T) {
	got := Clean("a\xffb\x00c")
	if !utf8.ValidString(got) || got != "a b c" {
		t.Errorf("Clean = %q", got)
	}
}

func TestSplit(t *testing.T) {
	text := "One sentence here. Another one, with a clause; and more words that go on and on."
	got := Split(text, 30)
	for _, p := range got {
		if n := utf8.RuneCountInString(p); n > 30 || n == 0 {
			t.Errorf("piece %q has %d runes", p, n)
		}
	}
	if got[0] != "One sentence here." {
		t.Errorf("first piece %q, want the first sentence", got[0])
	}
	if strings.Join(got, " ") != text {
		t.Errorf("pieces %q do not join back to the text", got)
	}
	if !slices.Equal(Split("short", 30), []string{"short"}) || Split("   ", 30) != nil {
		t.Error("short/empty text")
	}
	// No spaces at all: hard cuts.
	long := strings.Repeat("가", 25)
	got = Split(long, 10)
	if len(got) != 3 || strings.Join(got, "") != long {
		t.Errorf("hard cut = %q", got)
	}
	// CJK stops without a following space.
	got = Split("안녕하세요。오늘은좋은날입니다。", 8)
	if got[0] != "안녕하세요。" {
		t.Errorf("CJK cut = %q", got)
	}
}

func FuzzNormalizeSplit(f *testing.F) {
	f.Add("It costs $49.95 & 50%. Mr. Smith.", 20)
	f.Add("가격은 $1,000 입니다。", 3)
	f.Add("\xff$.%&#@°", 1)
	f.Add("오후 3시 30분, 010-1234-5678, BTS 2장 💜 1️⃣", 7)
	f.Add("2024-06-10 3:05 -5도 1만 원 3.14 007", 9)
	f.Fuzz(func(t *testing.T, s string, n int) {
		n = int(uint(n)%500) + 1
		for _, lang := range []string{"en-us", "ko", "de"} {
			m := NormalizeMapped(NewMapped(s, 0), lang)
			out := m.String()
			if !utf8.ValidString(out) {
				t.Fatalf("invalid UTF-8 from %q", s)
			}
			if len(m.src) != len(out) {
				t.Fatalf("%d origins for %d bytes", len(m.src), len(out))
			}
			for _, w := range m.Words() {
				if w.Source.Start < 0 || w.Source.End > len(s) || w.Source.Start >= w.Source.End {
					t.Fatalf("word %q of %q maps to %v in %q", w.Text, out, w.Source, s)
				}
			}
			for _, p := range Split(out, n) {
				if p == "" || utf8.RuneCountInString(p) > n {
					t.Fatalf("bad piece %q (max %d)", p, n)
				}
			}
		}
	})
}

func TestSpeakable(t *testing.T) {
	for s, want := range map[string]bool{"... !?": false, "": false, "- & -": false, "a": true, "7": true, "안": true, "!Hi": true} {
		if got := Speakable(s); got != want {
			t.Errorf("Speakable(%q) = %v", s, got)
		}
	}
}

// TestSpeakableIn reads the one table of speakable cases that the web
// app's copy of the rule passes too (web/src/lib/speakable.test.js).
func TestSpeakableIn(t *testing.T) {
	data, err := os.ReadFile("testdata/speakable.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		Text, Lang, Why string
		Speakable       bool
	}
	if err := json.Unmarshal(data, &cases); err != nil {
		t.Fatal(err)
	}
	if len(cases) < 30 {
		t.Fatalf("%d cases: the table did not load", len(cases))
	}
	for _, tt := range cases {
		t.Run(tt.Why, func(t *testing.T) {
			if got := SpeakableIn(tt.Text, tt.Lang); got != tt.Speakable {
				t.Errorf("SpeakableIn(%q, %q) = %v, want %v", tt.Text, tt.Lang, got, tt.Speakable)
			}
		})
	}
}
