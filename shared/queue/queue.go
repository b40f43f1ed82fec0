// Package queue publishes synthesis requests to Pub/Sub. (The emulator-only
// topology creator is scripts/emulators.EnsureTopology.)
package queue

import (
	"context"
	"errors"
	"fmt"
	"time"

	"cloud.google.com/go/pubsub/v2"

	"github.com/chorus-voice/chorus/shared/logging"
	"github.com/chorus-voice/chorus/shared/message"
)

// Attribute names set on every message, so that subscriptions, dead-letter
// tooling and logs can see what a message is without decoding it.
const (
	AttrVersion = "chorus_v"
	AttrJobID   = "job_id"
	// AttrTraceParent carries the W3C trace of the request that enqueued
	// the job, so that the worker's log lines about it join that trace.
	AttrTraceParent = "traceparent"
)

// Publisher sends synthesis requests to the topic.
type Publisher struct {
	pub     *pubsub.Publisher
	maxText int
}

// NewPublisher returns a publisher for topicID on client.
func NewPublisher(client *pubsub.Client, topicID string, maxTextChars int) *Publisher {
	p := client.Publisher(topicID)
	p.PublishSettings.DelayThreshold = 5 * time.Millisecond
	return &Publisher{pub: p, maxText: maxTextChars}
}

// Publish sends every message and waits until Pub/Sub has accepted each.
// The returned slice holds one error (or nil) per message; err is non-nil
// when any failed.
func (p *Publisher) Publish(ctx context.Context, msgs []*message.SynthesisRequest) ([]error, error) {
	results := make([]*pubsub.PublishResult, len(msgs))
	errs := make([]error, len(msgs))
	trace, traced := logging.TraceFrom(ctx)
	for i, m := range msgs {
		data, err := m.Encode(p.maxText)
		if err != nil {
			errs[i] = err
			continue
		}
		attrs := map[string]string{AttrVersion: fmt.Sprint(message.Version), AttrJobID: m.JobID}
		if traced {
			attrs[AttrTraceParent] = trace.TraceParent() // the worker logs the request's trace
		}
		results[i] = p.pub.Publish(ctx, &pubsub.Message{Data: data, Attributes: attrs})
	}
	var failed []error
	for i, r := range results {
		if r == nil {
			failed = append(failed, errs[i])
			continue
		}
		if _, err := r.Get(ctx); err != nil {
			errs[i] = fmt.Errorf("queue: publish job %s: %w", msgs[i].JobID, err)
			failed = append(failed, errs[i])
		}
	}
	return errs, errors.Join(failed...)
}

// Stop flushes pending messages and releases the publisher's goroutines.
func (p *Publisher) Stop() { p.pub.Stop() }
