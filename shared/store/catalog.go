// Members and voices: the catalog the profiles function serves and the
// worker reads.

package store

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"cloud.google.com/go/firestore"

	"github.com/chorus-voice/chorus/shared/lexicon"
)

// record is a document type whose id lives outside its fields.
type record[T any] interface {
	*T
	Validate() error
	setID(string)
	id() string
}

func (v *Voice) setID(id string)  { v.ID = id }
func (v *Voice) id() string       { return v.ID }
func (m *Member) setID(id string) { m.ID = id }
func (m *Member) id() string      { return m.ID }

// put validates and writes a record, replacing what was there.
func put[T any, P record[T]](ctx context.Context, s *Store, col, kind string, r P) error {
	if err := r.Validate(); err != nil {
		return err
	}
	if _, err := s.fs.Collection(col).Doc(r.id()).Set(ctx, r); err != nil {
		return fmt.Errorf("store: put %s %s: %w", kind, r.id(), err)
	}
	return nil
}

// get reads one record.
func get[T any, P record[T]](ctx context.Context, s *Store, col, kind, id string) (P, error) {
	snap, err := s.fs.Collection(col).Doc(id).Get(ctx)
	if notFound(err) {
		return nil, fmt.Errorf("%s %s: %w", kind, id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: get %s %s: %w", kind, id, err)
	}
	return decode[T, P](snap, kind)
}

// list reads up to limit records of a collection.
func list[T any, P record[T]](ctx context.Context, s *Store, col, kind string, limit int) ([]P, error) {
	snaps, err := s.fs.Collection(col).Limit(limit).Documents(ctx).GetAll()
	if err != nil {
		return nil, fmt.Errorf("store: list %ss: %w", kind, err)
	}
	out := make([]P, 0, len(snaps))
	for _, snap := range snaps {
		r, err := decode[T, P](snap, kind)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

func decode[T any, P record[T]](snap *firestore.DocumentSnapshot, kind string) (P, error) {
	r := P(new(T))
	if err := snap.DataTo(r); err != nil {
		return nil, fmt.Errorf("store: decode %s %s: %w", kind, snap.Ref.ID, err)
	}
	r.setID(snap.Ref.ID)
	return r, nil
}

// PutVoice creates or replaces a voice record.
func (s *Store) PutVoice(ctx context.Context, v *Voice) error {
	return put(ctx, s, voicesCollection, "voice", v)
}

// GetVoice reads one voice.
func (s *Store) GetVoice(ctx context.Context, id string) (*Voice, error) {
	return get[Voice](ctx, s, voicesCollection, "voice", id)
}

// ListVoices returns every voice.
func (s *Store) ListVoices(ctx context.Context) ([]*Voice, error) {
	return list[Voice](ctx, s, voicesCollection, "voice", 1000)
}

// PutMember creates or replaces a member record.
//
// The member's lexicon is managed apart (SetLexiconEntry): a put that
// carries none keeps the stored one, so that re-seeding profiles never
// loses pronunciations.
func (s *Store) PutMember(ctx context.Context, m *Member) error {
	if err := m.Validate(); err != nil {
		return err
	}
	ref := s.fs.Collection(membersCollection).Doc(m.ID)
	err := s.fs.RunTransaction(ctx, func(ctx context.Context, tx *firestore.Transaction) error {
		w := *m
		if w.Lexicon == nil {
			snap, err := tx.Get(ref)
			switch {
			case err == nil:
				var old Member
				if err := snap.DataTo(&old); err != nil {
					return err
				}
				w.Lexicon = old.Lexicon
			case !notFound(err):
				return err
			}
		}
		return tx.Set(ref, &w)
	})
	if err != nil {
		return fmt.Errorf("store: put member %s: %w", m.ID, err)
	}
	return nil
}

// SetLexiconEntry sets (phonemes non-empty) or removes (empty) one word of
// a member's lexicon. The entry's shape and the lexicon's size are checked
// here (lexicon.CheckEntry, lexicon.MaxEntries), whoever saves it; its
// phonemes against the voice by the caller (synth-job/phonemize.CheckEntry).
// The word replaces any entry that differs from it only in case.
func (s *Store) SetLexiconEntry(ctx context.Context, memberID, word, phonemes string) error {
	word, phonemes = lexicon.Canonical(word, phonemes)
	if phonemes != "" {
		if err := lexicon.CheckEntry(word, phonemes); err != nil {
			return fmt.Errorf("store: lexicon of %s: %w", memberID, err)
		}
	}
	ref := s.fs.Collection(membersCollection).Doc(memberID)
	err := s.fs.RunTransaction(ctx, func(ctx context.Context, tx *firestore.Transaction) error {
		snap, err := tx.Get(ref)
		if notFound(err) {
			return fmt.Errorf("member %s: %w", memberID, ErrNotFound)
		}
		if err != nil {
			return err
		}
		var m Member
		if err := snap.DataTo(&m); err != nil {
			return err
		}
		for w := range m.Lexicon {
			if lexicon.SameWord(w, word) {
				delete(m.Lexicon, w)
			}
		}
		if phonemes != "" {
			if len(m.Lexicon) >= lexicon.MaxEntries {
				return fmt.Errorf("%w: member %s has %d entries, the most a lexicon holds", lexicon.ErrEntry, memberID, len(m.Lexicon))
			}
			if m.Lexicon == nil {
				m.Lexicon = map[string]string{}
			}
			m.Lexicon[word] = phonemes
		}
		return tx.Update(ref, []firestore.Update{{Path: "lexicon", Value: m.Lexicon}})
	})
	if err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("store: lexicon of %s: %w", memberID, err)
	}
	return err
}

// GetMember reads one member, active or not.
func (s *Store) GetMember(ctx context.Context, id string) (*Member, error) {
	return get[Member](ctx, s, membersCollection, "member", id)
}

// DeleteMember removes a member (ErrNotFound when there is none). Jobs
// already made for them are untouched.
func (s *Store) DeleteMember(ctx context.Context, id string) error {
	ref := s.fs.Collection(membersCollection).Doc(id)
	if _, err := ref.Delete(ctx, firestore.Exists); err != nil {
		if notFound(err) {
			return fmt.Errorf("member %s: %w", id, ErrNotFound)
		}
		return fmt.Errorf("store: delete member %s: %w", id, err)
	}
	return nil
}

// AllMembers returns every member, active or not, in display order (for
// operators; fans see ListMembers).
func (s *Store) AllMembers(ctx context.Context) ([]*Member, error) {
	all, err := list[Member](ctx, s, membersCollection, "member", maxMembers)
	if err != nil {
		return nil, err
	}
	sortMembers(all)
	return all, nil
}

func sortMembers(ms []*Member) {
	sort.SliceStable(ms, func(i, j int) bool {
		if ms[i].Order != ms[j].Order {
			return ms[i].Order < ms[j].Order
		}
		return ms[i].ID < ms[j].ID
	})
}

// maxMembers bounds the member listing; a group roster is small.
const maxMembers = 500

// ListMembers returns the active members in display order. It filters and
// sorts in memory so that no composite index is needed.
func (s *Store) ListMembers(ctx context.Context) ([]*Member, error) {
	all, err := list[Member](ctx, s, membersCollection, "member", maxMembers)
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, m := range all {
		if m.Active {
			out = append(out, m)
		}
	}
	sortMembers(out)
	return out, nil
}
