package engine

import (
	"errors"

	"github.com/chorus-voice/chorus/synth-job/voice"
)

// Permanent failures: the same request can never succeed, so the caller
// should fail the job instead of retrying. Everything else that Synthesize
// returns (ONNX Runtime failures, I/O, cancellation) is transient.
var (
	// ErrNoPhonemes: the text gave nothing to speak (empty, only
	// punctuation, or only symbols the voice does not know).
	ErrNoPhonemes = errors.New("text has nothing to speak")
	// ErrSpeaker: the speaker id is not one of the voice's speakers.
	ErrSpeaker = errors.New("speaker out of range")
	// ErrSpeed: the speed is outside [ModelMinSpeed, ModelMaxSpeed].
	ErrSpeed = errors.New("speed out of range")
	// ErrTooLong: a sentence alone does not fit in the device's memory
	// (the GPU memory limit); shorter sentences would.
	ErrTooLong = errors.New("sentence too long for this device")
	// ErrInvalidVoice: the voice's config or model breaks the Piper
	// contract. It is voice.ErrInvalid, so either name works with errors.Is.
	ErrInvalidVoice = voice.ErrInvalid
)

// IsPermanent reports whether err is one of the permanent failures.
func IsPermanent(err error) bool {
	return errors.Is(err, ErrNoPhonemes) || errors.Is(err, ErrSpeaker) ||
		errors.Is(err, ErrSpeed) || errors.Is(err, ErrInvalidVoice) || errors.Is(err, ErrTooLong)
}
