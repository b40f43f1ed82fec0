// Package voiceimport registers voices: it validates a Piper voice pair
// (config and model, the model's inputs and outputs checked by ONNX
// Runtime), uploads it to the models bucket and records it in Firestore.
// It also loads the seed file of members and demo voices.
package voiceimport

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"strings"
	"unicode"

	"cloud.google.com/go/storage"
	"google.golang.org/api/googleapi"

	"github.com/chorus-voice/chorus/shared/store"
	"github.com/chorus-voice/chorus/synth-job/engine"
	"github.com/chorus-voice/chorus/synth-job/voice"
)

// MaxModelBytes bounds an imported model (Piper's largest voices are ~120 MB).
const MaxModelBytes = 512 << 20

// Voice is a voice pair to import.
type Voice struct {
	ID, Label    string
	Model        []byte
	Config       []byte
	ModelObject  string // default voices/ID.onnx
	ConfigObject string // default voices/ID.onnx.json
}

// Importer validates, uploads and registers voices.
type Importer struct {
	Store  *store.Store
	Models *storage.BucketHandle
	// ORTLibrary is the ONNX Runtime library used to check models.
	ORTLibrary string
}

// Validate checks the pair against the Piper contract without uploading,
// and says how the model's runs may be batched.
func (im *Importer) Validate(v *Voice) (*voice.Config, voice.Batching, error) {
	if len(v.Model) == 0 || len(v.Model) > MaxModelBytes {
		return nil, 0, fmt.Errorf("%w: model is %d bytes (1 … %d)", voice.ErrInvalid, len(v.Model), MaxModelBytes)
	}
	cfg, err := voice.ParseConfig(v.Config)
	if err != nil {
		return nil, 0, err
	}
	if err := engine.InitRuntime(im.ORTLibrary); err != nil {
		return nil, 0, err
	}
	ins, outs, err := engine.ModelPortsFromBytes(v.Model)
	if err != nil {
		return nil, 0, err
	}
	batching, err := voice.CheckModel(cfg, ins, outs)
	if err != nil {
		return nil, 0, err
	}
	return cfg, batching, nil
}

// Import validates v, uploads it (unchanged objects are not rewritten) and
// records it. Importing the same pair again changes nothing.
func (im *Importer) Import(ctx context.Context, v *Voice) (*store.Voice, error) {
	cfg, _, err := im.Validate(v)
	if err != nil {
		return nil, fmt.Errorf("voice %s: %w", v.ID, err)
	}
	rec := &store.Voice{
		ID: v.ID, Label: v.Label, ModelObject: v.ModelObject, ConfigObject: v.ConfigObject,
		SampleRate: cfg.Audio.SampleRate, Language: cfg.TextLanguage(), NumSpeakers: cfg.NumSpeakers,
		Demo: cfg.Chorus != nil && cfg.Chorus.Demo, Checksum: Checksum(v.Model, v.Config),
	}
	if rec.ModelObject == "" {
		rec.ModelObject = "voices/" + v.ID + ".onnx"
	}
	if rec.ConfigObject == "" {
		rec.ConfigObject = rec.ModelObject + ".json"
	}
	if rec.Label == "" && cfg.Chorus != nil {
		rec.Label = cfg.Chorus.Label
	}
	if strings.TrimSpace(rec.Label) == "" {
		rec.Label = DefaultLabel(v.ID, cfg)
	}
	if err := rec.Validate(); err != nil {
		return nil, err
	}
	if err := put(ctx, im.Models, rec.ModelObject, v.Model, "application/octet-stream"); err != nil {
		return nil, err
	}
	if err := put(ctx, im.Models, rec.ConfigObject, v.Config, "application/json"); err != nil {
		return nil, err
	}
	if err := im.Store.PutVoice(ctx, rec); err != nil {
		return nil, err
	}
	return rec, nil
}

// Checksum identifies a voice's files: the sha256 of the model and the
// config. Results are cached under it, so a voice re-imported with other
// files never answers with the old voice's audio.
func Checksum(model, config []byte) string {
	h := sha256.New()
	h.Write(model)
	h.Write([]byte{0})
	h.Write(config)
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// put uploads data unless the object already holds the same bytes. The
// CRC32C travels with the upload so Cloud Storage rejects a corrupted one.
func put(ctx context.Context, b *storage.BucketHandle, name string, data []byte, contentType string) error {
	sum := crc32.Checksum(data, castagnoli)
	attrs, err := b.Object(name).Attrs(ctx)
	switch {
	case err == nil && attrs.Size == int64(len(data)) && attrs.CRC32C == sum:
		return nil
	case err != nil && !errors.Is(err, storage.ErrObjectNotExist):
		var gerr *googleapi.Error
		if !(errors.As(err, &gerr) && gerr.Code == http.StatusNotFound) {
			return fmt.Errorf("voiceimport: stat %s: %w", name, err)
		}
	}
	w := b.Object(name).NewWriter(ctx)
	w.ContentType = contentType
	w.CRC32C, w.SendCRC32C = sum, true
	if _, err := io.Copy(w, bytes.NewReader(data)); err != nil {
		_ = w.Close()
		return fmt.Errorf("voiceimport: upload %s: %w", name, err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("voiceimport: upload %s: %w", name, err)
	}
	return nil
}

// maxLabelRunes bounds a label made from a config (it is shown to fans).
const maxLabelRunes = 80

// DefaultLabel names a voice imported without -label from its config, as
// Piper's exporter writes it: the dataset, then the language and country
// and the quality — "lessac (English, United States, medium)". Without a
// dataset the voice id stands in. Text from the file is cleaned (no
// control characters, single spaces) and bounded, since fans see it.
func DefaultLabel(id string, cfg *voice.Config) string {
	name := clean(cfg.Dataset)
	if name == "" {
		name = id
	}
	var about []string
	if l := cfg.Language; l != nil {
		switch {
		case clean(l.NameEnglish) != "":
			about = append(about, clean(l.NameEnglish))
			if c := clean(l.CountryEnglish); c != "" {
				about = append(about, c)
			}
		case clean(l.Code) != "":
			about = append(about, clean(l.Code))
		}
	}
	if len(about) == 0 && clean(cfg.Espeak.Voice) != "" {
		about = append(about, clean(cfg.Espeak.Voice))
	}
	if q := clean(cfg.Audio.Quality); q != "" {
		about = append(about, q)
	}
	label := name
	if len(about) > 0 {
		label += " (" + strings.Join(about, ", ") + ")"
	}
	if r := []rune(label); len(r) > maxLabelRunes {
		label = strings.TrimSpace(string(r[:maxLabelRunes-1])) + "…"
	}
	return label
}

// clean keeps printable text on one line with single spaces.
func clean(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || !unicode.IsPrint(r) }), " ")
}
