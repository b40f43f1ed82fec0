package voiceimport_test

import (
	"context"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/chorus-voice/chorus/shared/lexicon"
	"github.com/chorus-voice/chorus/synth-job/demovoice"
	"github.com/chorus-voice/chorus/synth-job/voiceimport"
)

// The phoneme preview shows, per sentence, the text as written, what the
// phonemiser is given, the lexicon entries that applied, and each model
// sentence's phonemes and ids; the phonemes are espeak-ng's own for the
// normalised text (checked against the espeak-ng program where it is
// installed).
func TestPreviewKorean(t *testing.T) {
	cfg := demovoice.Config(demovoice.Korean())
	p, err := voiceimport.PreviewText(cfg, lexicon.Lexicon{"하나": "hˈana"}, "오후 3시에 BTS 만나요. 하나가 티켓 2장!")
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Sentences) != 2 {
		t.Fatalf("%d sentences: %+v", len(p.Sentences), p.Sentences)
	}
	first, second := p.Sentences[0], p.Sentences[1]
	if first.Text != "오후 3시에 BTS 만나요." || first.Normalized != "오후 세 시에 비티에스 만나요." || len(first.Lexicon) != 0 {
		t.Errorf("first sentence %+v", first)
	}
	if second.Normalized != "[[ hˈana ]] 가 티켓 두 장!" || !slices.Equal(second.Lexicon, []string{"하나 → hˈana"}) {
		t.Errorf("second sentence %+v", second)
	}
	for _, s := range p.Sentences {
		if len(s.Phonemes) == 0 || len(s.Phonemes) != len(s.IDs) {
			t.Fatalf("sentence %q: phonemes %q, ids %v", s.Text, s.Phonemes, s.IDs)
		}
		for _, ids := range s.IDs {
			if ids[0] != cfg.PhonemeIDMap["^"][0] || ids[len(ids)-1] != cfg.PhonemeIDMap["$"][0] {
				t.Errorf("ids %v: not ^ … $", ids)
			}
		}
	}
	if !strings.HasPrefix(second.Phonemes[0], "hˈana ") {
		t.Errorf("the lexicon's phonemes do not lead %q", second.Phonemes[0])
	}
	if bin, err := exec.LookPath("espeak-ng"); err == nil {
		out, err := exec.CommandContext(context.Background(), bin, "-q", "--ipa", "-v", "ko", "오후 세 시에 비티에스 만나요").Output()
		if err != nil {
			t.Fatal(err)
		}
		want := strings.Join(strings.Fields(string(out)), " ") + "."
		if first.Phonemes[0] != want {
			t.Errorf("phonemes %q, espeak-ng says %q", first.Phonemes[0], want)
		}
	}
	var b strings.Builder
	if err := p.Write(&b); err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{"sentence 1: 오후 3시에 BTS 만나요.", "normalised: 오후 세 시에 비티에스 만나요.", "lexicon:    하나 → hˈana", "phonemes:   ", "ids:        "} {
		if !strings.Contains(b.String(), line) {
			t.Errorf("preview lacks %q:\n%s", line, b.String())
		}
	}
	if _, err := voiceimport.PreviewText(cfg, nil, "💜 !"); err == nil {
		t.Error("a text with nothing to say previews")
	}
}
