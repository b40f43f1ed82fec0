package worker_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2"

	"github.com/chorus-voice/chorus/scripts/emulators"
	"github.com/chorus-voice/chorus/shared/callback"
	"github.com/chorus-voice/chorus/shared/job"
	"github.com/chorus-voice/chorus/shared/message"
	"github.com/chorus-voice/chorus/shared/queue"
	"github.com/chorus-voice/chorus/synth-job/worker"
)

// receiver is a client's callback endpoint that checks every signature
// against the deployment's public keys and its own callback URL.
type receiver struct {
	keys *callback.KeySet
	url  func(req *http.Request) string // the callback_url this request was sent to
	mu   sync.Mutex
	got  []*message.Completion
	bad  int
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	id, err := callback.VerifyRequest(r.keys, r.url(req), req.Header, body, time.Now())
	if err != nil {
		r.bad++
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	c, err := message.DecodeCompletion(body)
	if err != nil || (id != c.JobID && id != c.BatchID) {
		r.bad++
		http.Error(w, "bad completion", http.StatusBadRequest)
		return
	}
	r.got = append(r.got, c)
}

// signingKeys makes a deployment's callback signing keys and their public set.
func signingKeys(t *testing.T) (string, *callback.KeySet) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	b, err := callback.MarshalSigningKeys(callback.SigningKey{ID: "test", Key: priv})
	if err != nil {
		t.Fatal(err)
	}
	s, err := callback.ParseSigningKeys(b)
	if err != nil {
		t.Fatal(err)
	}
	return string(b), s.PublicKeys()
}

// Every finished job, and every batch once its jobs have finished, is
// announced once on synthesis-completed; a client's callback_url receives
// the same JSON, signed.
func TestCompletionsAreAnnouncedAndCalledBack(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	completed, callbacks, observe := w.topic+"-completed", w.topic+"-callbacks", w.topic+"-completed-keep"
	if err := emulators.EnsureTopology(ctx, w.ps, emulators.Topology{ProjectID: project, Topic: w.topic, Subscription: w.cfg.Subscription,
		DeadLetterTopic: w.cfg.DeadLetterTopic, MaxDeliveryAttempts: 5, AckDeadline: 10 * time.Second, MinBackoff: time.Second,
		MaxBackoff: 2 * time.Second, CompletionTopic: completed, CompletionSubscriptions: []string{callbacks, observe}}); err != nil {
		t.Fatal(err)
	}
	keys, public := signingKeys(t)
	rcv := &receiver{keys: public}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	rcv.url = func(req *http.Request) string { return srv.URL + req.URL.RequestURI() }
	w.cfg.CompletionTopic, w.cfg.CallbackSubscription, w.cfg.CallbackSigningKeys, w.cfg.CallbackAllowLoopback = completed, callbacks, keys, true
	if err := w.cfg.Validate(); err != nil {
		t.Fatal(err)
	}

	batchID := job.NewID()
	var jobs []*job.Job
	for i, text := range []string{"First line.", "Second line.", "!!! ???"} { // the last cannot be said
		j := w.enqueueWith("aria", text, func(j *job.Job) { j.BatchID, j.CallbackURL = batchID, srv.URL+"/cb?token=x" })
		jobs = append(jobs, j)
		_ = i
	}
	single := w.enqueueWith("juno", "On its own.", func(j *job.Job) { j.CallbackURL = srv.URL + "/cb" })
	w.start(worker.Serve)
	for _, j := range append(jobs, single) {
		w.waitFinal(j.ID, 30*time.Second)
	}

	// The observer's subscription: 4 job messages and 1 batch message.
	var mu sync.Mutex
	kinds := map[string]int{}
	var batch *message.Completion
	rctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	_ = w.ps.Subscriber(observe).Receive(rctx, func(_ context.Context, m *pubsub.Message) {
		m.Ack()
		c, err := message.DecodeCompletion(m.Data)
		if err != nil {
			t.Errorf("completion message: %v", err)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		kinds[c.Kind]++
		if c.Kind == message.KindBatch {
			batch = c
		}
		if m.Attributes[queue.AttrCallbackURL] == "" {
			t.Errorf("message without the client's callback URL: %v", m.Attributes)
		}
		if kinds[message.KindJob] >= 4 && kinds[message.KindBatch] >= 1 {
			cancel()
		}
	})
	mu.Lock()
	if kinds[message.KindJob] != 4 || kinds[message.KindBatch] != 1 {
		t.Fatalf("completion messages %v, want 4 jobs and 1 batch", kinds)
	}
	if batch.BatchID != batchID || batch.Jobs != 3 || batch.Succeeded != 2 || batch.Failed != 1 || batch.Status != message.BatchPartial {
		t.Errorf("batch completion %+v", batch)
	}
	mu.Unlock()

	// The callbacks arrive, signed, one per message.
	deadline := time.Now().Add(20 * time.Second)
	for {
		rcv.mu.Lock()
		n, bad := len(rcv.got), rcv.bad
		rcv.mu.Unlock()
		if n >= 5 || time.Now().After(deadline) {
			if n != 5 || bad != 0 {
				t.Fatalf("callbacks: %d verified, %d refused; want 5 verified", n, bad)
			}
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, j := range append(jobs, single) {
		if got, _ := w.st.GetJob(ctx, j.ID); !got.Notified {
			t.Errorf("job %s not marked notified", j.ID)
		}
	}
}
