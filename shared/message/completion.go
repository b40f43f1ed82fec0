package message

import (
	"encoding/json"

	"fmt"
	"time"

	"github.com/chorus-voice/chorus/shared/job"
)

// Kinds and batch statuses of a Completion.
const (
	KindJob   = "job"
	KindBatch = "batch"
	// BatchPartial: some jobs of the batch succeeded, some failed.
	BatchPartial = "partial"
)

// Completion is a message on the synthesis-completed topic (the schema
// synthesis_completed.proto), and the body of a callback: one per finished
// job, one per finished batch.
type Completion struct {
	V               int     `json:"v"`
	Kind            string  `json:"kind"`
	Status          string  `json:"status"`
	JobID           string  `json:"job_id,omitempty"`
	BatchID         string  `json:"batch_id,omitempty"`
	RequestID       string  `json:"request_id,omitempty"`
	MemberID        string  `json:"member_id,omitempty"`
	Object          string  `json:"object,omitempty"`
	DurationSeconds float64 `json:"duration_seconds,omitempty"`
	Format          string  `json:"format,omitempty"`
	Cached          bool    `json:"cached,omitempty"`
	ErrorCode       string  `json:"error_code,omitempty"`
	FinishedAt      string  `json:"finished_at"`
	Jobs            int     `json:"jobs,omitempty"`
	Succeeded       int     `json:"succeeded,omitempty"`
	Failed          int     `json:"failed,omitempty"`
}

// JobCompletion describes a finished job.
func JobCompletion(j *job.Job) *Completion {
	c := &Completion{V: Version, Kind: KindJob, Status: string(j.Status), JobID: j.ID, BatchID: j.BatchID,
		RequestID: j.RequestID, MemberID: j.MemberID, Cached: j.Cached, FinishedAt: j.FinishedAt.UTC().Format(time.RFC3339Nano)}
	if j.Output != nil {
		c.Object, c.DurationSeconds, c.Format = j.Output.Object, j.Output.DurationSeconds, j.AudioFormat()
	}
	if j.Error != nil {
		c.ErrorCode = j.Error.Code
	}
	return c
}

// BatchCompletion describes a batch whose every job finished.
func BatchCompletion(batchID string, jobs []*job.Job) *Completion {
	c := &Completion{V: Version, Kind: KindBatch, BatchID: batchID, Jobs: len(jobs)}
	var last time.Time
	for _, j := range jobs {
		switch j.Status {
		case job.Succeeded:
			c.Succeeded++
		case job.Failed:
			c.Failed++
		}
		if j.FinishedAt.After(last) {
			last = j.FinishedAt
		}
	}
	switch {
	case c.Failed == 0:
		c.Status = string(job.Succeeded)
	case c.Succeeded == 0:
		c.Status = string(job.Failed)
	default:
		c.Status = BatchPartial
	}
	c.FinishedAt = last.UTC().Format(time.RFC3339Nano)
	return c
}

// Encode validates and marshals a completion.
func (c *Completion) Encode() ([]byte, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return json.Marshal(c)
}

// DecodeCompletion parses and validates a completion.
func DecodeCompletion(data []byte) (*Completion, error) {
	if len(data) > MaxBytes {
		return nil, fmt.Errorf("%w: %d bytes", ErrInvalid, len(data))
	}
	var c Completion
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

// Validate checks a completion's fields.
func (c *Completion) Validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: completion: %s", ErrInvalid, fmt.Sprintf(format, a...))
	}
	if c.V != Version {
		return bad("version %d", c.V)
	}
	if _, err := time.Parse(time.RFC3339Nano, c.FinishedAt); err != nil {
		return bad("finished_at %q", c.FinishedAt)
	}
	switch c.Kind {
	case KindJob:
		if !job.ValidGeneratedID(c.JobID) {
			return bad("job_id %q", c.JobID)
		}
		if c.Status != string(job.Succeeded) && c.Status != string(job.Failed) {
			return bad("job status %q", c.Status)
		}
	case KindBatch:
		if c.BatchID == "" || c.Jobs < 1 || c.Succeeded+c.Failed != c.Jobs {
			return bad("batch %q with %d jobs (%d succeeded, %d failed)", c.BatchID, c.Jobs, c.Succeeded, c.Failed)
		}
	default:
		return bad("kind %q", c.Kind)
	}
	return nil
}
