package textnorm_test

import (
	"fmt"

	"github.com/chorus-voice/chorus/shared/textnorm"
)

// Sentences are the units a request is synthesised and captioned in.
// Abbreviations, initials and inline phonemes do not end one.
func ExampleSentences() {
	text := "Dr. Kim met J. R. R. Tolkien's editor. Say [[ˈtoʊ.mɑː.toʊ]]. Really?! 🎉 Yes."
	for _, s := range textnorm.Sentences(text, "en") {
		fmt.Printf("%q\n", s)
	}
	// Output:
	// "Dr. Kim met J. R. R. Tolkien's editor."
	// "Say [[ˈtoʊ.mɑː.toʊ]]."
	// "Really?!"
	// "🎉 Yes."
}

// Normalize spells out what a voice cannot read as written, in the
// voice's language.
func ExampleNormalize() {
	fmt.Println(textnorm.Normalize("Dr. Kim paid $5 on 3/4.", "en"))
	// Output: Doctor Kim paid 5 dollars on 3/4.
}

// SpeakableIn is the rule the API refuses text by (400 text_unspeakable)
// and the engine skips pieces by.
func ExampleSpeakableIn() {
	for _, s := range []string{"Hello!", "🎉🎉", "...", "안녕하세요"} {
		fmt.Println(textnorm.SpeakableIn(s, "en"), s)
	}
	// Output:
	// true Hello!
	// false 🎉🎉
	// false ...
	// true 안녕하세요
}

// NormalizeMapped keeps, for every word it writes, the span of the
// original text it was read from: word timings point at what the fan
// typed through it.
func ExampleNormalizeMapped() {
	text := "오후 3시에 BTS 💜 40–60°C"
	m := textnorm.NormalizeMapped(textnorm.NewMapped(text, 0), "ko")
	fmt.Println(m)
	for _, w := range m.Words() {
		fmt.Printf("%s ← %q\n", w.Text, text[w.Source.Start:w.Source.End])
	}
	for _, d := range m.Dropped() {
		fmt.Printf("dropped %q\n", text[d.Start:d.End])
	}
	// Output:
	// 오후 세 시에 비티에스 사십에서 육십 도
	// 오후 ← "오후"
	// 세 ← "3"
	// 시에 ← "시에"
	// 비티에스 ← "BTS"
	// 사십에서 ← "40–"
	// 육십 ← "60"
	// 도 ← "°C"
	// dropped "💜"
}
