package voiceimport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"

	"github.com/chorus-voice/chorus/shared/lexicon"
	"github.com/chorus-voice/chorus/shared/store"
	"github.com/chorus-voice/chorus/synth-job/phonemize"
	"github.com/chorus-voice/chorus/synth-job/voice"
)

// SetLexiconEntry checks a pronunciation against the member's voice (every
// phoneme must be one the voice knows) and saves it; a bad entry is
// refused here, with the reason, and never reaches synthesis. Empty
// phonemes remove the word.
func (im *Importer) SetLexiconEntry(ctx context.Context, memberID, word, phonemes string) error {
	m, err := im.Store.GetMember(ctx, memberID)
	if err != nil {
		return fmt.Errorf("member %s: %w", memberID, err)
	}
	word, phonemes = lexicon.Canonical(word, phonemes)
	if phonemes != "" {
		cfg, err := im.voiceConfig(ctx, m.VoiceID)
		if err != nil {
			return err
		}
		if err := phonemize.CheckEntry(word, phonemes, cfg.PhonemeIDMap, cfg.PhonemeMap); err != nil {
			return fmt.Errorf("member %s (voice %s): %w", memberID, m.VoiceID, err)
		}
	} else if !slices.ContainsFunc(slices.Collect(maps.Keys(m.Lexicon)), func(w string) bool { return lexicon.SameWord(w, word) }) {
		return fmt.Errorf("member %s has no lexicon entry for %q", memberID, word)
	}
	return im.Store.SetLexiconEntry(ctx, memberID, word, phonemes)
}

// voiceConfig reads a registered voice's config from the models bucket.
func (im *Importer) voiceConfig(ctx context.Context, voiceID string) (*voice.Config, error) {
	v, err := im.Store.GetVoice(ctx, voiceID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("voice %s is not registered", voiceID)
	}
	if err != nil {
		return nil, err
	}
	r, err := im.Models.Object(v.ConfigObject).NewReader(ctx)
	if err != nil {
		return nil, fmt.Errorf("voice %s: read %s: %w", voiceID, v.ConfigObject, err)
	}
	defer r.Close()
	data, err := io.ReadAll(io.LimitReader(r, 16<<20))
	if err != nil {
		return nil, fmt.Errorf("voice %s: read %s: %w", voiceID, v.ConfigObject, err)
	}
	return voice.ParseConfig(data)
}
