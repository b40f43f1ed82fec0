package phonemize

import "testing"

func BenchmarkEspeakSentence(b *testing.B) {
	Espeak("en-us", "warm up")
	for b.Loop() {
		if _, err := Espeak("en-us", "It costs 49 dollars 95 cents, which is 20 percent less than last year."); err != nil {
			b.Fatal(err)
		}
	}
}
