package store_test

import (
	"context"
	"errors"
	"strconv"
	"testing"

	"github.com/chorus-voice/chorus/shared/lexicon"
	"github.com/chorus-voice/chorus/shared/store"
)

// Lexicon entries are checked wherever they are saved (issue 15 item 6):
// by SetLexiconEntry and by PutMember, whoever calls them; the size cap
// holds; a word differing only in case replaces the entry.
func TestLexiconIsCheckedWhereSaved(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	m := &store.Member{ID: "lex", Name: "Lex", Group: "G", VoiceID: "v", Active: true}
	if err := s.PutMember(ctx, m); err != nil {
		t.Fatal(err)
	}
	for _, bad := range [][2]string{{"", "x"}, {"Hana", "h^a"}, {"[[x]]", "x"}, {"!!", "x"}} {
		if err := s.SetLexiconEntry(ctx, "lex", bad[0], bad[1]); !errors.Is(err, lexicon.ErrEntry) {
			t.Errorf("SetLexiconEntry(%q, %q) = %v, want ErrEntry", bad[0], bad[1], err)
		}
	}
	if err := s.SetLexiconEntry(ctx, "lex", "Hana", "hˈɑːnə"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetLexiconEntry(ctx, "lex", " HANA ", "hˈana"); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetMember(ctx, "lex")
	if err != nil || len(got.Lexicon) != 1 || got.Lexicon["HANA"] != "hˈana" {
		t.Fatalf("lexicon %v (%v), want HANA alone", got.Lexicon, err)
	}
	bad := *m
	bad.Lexicon = map[string]string{"": "x"}
	if err := s.PutMember(ctx, &bad); !errors.Is(err, lexicon.ErrEntry) {
		t.Errorf("PutMember with an empty word: %v", err)
	}
	full := map[string]string{}
	for i := range lexicon.MaxEntries {
		full["w"+strconv.Itoa(i)] = "w"
	}
	big := *m
	big.Lexicon = full
	if err := s.PutMember(ctx, &big); err != nil {
		t.Fatalf("a full lexicon: %v", err)
	}
	if err := s.SetLexiconEntry(ctx, "lex", "one-more", "w"); !errors.Is(err, lexicon.ErrEntry) {
		t.Errorf("an entry past the cap: %v", err)
	}
	if err := s.SetLexiconEntry(ctx, "lex", "W0", "v"); err != nil {
		t.Errorf("replacing an entry of a full lexicon: %v", err)
	}
}
