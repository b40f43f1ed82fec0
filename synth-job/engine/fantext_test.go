package engine_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/chorus-voice/chorus/synth-job/demovoice"
	"github.com/chorus-voice/chorus/synth-job/engine"
)

// The engine's per-request errors reach the worker's logs: they say how
// long the text was, never what it said.
func TestPermanentErrorsDoNotQuoteTheText(t *testing.T) {
	e := newEngine(t, engine.Options{})
	v := writeVoice(t, t.TempDir(), "en", demovoice.English(), nil)
	const secret = "⁂✶⁂ ✶✶ ⁂⁂"
	res, err := e.Synthesize(context.Background(), v, []engine.Request{{Text: secret, SpeakerID: 0}})
	if err != nil {
		t.Fatal(err)
	}
	if !errors.Is(res[0].Err, engine.ErrNoPhonemes) {
		t.Fatalf("err %v, want ErrNoPhonemes", res[0].Err)
	}
	if msg := res[0].Err.Error(); strings.ContainsAny(msg, "⁂✶") || !strings.Contains(msg, "9 characters") {
		t.Errorf("error %q quotes the text or omits its length", msg)
	}
}
