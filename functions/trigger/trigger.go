// Package trigger starts an execution of the worker's Cloud Run job when
// work was enqueued and no execution is running, so that the GPU job runs
// only while there is work, without one execution per message.
package trigger

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// DefaultEndpoint is the Cloud Run Admin API.
const DefaultEndpoint = "https://run.googleapis.com"

// JobStarter runs a Cloud Run job when none of its executions is active.
// Checks are debounced per instance: at most one every MinGap.
type JobStarter struct {
	// Name is projects/P/locations/L/jobs/J.
	Name string
	// Client carries credentials (google.DefaultClient in the cloud).
	Client *http.Client
	// Endpoint is the API base URL; DefaultEndpoint when empty.
	Endpoint string
	// MinGap is the least time between two checks by this instance.
	MinGap time.Duration

	mu   sync.Mutex
	last time.Time
}

type runJob struct {
	LatestCreatedExecution *struct {
		Name           string `json:"name"`
		CompletionTime string `json:"completionTime"`
	} `json:"latestCreatedExecution"`
}

// Ensure starts an execution if none is running. Failures are logged, not
// returned: the Cloud Scheduler backstop starts the job anyway, and the
// client's request has already been accepted.
func (t *JobStarter) Ensure(ctx context.Context) {
	t.mu.Lock()
	if !t.last.IsZero() && time.Since(t.last) < t.MinGap {
		t.mu.Unlock()
		return
	}
	t.last = time.Now()
	t.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	started, err := t.ensure(ctx)
	if err != nil {
		slog.WarnContext(ctx, "could not start worker job", "job", t.Name, "error", err)
		t.mu.Lock()
		t.last = time.Time{} // try again on the next request
		t.mu.Unlock()
		return
	}
	if started {
		slog.InfoContext(ctx, "started worker job execution", "job", t.Name)
	}
}

func (t *JobStarter) ensure(ctx context.Context) (bool, error) {
	base := t.Endpoint
	if base == "" {
		base = DefaultEndpoint
	}
	var j runJob
	if err := t.call(ctx, http.MethodGet, base+"/v2/"+t.Name, nil, &j); err != nil {
		return false, fmt.Errorf("read job: %w", err)
	}
	if e := j.LatestCreatedExecution; e != nil && e.Name != "" && e.CompletionTime == "" {
		return false, nil // one is running; it drains the queue
	}
	if err := t.call(ctx, http.MethodPost, base+"/v2/"+t.Name+":run", []byte("{}"), nil); err != nil {
		return false, fmt.Errorf("run job: %w", err)
	}
	return true, nil
}

func (t *JobStarter) call(ctx context.Context, method, url string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := t.Client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %s: %.200s", method, url, resp.Status, data)
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}
