// Package queue publishes synthesis requests to Pub/Sub and, for the local
// stack and tests, creates the topic and subscriptions that Terraform
// creates in the cloud.
package queue

import (
	"context"
	"errors"
	"fmt"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

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

// Topology names the Pub/Sub resources of the synthesis queue.
type Topology struct {
	ProjectID string
	// Topic receives synthesis requests; Subscription is the workers' pull subscription.
	Topic, Subscription string
	// DeadLetterTopic receives messages that failed MaxDeliveryAttempts times.
	DeadLetterTopic string
	// DeadLetterSubscriptions are created on the dead-letter topic (one the
	// worker sweeps, one that keeps the letters for people).
	DeadLetterSubscriptions []string
	MaxDeliveryAttempts     int
	AckDeadline             time.Duration
	MinBackoff, MaxBackoff  time.Duration
}

// Ensure creates whatever of the topology is missing. It is meant for the
// emulator; in the cloud Terraform owns these resources.
func Ensure(ctx context.Context, client *pubsub.Client, t Topology) error {
	topicName := func(id string) string { return fmt.Sprintf("projects/%s/topics/%s", t.ProjectID, id) }
	subName := func(id string) string { return fmt.Sprintf("projects/%s/subscriptions/%s", t.ProjectID, id) }
	for _, id := range []string{t.Topic, t.DeadLetterTopic} {
		_, err := client.TopicAdminClient.CreateTopic(ctx, &pubsubpb.Topic{Name: topicName(id)})
		if err != nil && status.Code(err) != codes.AlreadyExists {
			return fmt.Errorf("queue: create topic %s: %w", id, err)
		}
	}
	subs := []*pubsubpb.Subscription{{
		Name:                     subName(t.Subscription),
		Topic:                    topicName(t.Topic),
		AckDeadlineSeconds:       int32(t.AckDeadline / time.Second),
		MessageRetentionDuration: durationpb.New(7 * 24 * time.Hour),
		RetryPolicy: &pubsubpb.RetryPolicy{
			MinimumBackoff: durationpb.New(t.MinBackoff),
			MaximumBackoff: durationpb.New(t.MaxBackoff),
		},
		DeadLetterPolicy: &pubsubpb.DeadLetterPolicy{
			DeadLetterTopic:     topicName(t.DeadLetterTopic),
			MaxDeliveryAttempts: int32(t.MaxDeliveryAttempts),
		},
	}}
	for _, id := range t.DeadLetterSubscriptions {
		subs = append(subs, &pubsubpb.Subscription{
			Name:                     subName(id),
			Topic:                    topicName(t.DeadLetterTopic),
			AckDeadlineSeconds:       60,
			MessageRetentionDuration: durationpb.New(7 * 24 * time.Hour),
		})
	}
	for _, s := range subs {
		_, err := client.SubscriptionAdminClient.CreateSubscription(ctx, s)
		if err != nil && status.Code(err) != codes.AlreadyExists {
			return fmt.Errorf("queue: create subscription %s: %w", s.Name, err)
		}
	}
	return nil
}
