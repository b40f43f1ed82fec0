package voiceimport_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chorus-voice/chorus/shared/store"
	"github.com/chorus-voice/chorus/synth-job/demovoice"
	"github.com/chorus-voice/chorus/synth-job/voice"
	"github.com/chorus-voice/chorus/synth-job/voiceimport"
)

// piperShaped rewrites a demo voice's config the way Piper's exporter
// writes one: no Chorus label, a dataset, the language's English names and
// the quality (the bench voice in ../shared/voices has exactly these).
func piperShaped(t *testing.T, cfg []byte) []byte {
	t.Helper()
	var c map[string]any
	if err := json.Unmarshal(cfg, &c); err != nil {
		t.Fatal(err)
	}
	delete(c, "chorus")
	c["dataset"] = "lessac"
	c["language"] = map[string]any{"code": "en_US", "family": "en", "name_english": "English", "country_english": "United States"}
	c["audio"].(map[string]any)["quality"] = "medium"
	out, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestDefaultLabel(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  voice.Config
		want string
	}{
		{"piper export", voice.Config{Dataset: "lessac", Language: &voice.Language{Code: "en_US", NameEnglish: "English", CountryEnglish: "United States"},
			Audio: voice.Audio{Quality: "medium"}}, "lessac (English, United States, medium)"},
		{"code only", voice.Config{Dataset: "kss", Language: &voice.Language{Code: "ko_KR"}}, "kss (ko_KR)"},
		{"espeak voice only", voice.Config{Espeak: voice.Espeak{Voice: "en-us"}}, "my-voice (en-us)"},
		{"nothing", voice.Config{}, "my-voice"},
		{"untidy text", voice.Config{Dataset: " hana\n\u0000 v2 ", Language: &voice.Language{NameEnglish: "Korean\t"}}, "hana v2 (Korean)"},
		{"too long", voice.Config{Dataset: strings.Repeat("a", 100)}, strings.Repeat("a", 79) + "…"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := voiceimport.DefaultLabel("my-voice", &tc.cfg); got != tc.want {
				t.Errorf("DefaultLabel = %q, want %q", got, tc.want)
			}
		})
	}
}

// A standard Piper export imports without -label: the label comes from
// its config (the README's import example failed with "label is empty").
func TestImportLabelsAPiperExportFromItsConfig(t *testing.T) {
	im, _ := importer(t, "models-label")
	model, cfg, err := demovoice.Build(demovoice.English())
	if err != nil {
		t.Fatal(err)
	}
	rec, err := im.Import(context.Background(), &voiceimport.Voice{ID: "lessac", Model: model, Config: piperShaped(t, cfg)})
	if err != nil {
		t.Fatalf("import without a label: %v", err)
	}
	if rec.Label != "lessac (English, United States, medium)" || rec.Demo {
		t.Fatalf("record %+v", rec)
	}
	got, err := im.Store.GetVoice(context.Background(), "lessac")
	if err != nil || got.Label != rec.Label {
		t.Fatalf("stored %+v, %v", got, err)
	}
}

// Members are added, listed and removed without a seed file; a member's
// voice must be registered and have their speaker.
func TestMembersAddListRemove(t *testing.T) {
	im, _ := importer(t, "models-members")
	ctx := context.Background()
	model, cfg, err := demovoice.Build(demovoice.English()) // four speakers
	if err != nil {
		t.Fatal(err)
	}
	if _, err := im.Import(ctx, &voiceimport.Voice{ID: "four", Model: model, Config: cfg}); err != nil {
		t.Fatal(err)
	}
	err = im.PutMember(ctx, &store.Member{ID: "nova", Name: "Nova", Group: "G", VoiceID: "nope", Active: true})
	if !errors.Is(err, store.ErrNotFound) || !strings.Contains(err.Error(), "chorus-voices import -id nope") {
		t.Fatalf("unregistered voice: %v", err)
	}
	err = im.PutMember(ctx, &store.Member{ID: "nova", Name: "Nova", Group: "G", VoiceID: "four", SpeakerID: 4, Active: true})
	if err == nil || !strings.Contains(err.Error(), "has 4 speaker(s) (0…3), not 4") {
		t.Fatalf("speaker out of range: %v", err)
	}
	if _, err := im.Store.GetMember(ctx, "nova"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a refused member was stored: %v", err)
	}

	for i, id := range []string{"nova", "orion"} {
		if err := im.PutMember(ctx, &store.Member{ID: id, Name: strings.ToUpper(id[:1]) + id[1:], Group: "G", VoiceID: "four", SpeakerID: i, Active: true}); err != nil {
			t.Fatal(err)
		}
	}
	if err := im.SetLexiconEntry(ctx, "nova", "Nova", "nˈoʊvə"); err != nil {
		t.Fatal(err)
	}
	// Adding again replaces the profile, keeps the place in the order and the lexicon.
	if err := im.PutMember(ctx, &store.Member{ID: "nova", Name: "Nova", Group: "G", Bio: "new", VoiceID: "four", Active: false}); err != nil {
		t.Fatal(err)
	}
	all, err := im.Store.AllMembers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range all {
		got = append(got, m.ID)
		if m.ID == "nova" && (m.Order != 1 || m.Bio != "new" || m.Active || m.Lexicon["Nova"] != "nˈoʊvə") {
			t.Errorf("nova after a second add: %+v", m)
		}
		if m.ID == "orion" && m.Order != 2 {
			t.Errorf("orion's order %d, want 2 (after nova)", m.Order)
		}
	}
	if strings.Join(got, ",") != "nova,orion" {
		t.Fatalf("all members %v (inactive ones included)", got)
	}
	fans, err := im.Store.ListMembers(ctx)
	if err != nil || len(fans) != 1 || fans[0].ID != "orion" {
		t.Fatalf("fans see %v, %v", fans, err)
	}

	if err := im.RemoveMember(ctx, "orion"); err != nil {
		t.Fatal(err)
	}
	if _, err := im.Store.GetMember(ctx, "orion"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("removed member: %v", err)
	}
	if err := im.RemoveMember(ctx, "orion"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("removing twice: %v", err)
	}
}

// A seed file with only a new member merges with what exists: their voice
// may be one registered with `import` (it failed with "voice … is not in
// the seed file").
func TestSeedUsesRegisteredVoices(t *testing.T) {
	im, _ := importer(t, "models-seed-merge")
	ctx := context.Background()
	model, cfg, err := demovoice.Build(demovoice.English())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := im.Import(ctx, &voiceimport.Voice{ID: "bench", Model: model, Config: piperShaped(t, cfg)}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "seed.json")
	seed := `{"members":[{"id":"nova","name":"Nova","group":"G","voice_id":"bench","speaker_id":1,"order":9,"active":true}]}`
	if err := os.WriteFile(path, []byte(seed), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := voiceimport.ReadSeed(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := im.Seed(ctx, f); err != nil {
		t.Fatalf("seed with a registered voice: %v", err)
	}
	if m, err := im.Store.GetMember(ctx, "nova"); err != nil || m.VoiceID != "bench" {
		t.Fatalf("nova: %+v %v", m, err)
	}
	seed = `{"members":[{"id":"x","name":"X","group":"G","voice_id":"ghost","active":true},{"id":"y","name":"Y","group":"G","voice_id":"bench","speaker_id":7,"active":true}]}`
	if err := os.WriteFile(path, []byte(seed), 0o644); err != nil {
		t.Fatal(err)
	}
	if f, err = voiceimport.ReadSeed(path); err != nil {
		t.Fatal(err)
	}
	err = im.Seed(ctx, f)
	if err == nil || !strings.Contains(err.Error(), "voice ghost is not registered") || !strings.Contains(err.Error(), "speaker 7, voice bench has 4") {
		t.Fatalf("seed with an unknown voice and a bad speaker: %v", err)
	}
}
