// Command chorus-voices registers voices and members for operators.
//
//	chorus-voices validate -model x.onnx [-config x.onnx.json]
//	chorus-voices import   -id ID -model x.onnx [-config x.onnx.json] [-label "…"]
//	chorus-voices members  add -id ID -name N -group G -voice V [-speaker S] [-bio …] [-sample …] [-image URL] [-order N] [-inactive]
//	chorus-voices members  list
//	chorus-voices members  remove -id ID
//	chorus-voices seed     [-file scripts/seed/seed.json]
//	chorus-voices lexicon  -member ID [-word W [-phonemes P | -delete]]
//	chorus-voices phonemize (-member ID | -config x.onnx.json) -text "…"
//
// phonemize prints what a voice will say for a text, sentence by sentence:
// the text as written, what the phonemiser is given (normalised, with
// inline and lexicon phonemes), the lexicon entries that applied, and each
// model sentence's phonemes and ids. With -config it needs nothing else
// (no lexicon); with -member it reads the member's voice and lexicon.
//
// Where it works: with GOOGLE_CLOUD_PROJECT set, the project of the
// environment (CHORUS_MODELS_BUCKET too, and CHORUS_ORT_LIBRARY, and the
// emulator variables if any). Without it, the local stack that `make dev`
// runs, found through the file it writes (.dev/stack.env, in this
// directory or a parent; CHORUS_STACK_ENV names another): nothing to set.
// Every command is idempotent.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sort"
	"syscall"

	"cloud.google.com/go/storage"

	"github.com/chorus-voice/chorus/shared/localstack"
	"github.com/chorus-voice/chorus/shared/logging"
	"github.com/chorus-voice/chorus/shared/store"
	"github.com/chorus-voice/chorus/synth-job/voice"
	"github.com/chorus-voice/chorus/synth-job/voiceimport"
)

const usage = `usage:
  chorus-voices validate -model x.onnx [-config x.onnx.json]
  chorus-voices import   -id ID -model x.onnx [-config x.onnx.json] [-label "…"]   (label: from the config by default)
  chorus-voices members  add -id ID -name NAME -group GROUP -voice VOICE_ID [-speaker N] [-bio …] [-sample "…"] [-image URL] [-order N] [-inactive]
  chorus-voices members  list
  chorus-voices members  remove -id ID
  chorus-voices seed     [-file scripts/seed/seed.json]   (voices it does not list must be registered)
  chorus-voices lexicon  -member ID                          (list)
  chorus-voices lexicon  -member ID -word W -phonemes "…"    (set; checked against the voice)
  chorus-voices lexicon  -member ID -word W -delete
  chorus-voices phonemize -member ID -text "…"               (what the member's voice will say)
  chorus-voices phonemize -config x.onnx.json -text "…"      (a voice file, no lexicon)`

func main() {
	slog.SetDefault(logging.New(os.Stderr, slog.LevelWarn))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	}
	if err := useLocalStack(os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "chorus-voices:", err)
		os.Exit(1)
	}
	cmd, args := os.Args[1], os.Args[2:]
	if cmd == "members" {
		if len(args) == 0 {
			fmt.Fprintln(os.Stderr, usage)
			os.Exit(2)
		}
		cmd, args = "members "+args[0], args[1:]
	}
	if err := run(ctx, cmd, args); err != nil {
		fmt.Fprintln(os.Stderr, "chorus-voices:", err)
		os.Exit(1)
	}
}

// useLocalStack points the command at the local stack (make dev) when the
// environment names no project, and says so on w.
func useLocalStack(w io.Writer) error {
	if os.Getenv("GOOGLE_CLOUD_PROJECT") != "" {
		return nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return err
	}
	path, err := localstack.Find(wd)
	if errors.Is(err, os.ErrNotExist) {
		return nil // commands that need a project say so
	}
	if err != nil {
		return err
	}
	env, err := localstack.Load(path)
	if errors.Is(err, localstack.ErrNotRunning) {
		return fmt.Errorf("%w: start it with make dev, or set GOOGLE_CLOUD_PROJECT and CHORUS_MODELS_BUCKET for a cloud project", err)
	}
	if err != nil {
		return err
	}
	if _, err := env.Apply(); err != nil {
		return err
	}
	fmt.Fprintf(w, "chorus-voices: using the local stack (make dev) at %s, project %s (%s)\n", env["CHORUS_URL"], env["GOOGLE_CLOUD_PROJECT"], path)
	return nil
}

func run(ctx context.Context, cmd string, args []string) error {
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	model := fs.String("model", "", "the voice's .onnx file")
	cfgPath := fs.String("config", "", "the voice's .onnx.json (default: model path + .json)")
	id := fs.String("id", "", "voice or member id (letters, digits, - and _)")
	label := fs.String("label", "", "label shown to fans (default: from the config)")
	file := fs.String("file", "scripts/seed/seed.json", "seed file")
	member := fs.String("member", "", "lexicon: the member")
	word := fs.String("word", "", "lexicon: the word as written (a name, in any script)")
	phonemes := fs.String("phonemes", "", "lexicon: its phonemes, in the voice's phoneme alphabet (espeak-ng IPA for Piper voices)")
	del := fs.Bool("delete", false, "lexicon: remove the word")
	text := fs.String("text", "", "phonemize: the text to preview")
	mf := memberFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%s: unexpected argument %q (flags come as -name value)", cmd, fs.Arg(0))
	}
	if cmd == "phonemize" && *cfgPath != "" {
		return phonemizeFile(*cfgPath, *text)
	}
	lib := os.Getenv("CHORUS_ORT_LIBRARY")
	if lib == "" {
		return errors.New("CHORUS_ORT_LIBRARY is not set (scripts/setup-ort.sh prints the path; make dev sets it for its stack)")
	}
	readPair := func() (*voiceimport.Voice, error) {
		if *model == "" {
			return nil, errors.New("-model is required")
		}
		if *cfgPath == "" {
			*cfgPath = *model + ".json"
		}
		m, err := os.ReadFile(*model)
		if err != nil {
			return nil, err
		}
		c, err := os.ReadFile(*cfgPath)
		if err != nil {
			return nil, err
		}
		return &voiceimport.Voice{ID: *id, Label: *label, Model: m, Config: c}, nil
	}
	switch cmd {
	case "validate":
		v, err := readPair()
		if err != nil {
			return err
		}
		cfg, batching, err := (&voiceimport.Importer{ORTLibrary: lib}).Validate(v)
		if err != nil {
			return err
		}
		fmt.Printf("ok: %s, %d Hz, %d speaker(s), phonemes %s (%s), %d symbols\nbatching: %s\n",
			*model, cfg.Audio.SampleRate, cfg.NumSpeakers, cfg.PhonemeType, cfg.Espeak.Voice, len(cfg.PhonemeIDMap), batching)
		return nil
	case "import", "seed", "lexicon", "phonemize", "members add", "members list", "members remove":
	default:
		return fmt.Errorf("unknown command %q\n%s", cmd, usage)
	}
	project, bucket := os.Getenv("GOOGLE_CLOUD_PROJECT"), os.Getenv("CHORUS_MODELS_BUCKET")
	if project == "" || bucket == "" {
		return errors.New("no project: start the local stack (make dev; this command then finds it through .dev/stack.env), " +
			"or set GOOGLE_CLOUD_PROJECT and CHORUS_MODELS_BUCKET for a cloud project")
	}
	st, err := store.Open(ctx, project, 0) // voices and members only
	if err != nil {
		return err
	}
	defer st.Close()
	gcs, err := storage.NewClient(ctx)
	if err != nil {
		return err
	}
	defer gcs.Close()
	im := &voiceimport.Importer{Store: st, Models: gcs.Bucket(bucket), ORTLibrary: lib}
	switch cmd {
	case "lexicon":
		return lexicon(ctx, im, st, *member, *word, *phonemes, *del)
	case "members add":
		return addMember(ctx, im, *id, mf)
	case "members list":
		return listMembers(ctx, st, os.Stdout)
	case "members remove":
		if *id == "" {
			return errors.New("-id is required")
		}
		if err := im.RemoveMember(ctx, *id); err != nil {
			return err
		}
		fmt.Printf("removed member %s\n", *id)
		return nil
	}
	if cmd == "phonemize" {
		if *member == "" || *text == "" {
			return errors.New("phonemize needs -member (or -config) and -text")
		}
		p, err := im.Phonemize(ctx, *member, *text)
		if err != nil {
			return err
		}
		return p.Write(os.Stdout)
	}
	if cmd == "seed" {
		f, err := voiceimport.ReadSeed(*file)
		if err != nil {
			return err
		}
		if err := im.Seed(ctx, f); err != nil {
			return err
		}
		fmt.Printf("seeded %d voices and %d members\n", len(f.Voices), len(f.Members))
		return nil
	}
	v, err := readPair()
	if err != nil {
		return err
	}
	if *id == "" {
		return errors.New("-id is required")
	}
	rec, err := im.Import(ctx, v)
	if err != nil {
		return err
	}
	fmt.Printf("imported voice %s (%s): gs://%s/%s, %d speaker(s)\n", rec.ID, rec.Label, bucket, rec.ModelObject, rec.NumSpeakers)
	return nil
}

// phonemizeFile previews text for the voice of a config file, without a
// lexicon and without the cloud.
func phonemizeFile(path, text string) error {
	if text == "" {
		return errors.New("phonemize needs -text")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	cfg, err := voice.ParseConfig(data)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	p, err := voiceimport.PreviewText(cfg, nil, text)
	if err != nil {
		return err
	}
	return p.Write(os.Stdout)
}

// lexicon lists, sets or deletes a member's pronunciations.
func lexicon(ctx context.Context, im *voiceimport.Importer, st *store.Store, member, word, phonemes string, del bool) error {
	if member == "" {
		return errors.New("-member is required")
	}
	switch {
	case word == "":
		m, err := st.GetMember(ctx, member)
		if err != nil {
			return err
		}
		words := make([]string, 0, len(m.Lexicon))
		for w := range m.Lexicon {
			words = append(words, w)
		}
		sort.Strings(words)
		for _, w := range words {
			fmt.Printf("%s\t[[ %s ]]\n", w, m.Lexicon[w])
		}
		return nil
	case del:
		if err := im.SetLexiconEntry(ctx, member, word, ""); err != nil {
			return err
		}
		fmt.Printf("removed %q from %s's lexicon\n", word, member)
		return nil
	case phonemes == "":
		return errors.New("-phonemes (or -delete) is required with -word")
	}
	if err := im.SetLexiconEntry(ctx, member, word, phonemes); err != nil {
		return err
	}
	fmt.Printf("%s says %q as [[ %s ]]\n", member, word, phonemes)
	return nil
}
