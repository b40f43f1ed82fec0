package voiceimport

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/chorus-voice/chorus/shared/store"
	"github.com/chorus-voice/chorus/synth-job/demovoice"
)

// SeedFile is the operator's roster: voices (demo voices are generated)
// and members.
type SeedFile struct {
	Voices []struct {
		ID    string `json:"id"`
		Label string `json:"label"`
		// DemoGenerator names a generated demo voice ("en" or "ko").
		DemoGenerator string `json:"demo_generator"`
		ModelObject   string `json:"model_object"`
		ConfigObject  string `json:"config_object"`
		Language      string `json:"language"`
		Demo          bool   `json:"demo"`
	} `json:"voices"`
	Members []*store.Member `json:"members"`
}

// ReadSeed reads and checks a seed file: every member's voice is in the
// file and the speaker exists.
func ReadSeed(path string) (*SeedFile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("seed: %w", err)
	}
	var f SeedFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("seed %s: %w", path, err)
	}
	for _, m := range f.Members {
		if err := m.Validate(); err != nil {
			return nil, fmt.Errorf("seed %s: %w", path, err)
		}
	}
	return &f, nil
}

// DemoOptions returns the generator options for a seed's demo_generator.
func DemoOptions(name string) (demovoice.Options, error) {
	switch name {
	case "en":
		return demovoice.English(), nil
	case "ko":
		return demovoice.Korean(), nil
	}
	return demovoice.Options{}, fmt.Errorf("unknown demo voice generator %q (want en or ko)", name)
}

// Seed generates and imports the seed's demo voices and writes its
// members. It is idempotent: running it again changes nothing.
func (im *Importer) Seed(ctx context.Context, f *SeedFile) error {
	speakers := map[string]int{}
	for _, sv := range f.Voices {
		if sv.DemoGenerator == "" {
			// A real voice is imported with `chorus-voices import`; it must exist.
			v, err := im.Store.GetVoice(ctx, sv.ID)
			if err != nil {
				return fmt.Errorf("seed: voice %s is not a demo voice and is not registered: %w", sv.ID, err)
			}
			speakers[sv.ID] = v.NumSpeakers
			continue
		}
		o, err := DemoOptions(sv.DemoGenerator)
		if err != nil {
			return fmt.Errorf("seed: voice %s: %w", sv.ID, err)
		}
		model, cfg, err := demovoice.Build(o)
		if err != nil {
			return fmt.Errorf("seed: voice %s: %w", sv.ID, err)
		}
		rec, err := im.Import(ctx, &Voice{ID: sv.ID, Label: sv.Label, Model: model, Config: cfg,
			ModelObject: sv.ModelObject, ConfigObject: sv.ConfigObject})
		if err != nil {
			return fmt.Errorf("seed: %w", err)
		}
		speakers[sv.ID] = rec.NumSpeakers
	}
	// A member may also use a voice registered before (chorus-voices
	// import) that the file does not list: the seed merges with what exists.
	var errs []error
	for _, m := range f.Members {
		n, ok := speakers[m.VoiceID]
		if !ok {
			v, err := im.Store.GetVoice(ctx, m.VoiceID)
			if err != nil {
				errs = append(errs, fmt.Errorf("seed: member %s: %w", m.ID, voiceMissing(m.VoiceID, err)))
				continue
			}
			n = v.NumSpeakers
			speakers[m.VoiceID] = n
		}
		if m.SpeakerID >= n {
			errs = append(errs, fmt.Errorf("seed: member %s: speaker %d, voice %s has %d (0…%d)", m.ID, m.SpeakerID, m.VoiceID, n, n-1))
			continue
		}
		if err := im.Store.PutMember(ctx, m); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
