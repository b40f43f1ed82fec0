package emulators

import (
	"context"
	"fmt"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
)

// Topology names the Pub/Sub resources of the synthesis queue, as Terraform
// creates them in the cloud.
type Topology struct {
	ProjectID string
	// Topic receives synthesis requests; Subscription is the workers' pull subscription.
	Topic, Subscription string
	// DeadLetterTopic receives messages that failed MaxDeliveryAttempts times.
	DeadLetterTopic string
	// DeadLetterSubscriptions are created on the dead-letter topic (one the
	// worker sweeps, one that keeps the letters for people).
	DeadLetterSubscriptions []string
	// DeadLetterRetention is how long the dead-letter subscriptions keep a
	// letter (it holds a fan's text): no longer than the audio retention,
	// as in the cloud (DeadLetterRetention). Zero keeps Pub/Sub's most, 7 days.
	DeadLetterRetention    time.Duration
	MaxDeliveryAttempts    int
	AckDeadline            time.Duration
	MinBackoff, MaxBackoff time.Duration
	// CompletionTopic (optional) receives synthesis-completed messages;
	// CompletionSubscriptions are created on it (the worker's callback
	// sender, observers).
	CompletionTopic         string
	CompletionSubscriptions []string
}

// Pub/Sub's bounds on a subscription's message retention.
const (
	minRetention = 10 * time.Minute
	maxRetention = 7 * 24 * time.Hour
)

// DeadLetterRetention is how long dead letters are kept when audio is kept
// for audio: as long, within Pub/Sub's bounds (10 minutes to 7 days).
func DeadLetterRetention(audio time.Duration) time.Duration {
	return min(max(audio, minRetention), maxRetention)
}

// EnsureTopology creates whatever of t is missing on the Pub/Sub emulator
// that client points at. In the cloud Terraform owns these resources.
func EnsureTopology(ctx context.Context, client *pubsub.Client, t Topology) error {
	topicName := func(id string) string { return fmt.Sprintf("projects/%s/topics/%s", t.ProjectID, id) }
	subName := func(id string) string { return fmt.Sprintf("projects/%s/subscriptions/%s", t.ProjectID, id) }
	for _, id := range []string{t.Topic, t.DeadLetterTopic, t.CompletionTopic} {
		if id == "" {
			continue
		}
		_, err := client.TopicAdminClient.CreateTopic(ctx, &pubsubpb.Topic{Name: topicName(id)})
		if err != nil && status.Code(err) != codes.AlreadyExists {
			return fmt.Errorf("emulators: create topic %s: %w", id, err)
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
	dlRetention := t.DeadLetterRetention
	if dlRetention == 0 {
		dlRetention = maxRetention
	}
	for _, id := range t.DeadLetterSubscriptions {
		subs = append(subs, &pubsubpb.Subscription{
			Name:                     subName(id),
			Topic:                    topicName(t.DeadLetterTopic),
			AckDeadlineSeconds:       60,
			MessageRetentionDuration: durationpb.New(dlRetention),
		})
	}
	for _, id := range t.CompletionSubscriptions {
		subs = append(subs, &pubsubpb.Subscription{
			Name:                     subName(id),
			Topic:                    topicName(t.CompletionTopic),
			AckDeadlineSeconds:       30,
			MessageRetentionDuration: durationpb.New(7 * 24 * time.Hour),
			RetryPolicy: &pubsubpb.RetryPolicy{
				MinimumBackoff: durationpb.New(t.MinBackoff),
				MaximumBackoff: durationpb.New(t.MaxBackoff),
			},
		})
	}
	for _, s := range subs {
		_, err := client.SubscriptionAdminClient.CreateSubscription(ctx, s)
		if err != nil && status.Code(err) != codes.AlreadyExists {
			return fmt.Errorf("emulators: create subscription %s: %w", s.Name, err)
		}
	}
	return nil
}
