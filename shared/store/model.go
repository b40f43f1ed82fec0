package store

import (
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/chorus-voice/chorus/shared/lexicon"
	"github.com/chorus-voice/chorus/shared/message"
)

// Voice is a registered Piper voice: one ONNX model and its config in the
// models bucket. A multi-speaker voice may back several members.
type Voice struct {
	ID string `firestore:"-" json:"id"`
	// Label is shown to fans ("Aria — demo voice").
	Label string `firestore:"label" json:"label"`
	// ModelObject and ConfigObject are object names in the models bucket.
	ModelObject  string `firestore:"model_object" json:"model_object"`
	ConfigObject string `firestore:"config_object" json:"config_object"`
	SampleRate   int    `firestore:"sample_rate" json:"sample_rate"`
	Language     string `firestore:"language" json:"language"`
	NumSpeakers  int    `firestore:"num_speakers" json:"num_speakers"`
	// Demo marks the generated demo voices, which are labelled as such wherever shown.
	Demo bool `firestore:"demo" json:"demo"`
	// Checksum identifies the voice's files (sha256 of model and config),
	// recorded at import; results are cached under it. Empty for voices
	// imported before it existed: their results are not cached.
	Checksum string `firestore:"checksum,omitempty" json:"checksum,omitempty"`
}

// Validate checks a voice record before it is written.
func (v *Voice) Validate() error {
	switch {
	case !message.ValidRecordID(v.ID):
		return fmt.Errorf("voice id %q: letters, digits, - and _ only", v.ID)
	case strings.TrimSpace(v.Label) == "":
		return fmt.Errorf("voice %s: label is empty", v.ID)
	case !validObject(v.ModelObject) || !strings.HasSuffix(v.ModelObject, ".onnx"):
		return fmt.Errorf("voice %s: model_object %q must be an object name ending in .onnx", v.ID, v.ModelObject)
	case !validObject(v.ConfigObject) || !strings.HasSuffix(v.ConfigObject, ".json"):
		return fmt.Errorf("voice %s: config_object %q must be an object name ending in .json", v.ID, v.ConfigObject)
	case v.SampleRate < 8000 || v.SampleRate > 96000:
		return fmt.Errorf("voice %s: sample_rate %d outside 8000–96000", v.ID, v.SampleRate)
	case v.NumSpeakers < 1:
		return fmt.Errorf("voice %s: num_speakers must be at least 1", v.ID)
	}
	return nil
}

func validObject(name string) bool {
	return name != "" && utf8.ValidString(name) && len(name) <= 1024 &&
		!strings.HasPrefix(name, "/") && !strings.Contains(name, "..") && !strings.HasPrefix(name, "gs://")
}

// Member is one member of a group, as fans see them, and the voice that speaks for them.
type Member struct {
	ID         string `firestore:"-" json:"id"`
	Name       string `firestore:"name" json:"name"`
	Group      string `firestore:"group" json:"group"`
	Bio        string `firestore:"bio" json:"bio"`
	ImageURL   string `firestore:"image_url" json:"image_url"`
	VoiceID    string `firestore:"voice_id" json:"voice_id"`
	SpeakerID  int    `firestore:"speaker_id" json:"speaker_id"`
	SampleText string `firestore:"sample_text" json:"sample_text"`
	Order      int    `firestore:"order" json:"order"`
	Active     bool   `firestore:"active" json:"active"`
	// CacheDisabled turns the result cache off for this member: every
	// request is synthesised anew.
	CacheDisabled bool `firestore:"cache_disabled,omitempty" json:"cache_disabled,omitempty"`
	// Lexicon is how this member says words (word → phonemes), applied
	// before phonemisation. Operators manage it with chorus-voices, which
	// checks each entry against the voice; PutMember keeps it.
	Lexicon map[string]string `firestore:"lexicon,omitempty" json:"-"`
}

// Validate checks a member record before it is written.
func (m *Member) Validate() error {
	switch {
	case !message.ValidRecordID(m.ID):
		return fmt.Errorf("member id %q: letters, digits, - and _ only", m.ID)
	case strings.TrimSpace(m.Name) == "":
		return fmt.Errorf("member %s: name is empty", m.ID)
	case strings.TrimSpace(m.Group) == "":
		return fmt.Errorf("member %s: group is empty", m.ID)
	case !message.ValidRecordID(m.VoiceID):
		return fmt.Errorf("member %s: voice_id %q is malformed", m.ID, m.VoiceID)
	case m.SpeakerID < 0:
		return fmt.Errorf("member %s: speaker_id must not be negative", m.ID)
	case m.ImageURL != "" && !validImageURL(m.ImageURL):
		return fmt.Errorf("member %s: image_url %q must be an https URL or a path", m.ID, m.ImageURL)
	}
	if err := lexicon.Lexicon(m.Lexicon).Check(); err != nil {
		return fmt.Errorf("member %s: %w", m.ID, err)
	}
	return nil
}

func validImageURL(s string) bool {
	u, err := url.Parse(s)
	if err != nil {
		return false
	}
	return u.Scheme == "https" || (u.Scheme == "" && strings.HasPrefix(s, "/"))
}
