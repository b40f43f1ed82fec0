// Package job defines a synthesis job, its lifecycle and the rules for
// moving between states. The Firestore store persists it; the functions
// create it; the worker drives it to an end.
package job

import (
	"crypto/rand"
	"encoding/base32"
	"fmt"
	"strings"
	"time"
)

// Status is where a job is in its life.
type Status string

// The states. A job starts queued, is claimed (running) by a worker, and
// ends succeeded or failed. A running job whose lease expired may be
// claimed again (running → running) by another worker.
const (
	Queued    Status = "queued"
	Running   Status = "running"
	Succeeded Status = "succeeded"
	Failed    Status = "failed"
)

// Terminal reports whether no further transition is allowed.
func (s Status) Terminal() bool { return s == Succeeded || s == Failed }

// Valid reports whether s is one of the known states.
func (s Status) Valid() bool {
	switch s {
	case Queued, Running, Succeeded, Failed:
		return true
	}
	return false
}

// allowed lists every legal transition. Running → Queued lets a worker
// hand a job back (a retryable failure or a shutdown) without waiting for
// its lease to expire.
var allowed = map[Status][]Status{
	Queued:  {Running, Failed},
	Running: {Running, Queued, Succeeded, Failed},
}

// CanTransition reports whether a job may move from one state to another.
func CanTransition(from, to Status) bool {
	for _, s := range allowed[from] {
		if s == to {
			return true
		}
	}
	return false
}

// TransitionError reports an illegal state change.
type TransitionError struct {
	From, To Status
}

func (e *TransitionError) Error() string {
	return fmt.Sprintf("job: illegal transition %s → %s", e.From, e.To)
}

// Error is why a job failed: a stable machine-readable code and a message
// for people. Messages never carry internal names or stack traces.
type Error struct {
	Code    string `firestore:"code" json:"code"`
	Message string `firestore:"message" json:"message"`
}

// Output describes the audio a succeeded job produced.
type Output struct {
	Bucket          string  `firestore:"bucket" json:"bucket"`
	Object          string  `firestore:"object" json:"object"`
	Bytes           int64   `firestore:"bytes" json:"bytes"`
	DurationSeconds float64 `firestore:"duration_seconds" json:"duration_seconds"`
	SampleRate      int     `firestore:"sample_rate" json:"sample_rate"`
}

// Job is one synthesis request and everything known about its progress.
// Field names are the Firestore document's.
type Job struct {
	ID        string  `firestore:"-" json:"job_id"`
	MemberID  string  `firestore:"member_id" json:"member_id"`
	VoiceID   string  `firestore:"voice_id" json:"voice_id"`
	SpeakerID int     `firestore:"speaker_id" json:"speaker_id"`
	Text      string  `firestore:"text" json:"text"`
	Speed     float64 `firestore:"speed" json:"speed"`
	RequestID string  `firestore:"request_id,omitempty" json:"request_id,omitempty"`
	BatchID   string  `firestore:"batch_id,omitempty" json:"batch_id,omitempty"`

	Status   Status `firestore:"status" json:"status"`
	Attempts int    `firestore:"attempts" json:"attempts"`
	// Worker and LeaseUntil say who runs the job and until when that claim holds.
	Worker     string    `firestore:"worker,omitempty" json:"-"`
	LeaseUntil time.Time `firestore:"lease_until,omitempty" json:"-"`
	// Provider is the ONNX Runtime execution provider that produced the audio.
	Provider string `firestore:"provider,omitempty" json:"-"`

	Error  *Error  `firestore:"error,omitempty" json:"error,omitempty"`
	Output *Output `firestore:"output,omitempty" json:"output,omitempty"`

	CreatedAt  time.Time `firestore:"created_at" json:"created_at"`
	UpdatedAt  time.Time `firestore:"updated_at" json:"updated_at"`
	StartedAt  time.Time `firestore:"started_at,omitempty" json:"started_at,omitempty"`
	FinishedAt time.Time `firestore:"finished_at,omitempty" json:"finished_at,omitempty"`
	// ExpireAt lets a Firestore TTL policy delete old job records. The
	// store sets it: the audio retention after creation, then after the
	// job ended, so that the record goes with its audio.
	ExpireAt time.Time `firestore:"expire_at,omitempty" json:"-"`
}

// AudioExpiresAt is when the audio of a succeeded job is deleted: its
// object was written as the job ended, and the bucket keeps objects for
// the retention (CHORUS_AUDIO_RETENTION). Zero for other jobs.
func (j *Job) AudioExpiresAt(retention time.Duration) time.Time {
	if j.Status != Succeeded || j.FinishedAt.IsZero() {
		return time.Time{}
	}
	return j.FinishedAt.Add(retention)
}

// New returns a queued job with a fresh id.
func New(memberID, voiceID string, speakerID int, text string, speed float64, now time.Time) *Job {
	return &Job{
		ID:        NewID(),
		MemberID:  memberID,
		VoiceID:   voiceID,
		SpeakerID: speakerID,
		Text:      text,
		Speed:     speed,
		Status:    Queued,
		CreatedAt: now,
		UpdatedAt: now,
	}
}

// Transition moves the job to a new state, stamping times, or explains why
// it may not.
func (j *Job) Transition(to Status, now time.Time) error {
	if !CanTransition(j.Status, to) {
		return &TransitionError{From: j.Status, To: to}
	}
	j.Status = to
	j.UpdatedAt = now
	switch to {
	case Running:
		j.StartedAt = now
		j.Attempts++
	case Queued:
		j.Worker, j.LeaseUntil = "", time.Time{}
	case Succeeded, Failed:
		j.FinishedAt = now
		j.Worker, j.LeaseUntil = "", time.Time{}
	}
	return nil
}

// LeaseLive reports whether another worker's claim on a running job still holds.
func (j *Job) LeaseLive(now time.Time) bool {
	return j.Status == Running && now.Before(j.LeaseUntil)
}

// ObjectName is the deterministic audio object of a job: a redelivered or
// duplicated message overwrites the same object instead of adding one.
func (j *Job) ObjectName() string {
	return "audio/" + j.ID + ".wav"
}

// idEncoding is lower-case base32 without padding: URL and path safe.
var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// NewID returns an unguessable 128-bit id (26 characters). The id is the
// capability to read a job's result, so it must come from crypto/rand.
func NewID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		// crypto/rand never fails on Linux; a failure means no safe id exists.
		panic(fmt.Sprintf("job: crypto/rand failed: %v", err))
	}
	return idEncoding.EncodeToString(b[:])
}

// ValidGeneratedID reports whether s looks like an id NewID made (job and
// batch ids). Ids operators choose are message.ValidRecordID.
func ValidGeneratedID(s string) bool {
	if len(s) != 26 {
		return false
	}
	_, err := idEncoding.DecodeString(strings.ToLower(s))
	return err == nil && s == strings.ToLower(s)
}
