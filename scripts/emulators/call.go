package emulators

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// No request to an emulator has a fixed timeout of its own: on a busy
// machine a JVM emulator can take many seconds to answer (a 5 s client
// timeout failed most runs of the suite on two shared cores). Every request
// is bounded by its caller's context instead, transient failures are retried
// with backoff under that context, and a context without a deadline gets
// DefaultCallTimeout.

// DefaultCallTimeout bounds a call such as ResetFirestore whose context has
// no deadline: long enough for an emulator starved of CPU, short enough
// that a hung emulator fails the test with a message instead of the go test
// timeout.
const DefaultCallTimeout = 2 * time.Minute

// Backoff of polls and retries: from backoffMin doubling to backoffMax.
const (
	backoffMin = 50 * time.Millisecond
	backoffMax = time.Second
)

// backoff is a doubling delay.
type backoff struct{ d time.Duration }

// wait sleeps for the next delay, or returns ctx's error first.
func (b *backoff) wait(ctx context.Context) error {
	if b.d == 0 {
		b.d = backoffMin
	}
	t := time.NewTimer(b.d)
	defer t.Stop()
	b.d = min(2*b.d, backoffMax)
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// withDefaultDeadline returns ctx, given DefaultCallTimeout when it has no deadline.
func withDefaultDeadline(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, DefaultCallTimeout)
}

// whileRunning returns a context that is also cancelled when p exits, so
// that a request to an emulator that died does not wait for its deadline.
func whileRunning(ctx context.Context, p *process) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		select {
		case <-p.done:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}

// statusError is an answer with an unexpected HTTP status.
type statusError struct {
	status int
	text   string
	body   string
}

func (e *statusError) Error() string { return fmt.Sprintf("%s: %s", e.text, e.body) }

// transient reports whether err (from do) may go away by retrying: a
// network error, a 5xx, a 429. The caller's context ending is not.
func transient(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	var se *statusError
	if errors.As(err, &se) {
		return se.status >= 500 || se.status == http.StatusTooManyRequests
	}
	return true // the request did not get an answer
}

// do sends one request and returns the body of an answer whose status is
// one of ok (200 when none is given).
func (s *Stack) do(ctx context.Context, method, u, body string, ok ...int) ([]byte, error) {
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, r)
	if err != nil {
		return nil, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("%s %s: read answer: %w", method, u, err)
	}
	if len(ok) == 0 {
		ok = []int{http.StatusOK}
	}
	for _, c := range ok {
		if resp.StatusCode == c {
			return b, nil
		}
	}
	return nil, &statusError{status: resp.StatusCode, text: method + " " + u + ": " + resp.Status, body: strings.TrimSpace(string(b))}
}

// doRetry is do, retried with backoff while it fails transiently and ctx
// lasts. The error of a failed call names the attempts and the last failure.
func (s *Stack) doRetry(ctx context.Context, method, u, body string, ok ...int) ([]byte, error) {
	var bo backoff
	for attempt := 1; ; attempt++ {
		b, err := s.do(ctx, method, u, body, ok...)
		if err == nil {
			return b, nil
		}
		if !transient(ctx, err) {
			return nil, err
		}
		s.logger.Debug("emulator request failed, retrying", "method", method, "url", u, "attempt", attempt, "err", err)
		if werr := bo.wait(ctx); werr != nil {
			return nil, fmt.Errorf("after %d attempts: %w (last: %w)", attempt, werr, err)
		}
	}
}

// warmFirestore pays the Firestore emulator's first-use cost (class
// loading, JIT) before any test runs: a write, a read, a query, an empty
// transaction and the reset endpoint. It leaves the database empty.
func (s *Stack) warmFirestore(ctx context.Context, host string) error {
	docs := "http://" + host + "/v1/projects/" + url.PathEscape(s.ProjectID) + "/databases/(default)/documents"
	steps := []struct{ method, u, body string }{
		{"POST", docs + "/chorus-warmup?documentId=w", `{"fields":{"n":{"integerValue":"1"}}}`},
		{"GET", docs + "/chorus-warmup/w", ""},
		{"POST", docs + ":runQuery", `{"structuredQuery":{"from":[{"collectionId":"chorus-warmup"}]}}`},
	}
	for _, st := range steps {
		if _, err := s.doRetry(ctx, st.method, st.u, st.body); err != nil {
			return fmt.Errorf("warm up: %w", err)
		}
	}
	b, err := s.doRetry(ctx, "POST", docs+":beginTransaction", "{}")
	if err != nil {
		return fmt.Errorf("warm up: %w", err)
	}
	var tx struct {
		Transaction string `json:"transaction"`
	}
	if err := json.Unmarshal(b, &tx); err != nil || tx.Transaction == "" {
		return fmt.Errorf("warm up: beginTransaction answered %q", b)
	}
	if _, err := s.doRetry(ctx, "POST", docs+":commit", `{"transaction":"`+tx.Transaction+`"}`); err != nil {
		return fmt.Errorf("warm up: %w", err)
	}
	if err := s.resetFirestore(ctx, host); err != nil {
		return fmt.Errorf("warm up: %w", err)
	}
	return nil
}

// warmPubSub pays the Pub/Sub emulator's first-use cost: a topic and a
// subscription are created, a message is published, pulled and acked, and
// both are deleted.
func (s *Stack) warmPubSub(ctx context.Context, host string) error {
	base := "http://" + host + "/v1/projects/" + url.PathEscape(s.ProjectID)
	topic, sub := base+"/topics/chorus-warmup", base+"/subscriptions/chorus-warmup"
	steps := []struct {
		method, u, body string
		ok              []int
	}{
		{"PUT", topic, "{}", []int{200, 409}},
		{"PUT", sub, `{"topic":"projects/` + s.ProjectID + `/topics/chorus-warmup","ackDeadlineSeconds":10}`, []int{200, 409}},
		{"POST", topic + ":publish", `{"messages":[{"data":"d2FybQ=="}]}`, nil},
	}
	for _, st := range steps {
		if _, err := s.doRetry(ctx, st.method, st.u, st.body, st.ok...); err != nil {
			return fmt.Errorf("warm up: %w", err)
		}
	}
	// A pull may come back empty before the message is deliverable.
	var bo backoff
	for {
		b, err := s.doRetry(ctx, "POST", sub+":pull", `{"maxMessages":1,"returnImmediately":true}`)
		if err != nil {
			return fmt.Errorf("warm up: %w", err)
		}
		var pulled struct {
			ReceivedMessages []struct {
				AckID string `json:"ackId"`
			} `json:"receivedMessages"`
		}
		if err := json.Unmarshal(b, &pulled); err != nil {
			return fmt.Errorf("warm up: pull answered %q: %w", b, err)
		}
		if len(pulled.ReceivedMessages) > 0 {
			ack, _ := json.Marshal(map[string][]string{"ackIds": {pulled.ReceivedMessages[0].AckID}})
			if _, err := s.doRetry(ctx, "POST", sub+":acknowledge", string(ack)); err != nil {
				return fmt.Errorf("warm up: %w", err)
			}
			break
		}
		if err := bo.wait(ctx); err != nil {
			return fmt.Errorf("warm up: the published message never arrived: %w", err)
		}
	}
	for _, u := range []string{sub, topic} {
		if _, err := s.doRetry(ctx, "DELETE", u, ""); err != nil {
			return fmt.Errorf("warm up: %w", err)
		}
	}
	return nil
}

// resetFirestore deletes every document of the project, retrying transient
// failures under ctx.
func (s *Stack) resetFirestore(ctx context.Context, host string) error {
	u := "http://" + host + "/emulator/v1/projects/" + url.PathEscape(s.ProjectID) + "/databases/(default)/documents"
	_, err := s.doRetry(ctx, http.MethodDelete, u, "")
	return err
}
