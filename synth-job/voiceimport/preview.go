package voiceimport

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/chorus-voice/chorus/shared/lexicon"
	"github.com/chorus-voice/chorus/shared/utterance"
	"github.com/chorus-voice/chorus/synth-job/phonemize"
	"github.com/chorus-voice/chorus/synth-job/voice"
)

// Preview is what a voice is given for a text, sentence by sentence, as
// the engine computes it (shared/utterance, then phonemize): operators see
// what a member will say before a fan hears it.
type Preview struct {
	Sentences []PreviewSentence
}

// PreviewSentence is one sentence as written and what is said for it.
type PreviewSentence struct {
	// Text is the sentence as written (its caption).
	Text string
	// Normalized is what the phonemiser is given: normalised text, with
	// phonemes (inline, or from the lexicon) as [[ … ]].
	Normalized string
	// Phonemes and IDs are each model sentence's phonemes (after the
	// voice's phoneme_map) and ids (^ _ p1 _ … _ $).
	Phonemes []string
	IDs      [][]int64
	// Lexicon lists the entries that applied: word → phonemes.
	Lexicon []string
	// Missing counts phonemes the voice's id map lacks (skipped).
	Missing map[rune]int
}

// previewMaxTextRunes is the engine's default bound on the text of one
// espeak-ng call (engine.Options.MaxTextRunes).
const previewMaxTextRunes = 400

// PreviewText computes the preview of text for a voice and a lexicon.
// Model sentences longer than the engine's run limit are shown whole (the
// engine cuts them at word spaces).
func PreviewText(cfg *voice.Config, lex lexicon.Lexicon, text string) (*Preview, error) {
	u := utterance.Prepare(text, cfg.TextLanguage(), lex)
	if !u.Speakable() {
		return nil, fmt.Errorf("the text has nothing to say (only punctuation, emoji or invisible characters)")
	}
	pv := phonemize.Voice{Espeak: cfg.Espeak.Voice, Text: cfg.PhonemeType == voice.PhonemeText, MaxTextRunes: previewMaxTextRunes}
	p := &Preview{}
	for _, s := range u.Sentences {
		ps := PreviewSentence{Text: s.Text}
		var norm []string
		seen := map[string]bool{}
		for _, part := range s.Parts {
			if !part.Phonemes {
				norm = append(norm, part.Text)
				continue
			}
			norm = append(norm, "[[ "+part.Text+" ]]")
			if part.Word != "" && !seen[part.Word] {
				seen[part.Word] = true
				ps.Lexicon = append(ps.Lexicon, part.Word+" → "+part.Text)
			}
		}
		ps.Normalized = strings.Join(norm, " ")
		sents, err := pv.Speak(s.Parts)
		if err != nil {
			return nil, fmt.Errorf("phonemise %q: %w", s.Text, err)
		}
		for _, ph := range sents {
			ph = phonemize.MapPhonemes(ph, cfg.PhonemeMap)
			ids, missing := phonemize.IDs(ph, cfg.PhonemeIDMap)
			ps.Phonemes = append(ps.Phonemes, ph.String())
			ps.IDs = append(ps.IDs, ids)
			for r, n := range missing {
				if ps.Missing == nil {
					ps.Missing = map[rune]int{}
				}
				ps.Missing[r] += n
			}
		}
		p.Sentences = append(p.Sentences, ps)
	}
	return p, nil
}

// Phonemize previews text as a member's voice will say it, with the
// member's lexicon.
func (im *Importer) Phonemize(ctx context.Context, memberID, text string) (*Preview, error) {
	m, err := im.Store.GetMember(ctx, memberID)
	if err != nil {
		return nil, fmt.Errorf("member %s: %w", memberID, err)
	}
	cfg, err := im.voiceConfig(ctx, m.VoiceID)
	if err != nil {
		return nil, err
	}
	return PreviewText(cfg, m.Lexicon, text)
}

// Write prints the preview for people, one block per sentence.
func (p *Preview) Write(w io.Writer) error {
	var b strings.Builder
	for i, s := range p.Sentences {
		fmt.Fprintf(&b, "sentence %d: %s\n", i+1, s.Text)
		fmt.Fprintf(&b, "  normalised: %s\n", s.Normalized)
		for _, l := range s.Lexicon {
			fmt.Fprintf(&b, "  lexicon:    %s\n", l)
		}
		for k := range s.Phonemes {
			fmt.Fprintf(&b, "  phonemes:   %s\n", s.Phonemes[k])
			fmt.Fprintf(&b, "  ids:        %s\n", strings.Trim(fmt.Sprint(s.IDs[k]), "[]"))
		}
		if len(s.Missing) > 0 {
			var miss []string
			for _, r := range slices.Sorted(maps.Keys(s.Missing)) {
				miss = append(miss, fmt.Sprintf("%q (U+%04X) ×%d", r, r, s.Missing[r]))
			}
			fmt.Fprintf(&b, "  skipped:    %s (not in the voice's phoneme_id_map)\n", strings.Join(miss, ", "))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
