package voiceimport_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"cloud.google.com/go/storage"

	"github.com/chorus-voice/chorus/scripts/emulators"
	"github.com/chorus-voice/chorus/shared/store"
	"github.com/chorus-voice/chorus/synth-job/demovoice"
	"github.com/chorus-voice/chorus/synth-job/internal/testenv"
	"github.com/chorus-voice/chorus/synth-job/phonemize"
	"github.com/chorus-voice/chorus/synth-job/voice"
	"github.com/chorus-voice/chorus/synth-job/voiceimport"
)

const project = "demo-chorus-voiceimport"

func TestMain(m *testing.M) {
	os.Exit(emulators.RunTests(m, emulators.Options{ProjectID: project, Firestore: true, GCS: true}))
}

// buckets numbers the buckets of one test process: the emulator keeps
// them between tests, and -count=N runs a test again.
var buckets atomic.Int64

func importer(t *testing.T, bucket string) (*voiceimport.Importer, *storage.BucketHandle) {
	t.Helper()
	bucket = fmt.Sprintf("%s-%d", bucket, buckets.Add(1))
	stack := emulators.Require(t)
	lib := testenv.ORTLibrary(t)
	ctx := context.Background()
	if err := stack.ResetFirestore(ctx); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(ctx, project, 0) // voices and members only
	if err != nil {
		t.Fatal(err)
	}
	gcs, err := storage.NewClient(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close(); gcs.Close() })
	b := gcs.Bucket(bucket)
	if err := b.Create(ctx, project, nil); err != nil {
		t.Fatal(err)
	}
	return &voiceimport.Importer{Store: st, Models: b, ORTLibrary: lib}, b
}

func TestSeedIsIdempotent(t *testing.T) {
	im, bucket := importer(t, "models-seed")
	ctx := context.Background()
	f, err := voiceimport.ReadSeed("../../scripts/seed/seed.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Members) < 4 {
		t.Fatalf("the seed has %d members, want at least 4", len(f.Members))
	}
	if err := im.Seed(ctx, f); err != nil {
		t.Fatal(err)
	}
	first, err := bucket.Object("voices/chorus-demo-en.onnx").Attrs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := im.Seed(ctx, f); err != nil {
		t.Fatal(err)
	}
	second, err := bucket.Object("voices/chorus-demo-en.onnx").Attrs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if first.Generation != second.Generation {
		t.Errorf("reseeding rewrote an unchanged model (generation %d → %d)", first.Generation, second.Generation)
	}
	members, err := im.Store.ListMembers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(members) != len(f.Members) {
		t.Fatalf("%d members after seeding twice, want %d", len(members), len(f.Members))
	}
	v, err := im.Store.GetVoice(ctx, "chorus-demo-en")
	if err != nil || !v.Demo || v.NumSpeakers != 4 || v.SampleRate != 22050 {
		t.Fatalf("voice record %+v %v", v, err)
	}
}

func TestImportRejectsAMismatchedPair(t *testing.T) {
	im, _ := importer(t, "models-import")
	enModel, enCfg, err := demovoice.Build(demovoice.English())
	if err != nil {
		t.Fatal(err)
	}
	koModel, _, err := demovoice.Build(demovoice.Korean())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	// The Korean model has one speaker (no sid input); the English config says four.
	_, err = im.Import(ctx, &voiceimport.Voice{ID: "mismatch", Label: "x", Model: koModel, Config: enCfg})
	if !errors.Is(err, voice.ErrInvalid) {
		t.Fatalf("mismatched pair: %v", err)
	}
	_, err = im.Import(ctx, &voiceimport.Voice{ID: "garbage", Label: "x", Model: []byte("not onnx"), Config: enCfg})
	if !errors.Is(err, voice.ErrInvalid) {
		t.Fatalf("garbage model: %v", err)
	}
	if _, err := im.Store.GetVoice(ctx, "mismatch"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a rejected voice was registered: %v", err)
	}
	if _, err := im.Import(ctx, &voiceimport.Voice{ID: "ok-en", Model: enModel, Config: enCfg}); err != nil {
		t.Fatalf("valid pair: %v", err)
	}
}

// A lexicon entry is checked against the member's voice when it is saved:
// a phoneme the voice does not know is refused with the reason and nothing
// is stored; a good entry is kept when the member's profile is re-seeded.
func TestLexiconEntriesAreCheckedAtImport(t *testing.T) {
	im, _ := importer(t, "models-lexicon")
	ctx := context.Background()
	model, cfg, err := demovoice.Build(demovoice.English())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := im.Import(ctx, &voiceimport.Voice{ID: "lex-en", Model: model, Config: cfg}); err != nil {
		t.Fatal(err)
	}
	m := &store.Member{ID: "lex-aria", Name: "Aria", Group: "G", VoiceID: "lex-en", Active: true}
	if err := im.Store.PutMember(ctx, m); err != nil {
		t.Fatal(err)
	}
	if err := im.SetLexiconEntry(ctx, "lex-aria", "Aria", "ˈɑːɹiə"); err != nil {
		t.Fatalf("good entry: %v", err)
	}
	if err := im.SetLexiconEntry(ctx, "lex-aria", "아리아", "ˈɑːɹiə"); err != nil {
		t.Fatalf("the name in Korean: %v", err)
	}
	err = im.SetLexiconEntry(ctx, "lex-aria", "Zed", "ʘʘ")
	if !errors.Is(err, phonemize.ErrLexicon) || !strings.Contains(err.Error(), "ʘ") {
		t.Fatalf("unknown phoneme: %v, want ErrLexicon naming it", err)
	}
	if err := im.SetLexiconEntry(ctx, "nobody", "Aria", "ˈɑːɹiə"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown member: %v", err)
	}
	if err := im.Store.PutMember(ctx, &store.Member{ID: "lex-aria", Name: "Aria", Group: "G", VoiceID: "lex-en", Active: true, Bio: "new bio"}); err != nil {
		t.Fatal(err)
	}
	got, err := im.Store.GetMember(ctx, "lex-aria")
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Lexicon) != 2 || got.Lexicon["Aria"] != "ˈɑːɹiə" || got.Bio != "new bio" {
		t.Fatalf("after re-seeding: lexicon %v, bio %q", got.Lexicon, got.Bio)
	}
	if err := im.SetLexiconEntry(ctx, "lex-aria", "Aria", ""); err != nil {
		t.Fatal(err)
	}
	if got, _ := im.Store.GetMember(ctx, "lex-aria"); len(got.Lexicon) != 1 {
		t.Fatalf("after delete: %v", got.Lexicon)
	}
}

// Import stores the voice's prepared graphs beside its model, with a
// manifest current for that model; a voice registered before they existed
// gets them from PrepareStored, once.
func TestPreparedGraphsAreStored(t *testing.T) {
	im, bucket := importer(t, "models-prepared")
	ctx := context.Background()
	model, cfg, err := demovoice.Build(demovoice.English())
	if err != nil {
		t.Fatal(err)
	}
	rec, err := im.Import(ctx, &voiceimport.Voice{ID: "prep-en", Model: model, Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(model)
	stored := func() *voice.Prepared {
		t.Helper()
		r, err := bucket.Object(rec.ModelObject + voice.PreparedManifestSuffix).NewReader(ctx)
		if err != nil {
			t.Fatalf("manifest: %v", err)
		}
		defer r.Close()
		b, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		p, err := voice.ParsePrepared(b)
		if err != nil {
			t.Fatal(err)
		}
		if !p.Current(hex.EncodeToString(sum[:])) {
			t.Fatalf("stored manifest %+v is not current for the model", p)
		}
		for suffix, g := range map[string]*voice.PreparedGraph{voice.PreparedGraphSuffix: p.Graph, voice.LiftedGraphSuffix: p.Lifted} {
			if g == nil {
				continue
			}
			a, err := bucket.Object(rec.ModelObject + suffix).Attrs(ctx)
			if err != nil || a.Size != g.Size {
				t.Fatalf("%s: %v, size %d, manifest %d", suffix, err, a.Size, g.Size)
			}
		}
		return p
	}
	stored()
	// As if imported before prepared graphs existed.
	if err := bucket.Object(rec.ModelObject + voice.PreparedManifestSuffix).Delete(ctx); err != nil {
		t.Fatal(err)
	}
	for i, want := range []bool{true, false} {
		did, err := im.PrepareStored(ctx, "prep-en")
		if err != nil || did != want {
			t.Fatalf("PrepareStored call %d: %v, prepared %v; want %v", i+1, err, did, want)
		}
	}
	stored()
}
