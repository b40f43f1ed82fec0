package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// maxJSON bounds an API answer read here; maxAudio the audio fetched (a
// WAV of a sentence is well under a megabyte).
const (
	maxJSON  = 1 << 20
	maxAudio = 32 << 20
)

// endpoints are the deployed functions' URLs.
type endpoints struct {
	profiles, synthesize, status *url.URL
}

// newEndpoints takes the URLs terraform outputs (function_urls), each of
// which must be https.
func newEndpoints(urls map[string]string) (endpoints, error) {
	var ep endpoints
	for name, dst := range map[string]**url.URL{"profiles": &ep.profiles, "synthesize": &ep.synthesize, "status": &ep.status} {
		u, err := httpsURL(urls[name])
		if err != nil {
			return ep, fmt.Errorf("%s: %w", name, err)
		}
		*dst = u
	}
	return ep, nil
}

func httpsURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("%q is not an https URL", s)
	}
	return u, nil
}

// checker runs the check against one deployment.
type checker struct {
	client *http.Client
	ep     endpoints
	log    *slog.Logger
	poll   time.Duration
	text   string
}

// errNoMembers says the deployment has nobody to synthesise with.
var errNoMembers = errors.New("profiles lists no member: import a voice and register a member (README, voice import), then run the check again")

func (c *checker) check(ctx context.Context, member string, failWhenEmpty bool) error {
	start := time.Now()
	members, err := c.members(ctx)
	if err != nil {
		return err
	}
	c.log.Info("profiles answered", "members", len(members), "ms", time.Since(start).Milliseconds())
	if member == "" {
		if len(members) == 0 {
			if failWhenEmpty {
				return errNoMembers
			}
			c.log.Warn("synthesis not checked: " + errNoMembers.Error())
			return nil
		}
		member = members[0]
	}

	submitted := time.Now()
	statusURL, err := c.submit(ctx, member)
	if err != nil {
		return err
	}
	job, err := c.wait(ctx, statusURL)
	if err != nil {
		return err
	}
	c.log.Info("synthesis succeeded", "member", member, "submit_to_succeeded_ms", time.Since(submitted).Milliseconds(),
		"duration_seconds", job.DurationSeconds)

	if exp, err := time.Parse(time.RFC3339, job.ExpiresAt); err != nil || !exp.After(time.Now()) {
		return fmt.Errorf("status: expires_at %q is not a time to come", job.ExpiresAt)
	}
	n, err := c.fetchAudio(ctx, job.AudioURL)
	if err != nil {
		return err
	}
	c.log.Info("signed audio URL fetched", "bytes", n, "total_ms", time.Since(start).Milliseconds())
	return nil
}

// members lists the member ids profiles answers.
func (c *checker) members(ctx context.Context) ([]string, error) {
	var body struct {
		Members []struct {
			ID string `json:"id"`
		} `json:"members"`
	}
	if err := c.getJSON(ctx, c.ep.profiles.String(), &body); err != nil {
		return nil, fmt.Errorf("profiles: %w", err)
	}
	ids := make([]string, 0, len(body.Members))
	for _, m := range body.Members {
		if m.ID == "" {
			return nil, errors.New("profiles: a member without an id")
		}
		ids = append(ids, m.ID)
	}
	return ids, nil
}

// submit queues one synthesis and returns where to poll it.
func (c *checker) submit(ctx context.Context, member string) (*url.URL, error) {
	payload, err := json.Marshal(map[string]string{"member_id": member, "text": c.text})
	if err != nil {
		return nil, fmt.Errorf("synthesize: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.ep.synthesize.String(), bytes.NewReader(payload))
	if err != nil {
		return nil, fmt.Errorf("synthesize: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	var body struct {
		JobID     string `json:"job_id"`
		StatusURL string `json:"status_url"`
	}
	if err := c.doJSON(req, &body, http.StatusAccepted, http.StatusOK); err != nil {
		return nil, fmt.Errorf("synthesize: %w", err)
	}
	if body.JobID == "" {
		return nil, errors.New("synthesize: the answer has no job_id")
	}
	// Deployed, status_url is absolute; anything else is asked of the
	// status function by id.
	if u, err := httpsURL(body.StatusURL); err == nil {
		return u, nil
	}
	u := *c.ep.status
	q := u.Query()
	q.Set("id", body.JobID)
	u.RawQuery = q.Encode()
	return &u, nil
}

// jobStatus is what status answers about one job.
type jobStatus struct {
	Status          string  `json:"status"`
	AudioURL        string  `json:"audio_url"`
	ExpiresAt       string  `json:"expires_at"`
	DurationSeconds float64 `json:"duration_seconds"`
	Error           *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// wait polls status until the job has ended or ctx is done.
func (c *checker) wait(ctx context.Context, statusURL *url.URL) (*jobStatus, error) {
	t := time.NewTicker(c.poll)
	defer t.Stop()
	last, logged := "queued", ""
	late := func() error {
		return fmt.Errorf("the job was still %s at the deadline (is a worker execution starting? see the alert playbooks in terraform/alerts.tf): %w", last, ctx.Err())
	}
	for {
		var job jobStatus
		if err := c.getJSON(ctx, statusURL.String(), &job); err != nil {
			if ctx.Err() != nil {
				return nil, late()
			}
			return nil, fmt.Errorf("status: %w", err)
		}
		if job.Status != logged {
			c.log.Info("job", "status", job.Status)
			logged = job.Status
		}
		last = job.Status
		switch job.Status {
		case "succeeded":
			return &job, nil
		case "failed":
			if job.Error != nil {
				return nil, fmt.Errorf("the job failed: %s: %s", job.Error.Code, job.Error.Message)
			}
			return nil, errors.New("the job failed without an error")
		case "queued", "running":
		default:
			return nil, fmt.Errorf("status: unknown job status %q", job.Status)
		}
		select {
		case <-ctx.Done():
			return nil, late()
		case <-t.C:
		}
	}
}

// fetchAudio downloads the signed audio URL as the browser does and
// checks that it is a signed URL that answers with a WAV.
func (c *checker) fetchAudio(ctx context.Context, raw string) (int, error) {
	u, err := httpsURL(raw)
	if err != nil {
		return 0, fmt.Errorf("audio_url: %w", err)
	}
	if u.Query().Get("X-Goog-Signature") == "" {
		return 0, fmt.Errorf("audio_url is not a V4 signed URL (no X-Goog-Signature): %s", u.Redacted())
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return 0, fmt.Errorf("audio_url: %w", err)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("fetching the signed audio URL: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return 0, fmt.Errorf("fetching the signed audio URL: %s: %s", resp.Status, strings.TrimSpace(string(snippet)))
	}
	audio, err := io.ReadAll(io.LimitReader(resp.Body, maxAudio+1))
	if err != nil {
		return 0, fmt.Errorf("fetching the signed audio URL: %w", err)
	}
	if len(audio) > maxAudio {
		return 0, fmt.Errorf("the audio is larger than %d bytes", maxAudio)
	}
	if len(audio) < 44 || string(audio[:4]) != "RIFF" || string(audio[8:12]) != "WAVE" {
		return 0, fmt.Errorf("the audio is not a WAV (%d bytes, Content-Type %q)", len(audio), resp.Header.Get("Content-Type"))
	}
	return len(audio), nil
}

func (c *checker) getJSON(ctx context.Context, u string, into any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	return c.doJSON(req, into, http.StatusOK)
}

// doJSON sends req and decodes a JSON answer of one of the statuses ok;
// another status is an error carrying the API's error code and message.
func (c *checker) doJSON(req *http.Request, into any, ok ...int) error {
	req.Header.Set("Accept", "application/json")
	resp, err := c.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJSON+1))
	if err != nil {
		return err
	}
	if len(body) > maxJSON {
		return fmt.Errorf("answer larger than %d bytes", maxJSON)
	}
	good := false
	for _, s := range ok {
		good = good || resp.StatusCode == s
	}
	if !good {
		var e struct {
			Error struct {
				Code    string `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		}
		if json.Unmarshal(body, &e) == nil && e.Error.Code != "" {
			return fmt.Errorf("%s: %s: %s", resp.Status, e.Error.Code, e.Error.Message)
		}
		return fmt.Errorf("%s", resp.Status)
	}
	if err := json.Unmarshal(body, into); err != nil {
		return fmt.Errorf("answer is not the expected JSON: %w", err)
	}
	return nil
}
