package voiceimport

import (
	"context"
	"errors"
	"fmt"

	"github.com/chorus-voice/chorus/shared/store"
)

// voiceMissing explains a member's voice that cannot be read: one that is
// not registered says how to register it.
func voiceMissing(id string, err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("voice %s is not registered (%w): import it first (chorus-voices import -id %s -model VOICE.onnx) or list it in the seed file", id, store.ErrNotFound, id)
	}
	return fmt.Errorf("voice %s: %w", id, err)
}

// PutMember adds a member or replaces their profile, after checking that
// their voice is registered and has their speaker. Their lexicon is kept.
// With order 0 a new member goes after everyone else, and an existing one
// keeps their place.
func (im *Importer) PutMember(ctx context.Context, m *store.Member) error {
	if err := m.Validate(); err != nil {
		return err
	}
	v, err := im.Store.GetVoice(ctx, m.VoiceID)
	if err != nil {
		return fmt.Errorf("member %s: %w", m.ID, voiceMissing(m.VoiceID, err))
	}
	if m.SpeakerID >= v.NumSpeakers {
		return fmt.Errorf("member %s: voice %s has %d speaker(s) (0…%d), not %d", m.ID, v.ID, v.NumSpeakers, v.NumSpeakers-1, m.SpeakerID)
	}
	if m.Order == 0 {
		all, err := im.Store.AllMembers(ctx)
		if err != nil {
			return err
		}
		last, kept := 0, 0
		for _, o := range all {
			last = max(last, o.Order)
			if o.ID == m.ID {
				kept = o.Order
			}
		}
		m.Order = kept
		if m.Order == 0 {
			m.Order = last + 1
		}
	}
	return im.Store.PutMember(ctx, m)
}

// RemoveMember deletes a member. Clips already made for them stay until
// their retention ends.
func (im *Importer) RemoveMember(ctx context.Context, id string) error {
	return im.Store.DeleteMember(ctx, id)
}
