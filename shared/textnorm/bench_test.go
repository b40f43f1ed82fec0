package textnorm

import "testing"

func BenchmarkNormalizeEnglish(b *testing.B) {
	for b.Loop() {
		Normalize("It costs $49.95, which is 20% less than last year. Mr. Smith said the concert starts at eight.", "en-us")
	}
}
