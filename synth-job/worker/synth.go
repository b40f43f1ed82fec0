package worker

import (
	"context"
	"time"

	"github.com/chorus-voice/chorus/shared/store"
	"github.com/chorus-voice/chorus/synth-job/captions"
)

// Item is one job's text to synthesise.
type Item struct {
	JobID     string
	Text      string
	SpeakerID int
	Speed     float64
	// Format is the audio format to return (job.FormatWAV, FormatOpus,
	// FormatMP3).
	Format string
	// Lexicon is the member's pronunciations (word → phonemes).
	Lexicon map[string]string
}

// Audio is the outcome of one Item: its audio file in the item's format
// and the captions of its sentences, or the item's own error.
type Audio struct {
	Data     []byte
	Duration time.Duration
	// SampleRate is the stored file's (48 kHz for Opus).
	SampleRate int
	// Cues time each sentence on the audio (captions.WebVTT stores them).
	Cues []captions.Cue
	Err  error
}

// Synth synthesises items that share a voice, each in its format. It is
// the seam between the queue plumbing (this package, pure Go) and the
// ONNX engine and the audio encoders (cgo), which the synth-job binary
// plugs in; tests plug in fakes.
type Synth interface {
	// Synthesize returns one Audio per item, or an error for the whole
	// batch (voice unusable, engine failure).
	Synthesize(ctx context.Context, v *store.Voice, items []Item) ([]Audio, error)
	// Provider names the execution provider that runs inference (cpu, cuda).
	Provider() string
}

// PermanentError is a failure that no retry can fix. Code and Message end
// up on the job for the client to see.
type PermanentError struct {
	Code    string
	Message string
	Err     error
}

func (e *PermanentError) Error() string {
	if e.Err != nil {
		return e.Code + ": " + e.Err.Error()
	}
	return e.Code + ": " + e.Message
}

func (e *PermanentError) Unwrap() error { return e.Err }

// Permanent wraps err as a failure no retry can fix.
func Permanent(code, message string, err error) error {
	return &PermanentError{Code: code, Message: message, Err: err}
}
