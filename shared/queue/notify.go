package queue

import (
	"context"
	"fmt"
	"time"

	"cloud.google.com/go/pubsub/v2"

	"github.com/chorus-voice/chorus/shared/message"
)

// Attributes of completion messages.
const (
	AttrKind    = "kind"
	AttrBatchID = "batch_id"
	// AttrCallbackURL is where the worker's callback sender POSTs the
	// message (the client's callback_url); absent when there is none. It
	// travels as an attribute so that the body is the same for every
	// subscriber and for the callback.
	AttrCallbackURL = "chorus_callback_url"
)

// Notifier publishes completions to the synthesis-completed topic.
type Notifier struct {
	pub *pubsub.Publisher
}

// NewNotifier returns a notifier for topicID on client.
func NewNotifier(client *pubsub.Client, topicID string) *Notifier {
	p := client.Publisher(topicID)
	p.PublishSettings.DelayThreshold = 5 * time.Millisecond
	return &Notifier{pub: p}
}

// Notify publishes c, with the client's callback URL when it gave one, and
// waits until Pub/Sub accepted it.
func (n *Notifier) Notify(ctx context.Context, c *message.Completion, callbackURL string) error {
	data, err := c.Encode()
	if err != nil {
		return err
	}
	attrs := map[string]string{AttrVersion: fmt.Sprint(message.Version), AttrKind: c.Kind}
	if c.JobID != "" {
		attrs[AttrJobID] = c.JobID
	}
	if c.BatchID != "" {
		attrs[AttrBatchID] = c.BatchID
	}
	if callbackURL != "" {
		attrs[AttrCallbackURL] = callbackURL
	}
	if _, err := n.pub.Publish(ctx, &pubsub.Message{Data: data, Attributes: attrs}).Get(ctx); err != nil {
		return fmt.Errorf("queue: publish %s completion: %w", c.Kind, err)
	}
	return nil
}

// Stop flushes and stops the notifier.
func (n *Notifier) Stop() { n.pub.Stop() }
