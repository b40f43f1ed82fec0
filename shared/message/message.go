// Package message defines the versioned Pub/Sub message that carries one
// synthesis request from the enqueue functions (or a batch producer) to the
// worker, and validates it on both ends.
package message

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/chorus-voice/chorus/shared/job"
)

// Version is the schema version this code writes and reads.
const Version = 1

// MaxBytes bounds an encoded message; anything larger is rejected unread.
const MaxBytes = 64 << 10

// SynthesisRequest is the message body, JSON encoded. Its fields mirror
// synthesis_request.proto, the schema the topic enforces.
type SynthesisRequest struct {
	V         int     `json:"v"`
	JobID     string  `json:"job_id,omitempty"`
	MemberID  string  `json:"member_id"`
	Text      string  `json:"text"`
	Speed     float64 `json:"speed,omitempty"`
	RequestID string  `json:"request_id,omitempty"`
	BatchID   string  `json:"batch_id,omitempty"`
	// Format is the audio format (job.Formats); empty means WAV.
	Format string `json:"format,omitempty"`
}

// The public speed range: what the HTTP API and queue messages accept. The
// engine's own range (engine.ModelMinSpeed…ModelMaxSpeed) is wider; it only
// keeps the model's input sane.
const (
	PublicMinSpeed = 0.5
	PublicMaxSpeed = 2.0
)

var (
	// idPattern accepts document ids we generate or operators choose:
	// letters, digits, '-' and '_' (no '/', which Firestore treats as a path).
	idPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`)
	// requestIDPattern is looser: clients choose it, it is hashed before use.
	requestIDPattern = regexp.MustCompile(`^[\x21-\x7e]{1,128}$`)
)

// ValidRecordID reports whether s is a well-formed id of a record operators
// name (a member or a voice). Job and batch ids are another grammar:
// job.ValidGeneratedID.
func ValidRecordID(s string) bool { return idPattern.MatchString(s) }

// ValidRequestID reports whether s is a well-formed client idempotency key.
func ValidRequestID(s string) bool { return requestIDPattern.MatchString(s) }

// ErrInvalid marks every validation failure of a message.
var ErrInvalid = errors.New("invalid synthesis message")

// Decode parses and validates a message body. maxTextChars bounds the text.
// Every error wraps ErrInvalid: such a message can never succeed.
func Decode(data []byte, maxTextChars int) (*SynthesisRequest, error) {
	if len(data) > MaxBytes {
		return nil, fmt.Errorf("%w: %d bytes exceeds %d", ErrInvalid, len(data), MaxBytes)
	}
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	var m SynthesisRequest
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: trailing data after the JSON object", ErrInvalid)
	}
	if err := m.Validate(maxTextChars); err != nil {
		return nil, err
	}
	return &m, nil
}

// Validate checks every field. Every error wraps ErrInvalid.
func (m *SynthesisRequest) Validate(maxTextChars int) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)
	}
	switch {
	case m.V != Version:
		return bad("unsupported version %d (want %d)", m.V, Version)
	case m.JobID != "" && !ValidRecordID(m.JobID):
		return bad("malformed job_id")
	case !ValidRecordID(m.MemberID):
		return bad("malformed member_id")
	case !utf8.ValidString(m.Text):
		return bad("text is not valid UTF-8")
	case strings.TrimSpace(m.Text) == "":
		return bad("text is empty")
	case utf8.RuneCountInString(m.Text) > maxTextChars:
		return bad("text has %d characters, limit %d", utf8.RuneCountInString(m.Text), maxTextChars)
	case m.Speed != 0 && (m.Speed < PublicMinSpeed || m.Speed > PublicMaxSpeed):
		return bad("speed %g outside %g–%g", m.Speed, PublicMinSpeed, PublicMaxSpeed)
	case m.RequestID != "" && !ValidRequestID(m.RequestID):
		return bad("malformed request_id")
	case m.JobID == "" && m.RequestID == "":
		return bad("a message without job_id needs a request_id")
	case m.BatchID != "" && !ValidRecordID(m.BatchID):
		return bad("malformed batch_id")
	case m.Format != "" && !job.ValidFormat(m.Format):
		return bad("format %q is not one of %s", m.Format, strings.Join(job.Formats, ", "))
	}
	return nil
}

// Encode validates and serialises a message.
func (m *SynthesisRequest) Encode(maxTextChars int) ([]byte, error) {
	if err := m.Validate(maxTextChars); err != nil {
		return nil, err
	}
	return json.Marshal(m)
}

// ForJob is the message that asks a worker to run j. The job's record
// decides its format; the message carries it too (WAV left out, as
// before formats existed).
func ForJob(j *job.Job) *SynthesisRequest {
	m := &SynthesisRequest{V: Version, JobID: j.ID, MemberID: j.MemberID, Text: j.Text,
		Speed: j.Speed, RequestID: j.RequestID, BatchID: j.BatchID}
	if f := j.AudioFormat(); f != job.FormatWAV {
		m.Format = f
	}
	return m
}

// AudioFormat is the format the message asks for: WAV when it names none.
func (m *SynthesisRequest) AudioFormat() string {
	if m.Format == "" {
		return job.FormatWAV
	}
	return m.Format
}

// EffectiveSpeed returns the speed to synthesise at (1.0 when unset).
func (m *SynthesisRequest) EffectiveSpeed() float64 {
	if m.Speed == 0 {
		return 1
	}
	return m.Speed
}
