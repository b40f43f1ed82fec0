package utterance_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/chorus-voice/chorus/shared/lexicon"
	"github.com/chorus-voice/chorus/shared/utterance"
)

// spoken is what the engine is given, as comparable data: for each
// sentence its caption, then its parts ("T:" text, "P:" phonemes).
func spoken(u utterance.Utterance) []string {
	var out []string
	for _, s := range u.Sentences {
		out = append(out, "S:"+s.Text)
		for _, p := range s.Parts {
			kind := "T:"
			if p.Phonemes {
				kind = "P:"
			}
			out = append(out, kind+p.Text)
		}
	}
	return out
}

// display is spoken with each caption as a player shows it.
func display(u utterance.Utterance) []string {
	out := spoken(u)
	for i, s := range out {
		if c, ok := strings.CutPrefix(s, "S:"); ok {
			out[i] = "S:" + strings.Join(strings.Fields(c), " ")
		}
	}
	return out
}

// Issue 15 item 9: the cache key was the whole text normalised, while the
// engine split sentences first and left inline phonemes as written, so
// these pairs shared a key but sounded different. The key is now what the
// engine is given.
func TestKeyTellsApartWhatSoundsDifferent(t *testing.T) {
	for _, pair := range []struct{ name, a, b string }{
		{"a control character is no sentence break", "Good morning!\u0001Have a nice day.", "Good morning! Have a nice day."},
		{"& after a full stop starts a sentence, and does not", "Thanks. & you too!", "Thanks. and you too!"},
		{"inline phonemes are not normalised", "[[ a&b ]]", "[[ a and b ]]"},
	} {
		t.Run(pair.name, func(t *testing.T) {
			ua, ub := utterance.Prepare(pair.a, "en-us", nil), utterance.Prepare(pair.b, "en-us", nil)
			if slices.Equal(spoken(ua), spoken(ub)) {
				t.Fatalf("the engine is given the same for both: %q", spoken(ua))
			}
			if ua.Key() == ub.Key() {
				t.Fatalf("%q and %q share key %s but the engine is given %q and %q", pair.a, pair.b, ua.Key(), spoken(ua), spoken(ub))
			}
		})
	}
}

func TestKeySharedWhenTheEngineIsGivenTheSame(t *testing.T) {
	for _, pair := range []struct{ name, a, b string }{
		{"space between sentences", "Good morning!  Have a nice day.", "Good morning!\nHave a nice day."},
		{"space around the text", "  Hello there. ", "Hello there."},
		{"space inside a sentence, as a caption shows it", "Hello,   there\tyou.", "Hello, there you."},
		{"a lexicon entry the text does not use", "Hello Kimberly.", "Hello Kimberly."},
	} {
		t.Run(pair.name, func(t *testing.T) {
			ua, ub := utterance.Prepare(pair.a, "en-us", nil), utterance.Prepare(pair.b, "en-us", lexicon.Lexicon{"Kim": "kˈɪm"})
			if !slices.Equal(display(ua), display(ub)) {
				t.Fatalf("the engine is given %q and %q", display(ua), display(ub))
			}
			if ua.Key() != ub.Key() {
				t.Fatalf("same engine input, keys %s and %s", ua.Key(), ub.Key())
			}
		})
	}
}

func TestPrepare(t *testing.T) {
	lex := lexicon.Lexicon{"Hana": "hˈɑːnə", "💜": "lˈʌv"}
	for _, tt := range []struct {
		name, lang, text string
		lex              lexicon.Lexicon
		want             []string
	}{
		{"emoji are not spoken, the caption keeps them", "en-us", "Love you 💜💜💜", nil,
			[]string{"S:Love you 💜💜💜", "T:Love you"}},
		{"an emoji the lexicon names is", "en-us", "I 💜 you 🎉", lex,
			[]string{"S:I 💜 you 🎉", "T:I", "P:lˈʌv", "T:you"}},
		{"the lexicon before the normaliser", "en-us", "Hana paid $5.", lex,
			[]string{"S:Hana paid $5.", "P:hˈɑːnə", "T:paid 5 dollars."}},
		{"inline phonemes as written, in their sentence", "en-us", "Say [[ hˈɑːnə ]] & go. Bye!", nil,
			[]string{"S:Say [[ hˈɑːnə ]] & go.", "T:Say", "P:hˈɑːnə", "T:and go.", "S:Bye!", "T:Bye!"}},
		{"inline phonemes spaced, composed and written with Piper's symbols", "en-us", "[[ hˈɑː  nə ]] [[a^b$]]", nil,
			[]string{"S:[[ hˈɑː  nə ]] [[a^b$]]", "P:hˈɑː nə", "P:a b"}},
		{"a sentence of emoji only joins its neighbour", "en-us", "See you. 🎉🎉", nil,
			[]string{"S:See you. 🎉🎉", "T:See you."}},
		{"Korean", "ko", "하나가 BTS를 좋아해요.", lexicon.Lexicon{"하나": "hana"},
			[]string{"S:하나가 BTS를 좋아해요.", "P:hana", "T:가 비티에스를 좋아해요."}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := spoken(utterance.Prepare(tt.text, tt.lang, tt.lex))
			if !slices.Equal(got, tt.want) {
				t.Fatalf("Prepare(%q) =\n %q\nwant\n %q", tt.text, got, tt.want)
			}
		})
	}
}

func TestSpeakable(t *testing.T) {
	lex := lexicon.Lexicon{"💜": "lˈʌv"}
	for _, tt := range []struct {
		text string
		lex  lexicon.Lexicon
		want bool
	}{
		{"💜💜", nil, false},
		{"💜💜", lex, true},
		{"1️⃣", nil, false},
		{"[[ ]]", nil, false},
		{"[[ ^$_ ]]", nil, false},
		{"[[ a ]]", nil, true},
		{"&", nil, true},
		{"?!", nil, false},
	} {
		if got := utterance.Prepare(tt.text, "en-us", tt.lex).Speakable(); got != tt.want {
			t.Errorf("Speakable(%q, lexicon %v) = %v, want %v", tt.text, tt.lex, got, tt.want)
		}
	}
}

// Each part's map slices the original text back to what the fan typed.
func TestPartsMapBackToTheText(t *testing.T) {
	text := "Hi Hana! It's 40–60°C 🔥 and $49.95."
	u := utterance.Prepare(text, "en-us", lexicon.Lexicon{"Hana": "hˈɑːnə"})
	var got []string
	for _, s := range u.Sentences {
		if text[s.Span.Start:s.Span.End] != s.Text {
			t.Errorf("span %v of %q", s.Span, s.Text)
		}
		for _, p := range s.Parts {
			if p.Map.String() != p.Text {
				t.Errorf("part %q has map of %q", p.Text, p.Map.String())
			}
			for _, w := range p.Map.Words() {
				got = append(got, w.Text+"="+text[w.Source.Start:w.Source.End])
			}
		}
	}
	want := []string{"Hi=Hi", "hˈɑːnə=Hana", "!=!", "It's=It's", "40=40", "to=–", "60=60", "degrees=°C", "Celsius=°C",
		"and=and", "49=$49.95", "dollars=$49.95", "95=$49.95", "cents.=$49.95."}
	if !slices.Equal(got, want) {
		t.Errorf("words and their sources\n %q\nwant\n %q", got, want)
	}
	if d := u.Sentences[1].Parts[0].Map.Dropped(); len(d) != 1 || strings.TrimSpace(text[d[0].Start:d[0].End]) != "🔥" {
		t.Errorf("dropped %v", d)
	}
}
