package api_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"cloud.google.com/go/storage"

	"github.com/chorus-voice/chorus/functions/api"
	"github.com/chorus-voice/chorus/shared/config"
	"github.com/chorus-voice/chorus/shared/notice"
	"github.com/chorus-voice/chorus/shared/queue"
	"github.com/chorus-voice/chorus/shared/store"
	"github.com/chorus-voice/chorus/synth-job/captions"
	"github.com/chorus-voice/chorus/synth-job/wav"
	"github.com/chorus-voice/chorus/synth-job/worker"
)

// stackSynth stands in for the engine: 0.05 s of silence per character,
// one cue for the whole text.
type stackSynth struct{}

func (stackSynth) Provider() string { return "cpu" }

func (stackSynth) Synthesize(_ context.Context, v *store.Voice, items []worker.Item) ([]worker.Audio, error) {
	out := make([]worker.Audio, len(items))
	for i, it := range items {
		n := len([]rune(it.Text)) * v.SampleRate / 20
		data, err := wav.New(n, v.SampleRate)
		if err != nil {
			return nil, err
		}
		d := time.Duration(n) * time.Second / time.Duration(v.SampleRate)
		out[i] = worker.Audio{Data: data, SampleRate: v.SampleRate, Duration: d, Cues: []captions.Cue{{End: d, Text: it.Text}}}
	}
	return out, nil
}

// stack is the whole flow in one process: the API (with a completion
// topic, as deployed) and a worker with a stand-in engine, over the
// package's emulators and a bucket of its own.
type stack struct {
	*env
	completions string // a subscription on the completion topic
}

func newStack(t *testing.T, tweak func(*config.Functions)) *stack {
	t.Helper()
	n := time.Now().UnixNano()
	bucket, done := fmt.Sprintf("audio-%d", n), fmt.Sprintf("completed-%d", n)
	e := newEnv(t, func(c *config.Functions) {
		c.AudioBucket = bucket
		if tweak != nil {
			tweak(c)
		}
	})
	ctx := context.Background()
	gcs, err := storage.NewClient(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { gcs.Close() })
	if err := gcs.Bucket(bucket).Create(ctx, project, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := e.ps.TopicAdminClient.CreateTopic(ctx, &pubsubpb.Topic{Name: "projects/" + project + "/topics/" + done}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.ps.SubscriptionAdminClient.CreateSubscription(ctx, &pubsubpb.Subscription{
		Name: "projects/" + project + "/subscriptions/" + done, Topic: "projects/" + project + "/topics/" + done}); err != nil {
		t.Fatal(err)
	}
	notifier := queue.NewNotifier(e.ps, done)
	t.Cleanup(notifier.Stop)
	pub := queue.NewPublisher(e.ps, e.cfg.Topic, e.cfg.MaxTextChars)
	t.Cleanup(pub.Stop)
	e.server = api.NewServer(api.Deps{Config: e.cfg, Store: e.st, Publisher: pub, Signer: e.signer,
		Announcer: &notice.Announcer{Store: e.st, Notifier: notifier, Log: slogDiscard()}})
	e.srv.Config.Handler = e.server.Mux()

	wcfg := &config.Worker{ProjectID: project, Subscription: e.sub, AudioBucket: bucket, ModelsBucket: "models",
		ORTLibrary: "/unused/libonnxruntime.so", ExecutionProvider: "cpu", VoiceCacheDir: t.TempDir(), SessionCache: 2,
		Concurrency: 2, BatchSize: 4, BatchWait: 10 * time.Millisecond, Lease: 15 * time.Second, MaxAttempts: 5,
		IdleTimeout: time.Minute, ShutdownGrace: 5 * time.Second, MaxTextChars: e.cfg.MaxTextChars,
		GPUMemLimit: config.MinGPUMemLimit, AudioRetention: e.cfg.AudioRetention, CompletionTopic: done}
	if err := wcfg.Validate(); err != nil {
		t.Fatal(err)
	}
	wk := worker.New(worker.Deps{Config: wcfg, Store: e.st, PubSub: e.ps, Audio: gcs.Bucket(bucket), Synth: stackSynth{}, Logger: slogDiscard()})
	wctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error, 1)
	go func() { stopped <- wk.Run(wctx, worker.Serve) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-stopped:
		case <-time.After(30 * time.Second):
			t.Error("worker did not stop within 30 s of cancel")
		}
	})
	return &stack{env: e, completions: done}
}

// waitJob long-polls status until the job ended (the worker runs it).
func (s *stack) waitJob(id string) resp {
	s.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		r := s.do(http.MethodGet, "/api/status?id="+id+"&wait=20", "", nil)
		if st, _ := r.body["status"].(string); r.status != http.StatusOK || st == "succeeded" || st == "failed" {
			return r
		}
	}
	s.t.Fatalf("job %s not finished within a minute", id)
	return resp{}
}

// completionOf waits for the completion message of job id and returns its
// body and attributes.
func (s *stack) completionOf(id string) (string, map[string]string) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var (
		mu    sync.Mutex
		body  string
		attrs map[string]string
	)
	_ = s.ps.Subscriber(s.completions).Receive(ctx, func(_ context.Context, m *pubsub.Message) {
		m.Ack()
		if m.Attributes[queue.AttrJobID] != id {
			return
		}
		mu.Lock()
		body, attrs = string(m.Data), m.Attributes
		mu.Unlock()
		cancel()
	})
	mu.Lock()
	defer mu.Unlock()
	if body == "" {
		s.t.Fatalf("no completion message for job %s within 30 s", id)
	}
	return body, attrs
}

func slogDiscard() *slog.Logger { return slog.New(slog.DiscardHandler) }

// idLike finds every token of the shape of a job or batch id.
var idLike = regexp.MustCompile(`[a-z2-7]{26}`)

// Issue 15, item 1, as the attacker did it: a fan's batch holds a private
// line and a common one; a stranger asks for the common one and is
// answered from the cache. Nothing the stranger receives (the 202, the
// status, both signed URLs, the completion message that a callback
// delivers) names the fan's job, batch or object, and no id-shaped token in
// any of it opens anything but the stranger's own job. A single job's
// status names no batch, even to the batch's creator.
func TestCachedAnswerOpensNothingOfAnotherRequest(t *testing.T) {
	s := newStack(t, nil)
	fan := s.postJSON("/api/batch", map[string]any{"items": []map[string]any{
		{"member_id": "aria", "text": "Happy birthday!"},
		{"member_id": "aria", "text": "Call me at 010-1234-5678 tonight, it's my new number."},
	}})
	if fan.status != http.StatusAccepted {
		t.Fatalf("fan's batch: %d %s", fan.status, fan.raw)
	}
	batchID := fan.body["batch_id"].(string)
	var fanJobs []string
	for _, j := range fan.body["jobs"].([]any) {
		fanJobs = append(fanJobs, j.(map[string]any)["job_id"].(string))
	}
	var fanObjects []string
	for _, id := range fanJobs {
		r := s.waitJob(id)
		if r.body["status"] != "succeeded" {
			t.Fatalf("fan's job %s: %s", id, r.raw)
		}
		if _, ok := r.body["batch_id"]; ok {
			t.Errorf("a single job's status names its batch: %s", r.raw)
		}
		fanObjects = append(fanObjects, objectPath(t, r.body["audio_url"].(string)))
	}

	stranger := s.postJSON("/api/synthesize", map[string]any{"member_id": "aria", "text": "Happy birthday!"})
	if stranger.status != http.StatusAccepted || stranger.body["cached"] != true {
		t.Fatalf("stranger's identical request: %d %s, want an answer from the cache", stranger.status, stranger.raw)
	}
	own := stranger.body["job_id"].(string)
	st := s.do(http.MethodGet, "/api/status?id="+own, "", nil)
	if st.status != http.StatusOK || st.body["cached"] != true || st.body["audio_url"] == nil {
		t.Fatalf("stranger's status: %d %s", st.status, st.raw)
	}
	body, attrs := s.completionOf(own)
	seen := map[string]string{
		"202 answer":        string(stranger.raw),
		"status":            string(st.raw),
		"completion body":   body,
		"completion attrs":  fmt.Sprint(attrs),
		"audio URL path":    objectPath(t, st.body["audio_url"].(string)),
		"captions URL path": objectPath(t, st.body["captions_url"].(string)),
	}
	for what, text := range seen {
		for _, secret := range append([]string{batchID}, fanJobs...) {
			if strings.Contains(text, secret) {
				t.Errorf("the stranger's %s names the fan's job or batch %s: %s", what, secret, text)
			}
		}
		if what != "audio URL path" && strings.Contains(text, fanObjects[1]) {
			t.Errorf("the stranger's %s names the fan's private line's object: %s", what, text)
		}
		for _, tok := range idLike.FindAllString(text, -1) {
			if tok == own {
				continue
			}
			for _, q := range []string{"?id=", "?batch="} {
				if r := s.do(http.MethodGet, "/api/status"+q+tok, "", nil); r.status != http.StatusNotFound {
					t.Errorf("a token from the stranger's %s opens status%s%s: %d %s", what, q, tok, r.status, r.raw)
				}
			}
		}
	}
	// The shared audio is what was asked for, and is fetched with the
	// stranger's own URL.
	res, err := http.Get(st.body["audio_url"].(string))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("stranger's audio URL: %d", res.StatusCode)
	}
	// The batch is read with its own id, by whoever holds it.
	if b := s.do(http.MethodGet, "/api/status?batch="+batchID, "", nil); b.status != http.StatusOK || len(b.body["jobs"].([]any)) != 2 {
		t.Fatalf("batch status: %d %s", b.status, b.raw)
	}
}

// "cache": false keeps a request out of the cache both ways: an identical
// earlier result does not answer it, and its own audio answers nobody
// later (no stranger learns it was asked).
func TestCacheFalseOptsOutBothWays(t *testing.T) {
	s := newStack(t, nil)
	first := s.postJSON("/api/synthesize", map[string]any{"member_id": "aria", "text": "Meet me at the station."})
	if first.status != http.StatusAccepted {
		t.Fatalf("first: %d %s", first.status, first.raw)
	}
	s.waitJob(first.body["job_id"].(string))
	private := s.postJSON("/api/synthesize", map[string]any{"member_id": "aria", "text": "Meet me at the station.", "cache": false})
	if private.status != http.StatusAccepted || private.body["status"] != "queued" || private.body["cached"] != nil {
		t.Fatalf(`"cache": false with an identical result cached: %d %s, want a queued job of its own`, private.status, private.raw)
	}
	if r := s.waitJob(private.body["job_id"].(string)); r.body["status"] != "succeeded" || r.body["cached"] != nil {
		t.Fatalf("opted-out job: %s", r.raw)
	}

	secret := s.postJSON("/api/synthesize", map[string]any{"member_id": "juno", "text": "My locker code is 4471.", "cache": false})
	if secret.status != http.StatusAccepted || secret.body["cached"] != nil {
		t.Fatalf("opted-out request: %d %s", secret.status, secret.raw)
	}
	s.waitJob(secret.body["job_id"].(string))
	probe := s.postJSON("/api/synthesize", map[string]any{"member_id": "juno", "text": "My locker code is 4471."})
	if probe.status != http.StatusAccepted || probe.body["status"] != "queued" || probe.body["cached"] != nil {
		t.Fatalf("a stranger's probe for an opted-out text: %d %s, want a queued job (nothing says it was asked)", probe.status, probe.raw)
	}
	for _, bad := range []string{`"no"`, `0`} {
		r := s.do(http.MethodPost, "/api/synthesize", "application/json", []byte(`{"member_id":"aria","text":"hi","cache":`+bad+`}`))
		if code, field := r.errCode(); r.status != http.StatusBadRequest || code != "invalid_field" || field != "cache" {
			t.Errorf("cache %s: %d %s, want 400 invalid_field cache", bad, r.status, r.raw)
		}
	}
}

// objectPath is the path of a signed URL: /BUCKET/OBJECT.
func objectPath(t *testing.T, signed string) string {
	t.Helper()
	i := strings.Index(signed, "://")
	rest := signed[i+3:]
	rest = rest[strings.Index(rest, "/"):]
	if q := strings.IndexByte(rest, '?'); q >= 0 {
		rest = rest[:q]
	}
	return rest
}
