package emulators

import (
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
)

// Dead letters hold fans' text: the local topology keeps them no longer
// than the audio, as Terraform does in the cloud.
func TestDeadLettersKeptNoLongerThanTheAudio(t *testing.T) {
	Require(t)
	ctx := t.Context()
	ps, err := pubsub.NewClient(ctx, testProject)
	if err != nil {
		t.Fatal(err)
	}
	defer ps.Close()
	topic := "retention-" + time.Now().Format("150405.000000000")
	for _, tt := range []struct {
		audio, want time.Duration
	}{{3 * time.Hour, 3 * time.Hour}, {30 * 24 * time.Hour, 7 * 24 * time.Hour}, {time.Second, 10 * time.Minute}} {
		if got := DeadLetterRetention(tt.audio); got != tt.want {
			t.Errorf("DeadLetterRetention(%s) = %s, want %s", tt.audio, got, tt.want)
		}
	}
	if err := EnsureTopology(ctx, ps, Topology{ProjectID: testProject, Topic: topic, Subscription: topic + "-work",
		DeadLetterTopic: topic + "-dead", DeadLetterSubscriptions: []string{topic + "-keep"}, MaxDeliveryAttempts: 5,
		AckDeadline: 10 * time.Second, MinBackoff: time.Second, MaxBackoff: 2 * time.Second,
		DeadLetterRetention: DeadLetterRetention(3 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	sub, err := ps.SubscriptionAdminClient.GetSubscription(ctx, &pubsubpb.GetSubscriptionRequest{
		Subscription: "projects/" + testProject + "/subscriptions/" + topic + "-keep"})
	if err != nil {
		t.Fatal(err)
	}
	if got := sub.GetMessageRetentionDuration().AsDuration(); got != 3*time.Hour {
		t.Fatalf("dead letters kept %s, want 3h", got)
	}
}
