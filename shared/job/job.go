// Package job defines a synthesis job, its lifecycle and the rules for
// moving between states. The Firestore store persists it; the functions
// create it; the worker drives it to an end.
package job

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"fmt"
	"strconv"
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
	// SampleRate is the stored audio's: the voice's for WAV and MP3 (or
	// the next rate MP3 carries), 48 kHz for Opus.
	SampleRate int `firestore:"sample_rate" json:"sample_rate"`
	// CaptionsObject is the WebVTT file beside the audio (one cue per
	// sentence); empty for results made before captions existed.
	CaptionsObject string `firestore:"captions_object,omitempty" json:"captions_object,omitempty"`
	// WrittenAt is when the object was written, which its retention counts
	// from. A job answered from the result cache shares an older object.
	WrittenAt time.Time `firestore:"written_at,omitempty" json:"written_at,omitempty"`
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
	// Format is the audio format asked for (FormatWAV, FormatOpus,
	// FormatMP3); empty on jobs made before formats existed, which are WAV.
	Format    string `firestore:"format,omitempty" json:"format,omitempty"`
	RequestID string `firestore:"request_id,omitempty" json:"request_id,omitempty"`
	BatchID   string `firestore:"batch_id,omitempty" json:"batch_id,omitempty"`
	// Producer marks a job the worker made from a message a batch producer
	// published straight to the topic. Such a message may only join a
	// batch of producer jobs, never one the API made.
	Producer bool `firestore:"producer,omitempty" json:"-"`

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
	// CacheKey names the result this job's audio answers (ResultKey); empty
	// when the result cache is off for the member or the voice has no
	// checksum. Cached marks a job answered from the cache at enqueue.
	CacheKey string `firestore:"cache_key,omitempty" json:"-"`
	Cached   bool   `firestore:"cached,omitempty" json:"cached,omitempty"`

	// CallbackURL is where the client asked to be told the job (and its
	// batch) finished; Notified says its completion was published to the
	// synthesis-completed topic (always written, so that jobs still owed
	// one can be queried).
	CallbackURL string `firestore:"callback_url,omitempty" json:"-"`
	Notified    bool   `firestore:"notified" json:"-"`

	// ExpireAt lets a Firestore TTL policy delete old job records. The
	// store sets it: the audio retention after creation, then after the
	// job ended, so that the record goes with its audio.
	ExpireAt time.Time `firestore:"expire_at,omitempty" json:"-"`
}

// AudioExpiresAt is when the audio of a succeeded job is deleted: the
// bucket keeps objects for the retention (CHORUS_AUDIO_RETENTION) after
// they were written, which is when the job ended unless it was answered
// from the result cache. Zero for other jobs.
func (j *Job) AudioExpiresAt(retention time.Duration) time.Time {
	if j.Status != Succeeded || j.FinishedAt.IsZero() {
		return time.Time{}
	}
	if j.Output != nil && !j.Output.WrittenAt.IsZero() {
		return j.Output.WrittenAt.Add(retention)
	}
	return j.FinishedAt.Add(retention)
}

// New returns a queued job with a fresh id, asking for WAV (set Format
// for another format).
func New(memberID, voiceID string, speakerID int, text string, speed float64, now time.Time) *Job {
	return &Job{
		ID:        NewID(),
		MemberID:  memberID,
		VoiceID:   voiceID,
		SpeakerID: speakerID,
		Text:      text,
		Speed:     speed,
		Format:    FormatWAV,
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

// ObjectName is the deterministic audio object of a job, its extension
// that of its format: a redelivered or duplicated message writes the same
// object instead of adding one. The name is a one-way digest of the job
// id, never the id itself: the result cache hands the object to later
// identical requests, and the job id is the capability to read the job
// (its text, and once its batch). A digest of a 128-bit random id cannot
// be turned back into it.
func (j *Job) ObjectName() string {
	return objectStem(j.ID) + Extension(j.AudioFormat())
}

// CaptionsObjectName is the job's WebVTT captions, beside its audio.
func (j *Job) CaptionsObjectName() string {
	return objectStem(j.ID) + ".vtt"
}

// objectPrefix holds every job's objects.
const objectPrefix = "audio/"

// objectStem is the object name of job id without its extension:
// objectPrefix and 32 hex digits of SHA-256 over a label and the id.
func objectStem(id string) string {
	sum := sha256.Sum256([]byte("chorus audio object v1\x00" + id))
	return objectPrefix + hex.EncodeToString(sum[:16])
}

// Shareable reports whether an object name may be handed to a request other
// than the one that produced it: a digest name (ObjectName,
// CaptionsObjectName), not one that carries a job id as results written
// before digest names did ("audio/JOBID.wav").
func Shareable(object string) bool {
	rest, ok := strings.CutPrefix(object, objectPrefix)
	if !ok {
		return false
	}
	stem, _, _ := strings.Cut(rest, ".")
	if len(stem) != 32 {
		return false
	}
	_, err := hex.DecodeString(stem)
	return err == nil && stem == strings.ToLower(stem)
}

// AudioFormat is the job's format: WAV for a job made before formats
// existed.
func (j *Job) AudioFormat() string {
	if j.Format == "" {
		return FormatWAV
	}
	return j.Format
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

// The audio formats a job may ask for.
const (
	// FormatWAV is 16-bit PCM WAV at the voice's rate, the default.
	FormatWAV = "wav"
	// FormatOpus is Opus in an Ogg container (48 kHz).
	FormatOpus = "opus"
	// FormatMP3 is MP3 (MPEG Layer III).
	FormatMP3 = "mp3"
)

// Formats lists every format, the default first.
var Formats = []string{FormatWAV, FormatOpus, FormatMP3}

// ValidFormat reports whether f is one of Formats (exactly, lower case).
func ValidFormat(f string) bool {
	return f == FormatWAV || f == FormatOpus || f == FormatMP3
}

// ContentType is the media type stored objects of format f carry
// ("audio/ogg" for Ogg Opus: browsers sniff the codec).
func ContentType(f string) string {
	switch f {
	case FormatOpus:
		return "audio/ogg"
	case FormatMP3:
		return "audio/mpeg"
	}
	return "audio/wav"
}

// Extension is the file extension of format f (".opus" for Ogg Opus, as
// RFC 7845 recommends).
func Extension(f string) string {
	switch f {
	case FormatOpus:
		return ".opus"
	case FormatMP3:
		return ".mp3"
	}
	return ".wav"
}

// PipelineVersion names what turns text into audio besides the voice:
// text normalisation, phonemisation, the engine's cutting and levelling,
// encoding. It is part of every result's cache key: bump it whenever a
// change makes the same request sound different, and earlier results stop
// answering. 2026-11-30.2: one level per job (−16 LUFS, −1.5 dBTP) instead
// of per-sentence peaks, sentences spoken as written, captions, formats.
// 2026-12-07.1: emoji dropped, Korean numbers read by their counters,
// ranges, an ellipsis inside a sentence, the key of what the engine speaks.
const PipelineVersion = "2026-12-07.1"

// ResultKey identifies what a request will sound like: the voice file (by
// the checksum recorded at import), the speaker, what the engine speaks
// (shared/utterance Key: the sentences as written, the normalised text,
// the inline and lexicon phonemes), the speed, the output format and the
// pipeline version. Identical keys give identical audio and captions.
func ResultKey(voiceChecksum string, speaker int, utteranceKey string, speed float64, format string) string {
	h := sha256.New()
	for _, s := range []string{PipelineVersion, voiceChecksum, strconv.Itoa(speaker), utteranceKey,
		strconv.FormatFloat(speed, 'g', -1, 64), format} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}
