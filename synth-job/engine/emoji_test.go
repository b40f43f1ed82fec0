package engine_test

import (
	"context"
	"testing"

	"github.com/chorus-voice/chorus/synth-job/demovoice"
	"github.com/chorus-voice/chorus/synth-job/engine"
	"github.com/chorus-voice/chorus/synth-job/phonemize"
)

// Issue 16 item 1: emoji beside words were read aloud ("Love you 💜💜💜"
// lasted 2.19 s against 0.66 s for "Love you": espeak-ng said "purple"
// three times). They are dropped before phonemisation, so the two texts
// are the same ids and the same length of audio; the caption still shows
// what the fan typed; a lexicon entry naming the emoji makes it spoken.
func TestEmojiAreNotReadAloud(t *testing.T) {
	e := newEngine(t, engine.Options{})
	v := writeVoice(t, t.TempDir(), "en", demovoice.English(), nil)
	say := func(text string, lex phonemize.Lexicon) engine.Result {
		t.Helper()
		res, err := e.Synthesize(context.Background(), v, []engine.Request{{Text: text, Lexicon: lex}})
		if err != nil || res[0].Err != nil {
			t.Fatal(err, res[0].Err)
		}
		return res[0]
	}
	plain := say("Love you", nil)
	for _, text := range []string{"Love you 💜💜💜", "Love 👩🏽‍❤️‍👨🏻 you 🇰🇷 1️⃣ 🏴󠁧󠁢󠁳󠁣󠁴󠁿"} {
		hearts := say(text, nil)
		if hearts.Samples != plain.Samples || hearts.Sentences != plain.Sentences {
			t.Errorf("%q: %d samples in %d sentences, %q: %d in %d", text, hearts.Samples, hearts.Sentences, "Love you", plain.Samples, plain.Sentences)
		}
		if len(hearts.Cues) != 1 || hearts.Cues[0].Text != text {
			t.Errorf("%q: captions %+v, want the text as typed", text, hearts.Cues)
		}
	}
	if named := say("Love you 💜", phonemize.Lexicon{"💜": "lˈʌv"}); named.Samples <= plain.Samples {
		t.Errorf("an emoji the lexicon names: %d samples, no more than without it (%d)", named.Samples, plain.Samples)
	}
}
