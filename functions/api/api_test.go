package api_test

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/firestore"
	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/storage"
	"github.com/sethvargo/go-envconfig"

	"github.com/chorus-voice/chorus/functions/api"
	"github.com/chorus-voice/chorus/scripts/emulators"
	"github.com/chorus-voice/chorus/shared/blob"
	"github.com/chorus-voice/chorus/shared/config"
	"github.com/chorus-voice/chorus/shared/job"
	"github.com/chorus-voice/chorus/shared/message"
	"github.com/chorus-voice/chorus/shared/queue"
	"github.com/chorus-voice/chorus/shared/store"
)

const project = "demo-chorus-api"

func TestMain(m *testing.M) {
	os.Exit(emulators.RunTests(m, emulators.Options{ProjectID: project, Firestore: true, PubSub: true, GCS: true}))
}

// env is one test's world: a wiped Firestore with seed members, a fresh
// topic and subscription, and an API server over them.
type env struct {
	t      testing.TB
	srv    *httptest.Server
	fs     *firestore.Client
	st     *store.Store
	ps     *pubsub.Client
	sub    string
	cfg    *config.Functions
	server *api.Server
	signer *blob.Signer
	clock  *testClock
}

// testClock is the server's clock in these tests: real time until a test
// freezes it, moved only by the test after that.
type testClock struct {
	mu     sync.Mutex
	offset time.Duration
	frozen *time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.frozen != nil {
		return *c.frozen
	}
	return time.Now().Add(c.offset)
}

// Freeze stops the clock where it is.
func (c *testClock) Freeze() {
	now := c.Now()
	c.mu.Lock()
	c.frozen = &now
	c.mu.Unlock()
}

// Advance moves the clock forward by d.
func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.frozen != nil {
		t := c.frozen.Add(d)
		c.frozen = &t
		return
	}
	c.offset += d
}

var topicSeq struct {
	sync.Mutex
	n int
}

func newEnv(t testing.TB, tweak func(*config.Functions)) *env {
	t.Helper()
	stack := emulators.Require(t)
	ctx := context.Background()
	if err := stack.ResetFirestore(ctx); err != nil {
		t.Fatal(err)
	}
	topicSeq.Lock()
	topicSeq.n++
	n := topicSeq.n
	topicSeq.Unlock()
	topic, sub := fmt.Sprintf("requests-%d", n), fmt.Sprintf("workers-%d", n)

	fs, err := firestore.NewClient(ctx, project)
	if err != nil {
		t.Fatal(err)
	}
	ps, err := pubsub.NewClient(ctx, project)
	if err != nil {
		t.Fatal(err)
	}
	if err := emulators.EnsureTopology(ctx, ps, emulators.Topology{ProjectID: project, Topic: topic, Subscription: sub,
		DeadLetterTopic: "dead-" + topic, MaxDeliveryAttempts: 5, AckDeadline: 10 * time.Second,
		MinBackoff: time.Second, MaxBackoff: 10 * time.Second}); err != nil {
		t.Fatal(err)
	}
	gcs, err := storage.NewClient(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &config.Functions{ProjectID: project, Topic: topic, AudioBucket: "audio", SignedURLTTL: 15 * time.Minute, AudioRetention: 7 * 24 * time.Hour,
		SigningKeyFile: writeKey(t), PublicStorageURL: "http://" + stack.GCSHost, AllowedOrigins: []string{"http://app.example"},
		StatusURL: "/api/status", MaxTextChars: 1000, MaxBatchItems: 100, RatePerMinute: 0, RateBurst: 1}
	if tweak != nil {
		tweak(cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	signer, err := blob.NewSigner(gcs, cfg.AudioBucket, blob.SignerOptions{TTL: cfg.SignedURLTTL, KeyFile: cfg.SigningKeyFile, PublicURL: cfg.PublicStorageURL})
	if err != nil {
		t.Fatal(err)
	}
	st := store.New(fs, cfg.AudioRetention)
	pub := queue.NewPublisher(ps, topic, cfg.MaxTextChars)
	clock := &testClock{}
	server := api.NewServer(api.Deps{Config: cfg, Store: st, Publisher: pub, Signer: signer, Now: clock.Now})
	srv := httptest.NewServer(server.Mux())
	t.Cleanup(func() {
		srv.Close()
		pub.Stop()
		ps.Close()
		fs.Close()
		gcs.Close()
	})
	e := &env{t: t, srv: srv, fs: fs, st: st, ps: ps, sub: sub, cfg: cfg, server: server, signer: signer, clock: clock}
	e.seed()
	return e
}

func writeKey(t testing.TB) string {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "key.pem")
	b := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func (e *env) seed() {
	ctx := context.Background()
	v := &store.Voice{ID: "demo-en", Label: "Demo voice", ModelObject: "voices/demo-en.onnx", ConfigObject: "voices/demo-en.onnx.json",
		SampleRate: 22050, Language: "en-us", NumSpeakers: 4, Demo: true, Checksum: "sha256:test-voice"}
	if err := e.st.PutVoice(ctx, v); err != nil {
		e.t.Fatal(err)
	}
	for i, m := range []*store.Member{
		{ID: "aria", Name: "Aria", Group: "G", VoiceID: "demo-en", SpeakerID: 0, Order: 2, Active: true},
		{ID: "juno", Name: "Juno", Group: "G", VoiceID: "demo-en", SpeakerID: 1, Order: 1, Active: true},
		{ID: "gone", Name: "Gone", Group: "G", VoiceID: "demo-en", SpeakerID: 2, Order: 3, Active: false},
	} {
		m.SampleText = fmt.Sprint("sample ", i)
		if err := e.st.PutMember(ctx, m); err != nil {
			e.t.Fatal(err)
		}
	}
}

type resp struct {
	status int
	header http.Header
	body   map[string]any
	raw    []byte
}

func (e *env) do(method, path, contentType string, body []byte, hdr ...string) resp {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := contractClient.Do(req) // checks each response against docs/openapi.yaml
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	r := resp{status: res.StatusCode, header: res.Header, raw: raw}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &r.body); err != nil {
			e.t.Fatalf("%s %s: body is not JSON: %q", method, path, raw)
		}
	}
	return r
}

func (e *env) postJSON(path string, v any) resp {
	b, err := json.Marshal(v)
	if err != nil {
		e.t.Fatal(err)
	}
	return e.do(http.MethodPost, path, "application/json", b)
}

func (r resp) errCode() (code, field string) {
	eo, _ := r.body["error"].(map[string]any)
	code, _ = eo["code"].(string)
	field, _ = eo["field"].(string)
	return
}

// jobCount counts job documents.
func (e *env) jobCount() int {
	snaps, err := e.fs.Collection("jobs").Documents(context.Background()).GetAll()
	if err != nil {
		e.t.Fatal(err)
	}
	return len(snaps)
}

// pull receives what is on the subscription within wait and acks it.
func (e *env) pull(wait time.Duration) []*message.SynthesisRequest { return e.pullN(-1, wait) }

// pullN is pull that returns as soon as n messages arrived.
func (e *env) pullN(n int, wait time.Duration) []*message.SynthesisRequest {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	var mu sync.Mutex
	var got []*message.SynthesisRequest
	err := e.ps.Subscriber(e.sub).Receive(ctx, func(_ context.Context, m *pubsub.Message) {
		m.Ack()
		d, err := message.Decode(m.Data, 1000)
		if err != nil {
			e.t.Errorf("published message does not decode: %v", err)
			return
		}
		mu.Lock()
		got = append(got, d)
		if len(got) == n {
			cancel()
		}
		mu.Unlock()
	})
	if err != nil && ctx.Err() == nil {
		e.t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	return got
}

func TestLimitsRejectAndChangeNothing(t *testing.T) {
	e := newEnv(t, nil)
	long := strings.Repeat("a", 1001)
	items := func(n int) []byte {
		var b strings.Builder
		b.WriteString(`{"items":[`)
		for i := 0; i < n; i++ {
			if i > 0 {
				b.WriteString(",")
			}
			b.WriteString(`{"member_id":"aria","text":"hi"}`)
		}
		b.WriteString("]}")
		return []byte(b.String())
	}
	cases := []struct {
		name, path, ct string
		body           []byte
		status         int
		code, field    string
	}{
		{"empty text", "/api/synthesize", "application/json", []byte(`{"member_id":"aria","text":""}`), 400, "text_required", "text"},
		{"whitespace text", "/api/synthesize", "application/json", []byte(`{"member_id":"aria","text":" \n\t "}`), 400, "text_required", "text"},
		{"text over limit", "/api/synthesize", "application/json", []byte(`{"member_id":"aria","text":"` + long + `"}`), 400, "text_too_long", "text"},
		{"unknown member", "/api/synthesize", "application/json", []byte(`{"member_id":"nobody","text":"hi"}`), 404, "member_not_found", "member_id"},
		{"malformed member", "/api/synthesize", "application/json", []byte(`{"member_id":"../x","text":"hi"}`), 404, "member_not_found", "member_id"},
		{"missing member", "/api/synthesize", "application/json", []byte(`{"text":"hi"}`), 400, "member_required", "member_id"},
		{"inactive member", "/api/synthesize", "application/json", []byte(`{"member_id":"gone","text":"hi"}`), 404, "member_inactive", "member_id"},
		{"wrong content type", "/api/synthesize", "text/plain", []byte(`{"member_id":"aria","text":"hi"}`), 415, "unsupported_media_type", ""},
		{"no content type", "/api/synthesize", "", []byte(`{"member_id":"aria","text":"hi"}`), 415, "unsupported_media_type", ""},
		{"body over 64 KiB", "/api/synthesize", "application/json", []byte(`{"member_id":"aria","text":"` + strings.Repeat("a", 70<<10) + `"}`), 413, "body_too_large", ""},
		{"invalid UTF-8", "/api/synthesize", "application/json", []byte("{\"member_id\":\"aria\",\"text\":\"caf\xe9\"}"), 400, "invalid_utf8", "text"},
		{"speed too low", "/api/synthesize", "application/json", []byte(`{"member_id":"aria","text":"hi","speed":0.4}`), 400, "speed_out_of_range", "speed"},
		{"speed too high", "/api/synthesize", "application/json", []byte(`{"member_id":"aria","text":"hi","speed":2.01}`), 400, "speed_out_of_range", "speed"},
		{"speed not a number", "/api/synthesize", "application/json", []byte(`{"member_id":"aria","text":"hi","speed":"fast"}`), 400, "invalid_field", "speed"},
		{"malformed JSON", "/api/synthesize", "application/json", []byte(`{"member_id":`), 400, "invalid_json", ""},
		{"unknown field", "/api/synthesize", "application/json", []byte(`{"member_id":"aria","text":"hi","voice":"x"}`), 400, "unknown_field", "voice"},
		{"bad request_id", "/api/synthesize", "application/json", []byte(`{"member_id":"aria","text":"hi","request_id":"has space"}`), 400, "invalid_request_id", "request_id"},
		{"unknown format", "/api/synthesize", "application/json", []byte(`{"member_id":"aria","text":"hi","format":"flac"}`), 400, "invalid_format", "format"},
		{"format in capitals", "/api/synthesize", "application/json", []byte(`{"member_id":"aria","text":"hi","format":"MP3"}`), 400, "invalid_format", "format"},
		{"format not a string", "/api/synthesize", "application/json", []byte(`{"member_id":"aria","text":"hi","format":3}`), 400, "invalid_field", "format"},
		{"batch with a bad format", "/api/batch", "application/json", []byte(`{"items":[{"member_id":"aria","text":"ok"},{"member_id":"aria","text":"hi","format":"ogg"}]}`), 400, "invalid_format", "items[1].format"},
		{"batch over 100 items", "/api/batch", "application/json", items(101), 400, "too_many_items", "items"},
		{"batch without items", "/api/batch", "application/json", []byte(`{"items":[]}`), 400, "no_items", "items"},
		{"batch with one bad item", "/api/batch", "application/json", []byte(`{"items":[{"member_id":"aria","text":"ok"},{"member_id":"aria","text":""}]}`), 400, "text_required", "items[1].text"},
		{"batch with inactive member", "/api/batch", "application/json", []byte(`{"items":[{"member_id":"aria","text":"ok"},{"member_id":"gone","text":"hi"}]}`), 404, "member_inactive", "items[1].member_id"},
		{"zero-width text", "/api/synthesize", "application/json", []byte(`{"member_id":"aria","text":"\u200b\u200b"}`), 400, "text_unspeakable", "text"},
		{"punctuation only", "/api/synthesize", "application/json", []byte(`{"member_id":"aria","text":"?!… —"}`), 400, "text_unspeakable", "text"},
		{"emoji only", "/api/synthesize", "application/json", []byte(`{"member_id":"aria","text":"🎤🎶✨"}`), 400, "text_unspeakable", "text"},
		{"control character between sentences", "/api/synthesize", "application/json", []byte(`{"member_id":"aria","text":"Good morning!\u0001Have a nice day."}`), 400, "invalid_control_character", "text"},
		{"escape character", "/api/synthesize", "application/json", []byte(`{"member_id":"aria","text":"hi \u001b[31m"}`), 400, "invalid_control_character", "text"},
		{"NUL at the end", "/api/synthesize", "application/json", []byte(`{"member_id":"aria","text":"hi\u0000"}`), 400, "invalid_control_character", "text"},
		{"batch with a control character", "/api/batch", "application/json", []byte(`{"items":[{"member_id":"aria","text":"ok\tfine\r\n"},{"member_id":"aria","text":"a\u000bb"}]}`), 400, "invalid_control_character", "items[1].text"},
		{"batch with an unspeakable item", "/api/batch", "application/json", []byte(`{"items":[{"member_id":"aria","text":"ok"},{"member_id":"aria","text":"\ufeff..."}]}`), 400, "text_unspeakable", "items[1].text"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(http.MethodPost, tc.path, tc.ct, tc.body)
			code, field := r.errCode()
			if r.status != tc.status || code != tc.code || field != tc.field {
				t.Fatalf("got %d %s field=%q, want %d %s field=%q (body %s)", r.status, code, field, tc.status, tc.code, tc.field, r.raw)
			}
			if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("error content type %q", ct)
			}
			if msg, _ := r.body["error"].(map[string]any)["message"].(string); msg == "" {
				t.Errorf("error without message: %s", r.raw)
			}
		})
	}
	if n := e.jobCount(); n != 0 {
		t.Errorf("rejected requests wrote %d jobs", n)
	}
	if got := e.pull(2 * time.Second); len(got) != 0 {
		t.Errorf("rejected requests published %d messages", len(got))
	}
	// The limit is inclusive: exactly 1,000 characters (Korean counts per character) is accepted.
	ok := e.postJSON("/api/synthesize", map[string]any{"member_id": "aria", "text": strings.Repeat("가", 1000)})
	if ok.status != http.StatusAccepted {
		t.Fatalf("1000 characters: got %d %s", ok.status, ok.raw)
	}
}

func TestSynthesizeQueuesJobAndMessage(t *testing.T) {
	e := newEnv(t, nil)
	r := e.postJSON("/api/synthesize", map[string]any{"member_id": "juno", "text": "  Hello there.  ", "speed": 1.5})
	if r.status != http.StatusAccepted {
		t.Fatalf("got %d %s", r.status, r.raw)
	}
	id, _ := r.body["job_id"].(string)
	if !job.ValidGeneratedID(id) || r.body["status"] != "queued" || r.body["status_url"] != "/api/status?id="+id {
		t.Fatalf("unexpected answer %s", r.raw)
	}
	msgs := e.pullN(1, 10*time.Second)
	if len(msgs) != 1 {
		t.Fatalf("want 1 message, got %d", len(msgs))
	}
	m := msgs[0]
	if m.JobID != id || m.MemberID != "juno" || m.Text != "Hello there." || m.Speed != 1.5 || m.V != message.Version {
		t.Fatalf("message %+v", m)
	}
	s := e.do(http.MethodGet, "/api/status?id="+id, "", nil)
	if s.status != 200 || s.body["status"] != "queued" || s.body["audio_url"] != nil || s.body["member_id"] != "juno" {
		t.Fatalf("status %d %s", s.status, s.raw)
	}
	j, err := e.st.GetJob(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if j.VoiceID != "demo-en" || j.SpeakerID != 1 || j.Status != job.Queued || j.Format != job.FormatWAV || s.body["format"] != "wav" {
		t.Fatalf("job %+v", j)
	}
}

// The format asked for is the job's, its message's and its status's, for
// one request and for each item of a batch.
func TestFormatIsRecordedAndPublished(t *testing.T) {
	e := newEnv(t, nil)
	r := e.postJSON("/api/synthesize", map[string]any{"member_id": "aria", "text": "In Opus, please.", "format": "opus"})
	b := e.postJSON("/api/batch", map[string]any{"items": []map[string]any{
		{"member_id": "aria", "text": "one", "format": "mp3"}, {"member_id": "juno", "text": "two"},
	}})
	if r.status != http.StatusAccepted || b.status != http.StatusAccepted {
		t.Fatalf("got %d %s / %d %s", r.status, r.raw, b.status, b.raw)
	}
	want := map[string]string{"In Opus, please.": "opus", "one": "mp3", "two": ""}
	for _, m := range e.pullN(3, 10*time.Second) {
		if f, ok := want[m.Text]; !ok || m.Format != f {
			t.Errorf("message for %q has format %q, want %q", m.Text, m.Format, f)
		}
		j, err := e.st.GetJob(context.Background(), m.JobID)
		if err != nil {
			t.Fatal(err)
		}
		s := e.do(http.MethodGet, "/api/status?id="+m.JobID, "", nil)
		if wf := cmp.Or(want[m.Text], "wav"); j.Format != wf || s.body["format"] != wf {
			t.Errorf("job for %q: format %q, status says %v, want %s", m.Text, j.Format, s.body["format"], wf)
		}
	}
	// The same request_id with another format is another request.
	body := map[string]any{"member_id": "aria", "text": "Same words.", "request_id": "fmt-1"}
	if a := e.postJSON("/api/synthesize", body); a.status != http.StatusAccepted {
		t.Fatalf("%d %s", a.status, a.raw)
	}
	body["format"] = "wav"
	if a := e.postJSON("/api/synthesize", body); a.status != http.StatusAccepted {
		t.Fatalf("the default named: %d %s, want the same request", a.status, a.raw)
	}
	body["format"] = "mp3"
	if c := e.postJSON("/api/synthesize", body); c.status != http.StatusConflict {
		t.Fatalf("another format under the same request_id: %d %s, want 409", c.status, c.raw)
	}
}

func TestRequestIDMakesRetriesIdempotent(t *testing.T) {
	e := newEnv(t, nil)
	body := map[string]any{"member_id": "aria", "text": "Once only.", "request_id": "client-123"}
	a := e.postJSON("/api/synthesize", body)
	b := e.postJSON("/api/synthesize", body)
	if a.status != 202 || b.status != 202 || a.body["job_id"] != b.body["job_id"] {
		t.Fatalf("retry gave another job: %s / %s", a.raw, b.raw)
	}
	if n := e.jobCount(); n != 1 {
		t.Fatalf("%d jobs, want 1", n)
	}
	c := e.postJSON("/api/synthesize", map[string]any{"member_id": "aria", "text": "Something else.", "request_id": "client-123"})
	if code, field := c.errCode(); c.status != http.StatusConflict || code != "request_id_conflict" || field != "request_id" {
		t.Fatalf("reused request_id with another body: %d %s", c.status, c.raw)
	}
	if n := e.jobCount(); n != 1 {
		t.Fatalf("%d jobs after conflict, want 1", n)
	}
}

func TestBatchCreatesOneJobPerItem(t *testing.T) {
	e := newEnv(t, nil)
	r := e.postJSON("/api/batch", map[string]any{"items": []map[string]any{
		{"member_id": "aria", "text": "one"}, {"member_id": "juno", "text": "two"}, {"member_id": "aria", "text": "three", "speed": 0.5},
	}})
	if r.status != 202 {
		t.Fatalf("got %d %s", r.status, r.raw)
	}
	batch, _ := r.body["batch_id"].(string)
	jobs, _ := r.body["jobs"].([]any)
	if !job.ValidGeneratedID(batch) || len(jobs) != 3 {
		t.Fatalf("answer %s", r.raw)
	}
	if got := e.pullN(3, 10*time.Second); len(got) != 3 {
		t.Fatalf("%d messages, want 3", len(got))
	}
	s := e.do(http.MethodGet, "/api/status?batch="+batch, "", nil)
	list, _ := s.body["jobs"].([]any)
	if s.status != 200 || len(list) != 3 {
		t.Fatalf("batch status %d %s", s.status, s.raw)
	}
}

// With a retention shorter than the URL TTL: while the audio lives, status
// signs a URL that expires with it at the latest; once the retention has
// passed (on the server's clock, which the test moves), the job answers
// 410 audio_expired (in a batch: an error entry) and nothing is signed. The
// job record and its idempotency key expire with it.
func TestAudioPastRetentionIsGone(t *testing.T) {
	const retention = 10 * time.Minute // the URL TTL is 15 min
	e := newEnv(t, func(c *config.Functions) { c.AudioRetention = retention })
	ctx := context.Background()
	created, err := e.st.CreateJobs(ctx, []*job.Job{func() *job.Job {
		j := job.New("aria", "demo-en", 0, "short-lived", 1, time.Now())
		j.BatchID, j.RequestID = job.NewID(), "retention-test-"+job.NewID()
		return j
	}()})
	if err != nil {
		t.Fatal(err)
	}
	j := created[0].Job
	if _, o, err := e.st.Claim(ctx, j.ID, "w1", time.Minute); err != nil || o != store.Claimed {
		t.Fatal(o, err)
	}
	finished := time.Now()
	if err := e.st.Succeed(ctx, j.ID, "w1", job.Output{Bucket: "audio", Object: j.ObjectName(), Bytes: 44, DurationSeconds: 1, SampleRate: 22050}, "cpu"); err != nil {
		t.Fatal(err)
	}
	stored, err := e.st.GetJob(ctx, j.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d := stored.ExpireAt.Sub(stored.FinishedAt); d != retention {
		t.Errorf("job record expires %v after it ended, want the audio retention %v", d, retention)
	}
	s := e.do(http.MethodGet, "/api/status?id="+j.ID, "", nil)
	if s.status != 200 || s.body["audio_url"] == nil {
		t.Fatalf("fresh audio: %d %s", s.status, s.raw)
	}
	exp, err := time.Parse(time.RFC3339, s.body["expires_at"].(string))
	if err != nil || exp.After(finished.Add(retention+time.Second)) {
		t.Fatalf("URL expires %v, after the audio is deleted (%v)", exp, finished.Add(retention))
	}
	// The retention passes on the server's clock.
	e.clock.Advance(stored.FinishedAt.Add(retention).Sub(e.clock.Now()))
	g := e.do(http.MethodGet, "/api/status?id="+j.ID, "", nil)
	if code, _ := g.errCode(); g.status != http.StatusGone || code != "audio_expired" || strings.Contains(string(g.raw), "X-Goog-Signature") {
		t.Fatalf("past retention: %d %s, want 410 audio_expired and no URL", g.status, g.raw)
	}
	b := e.do(http.MethodGet, "/api/status?batch="+j.BatchID, "", nil)
	jobs, _ := b.body["jobs"].([]any)
	if b.status != 200 || len(jobs) != 1 || strings.Contains(string(b.raw), "X-Goog-Signature") || !strings.Contains(string(b.raw), `"audio_expired"`) {
		t.Fatalf("batch past retention: %d %s", b.status, b.raw)
	}
}

func TestStatusSignsOnlySucceededJobs(t *testing.T) {
	e := newEnv(t, func(c *config.Functions) { c.SignedURLTTL = 10 * time.Minute })
	ctx := context.Background()
	created, err := e.st.CreateJobs(ctx, []*job.Job{
		job.New("aria", "demo-en", 0, "done", 1, time.Now()),
		job.New("aria", "demo-en", 0, "broken", 1, time.Now()),
	})
	if err != nil {
		t.Fatal(err)
	}
	ok, bad := created[0].Job, created[1].Job
	for _, j := range []*job.Job{ok, bad} {
		if _, o, err := e.st.Claim(ctx, j.ID, "w1", time.Minute); err != nil || o != store.Claimed {
			t.Fatal(o, err)
		}
	}
	if err := e.st.Succeed(ctx, ok.ID, "w1", job.Output{Bucket: "audio", Object: ok.ObjectName(), Bytes: 44, DurationSeconds: 1.25,
		SampleRate: 22050, CaptionsObject: ok.CaptionsObjectName()}, "cpu"); err != nil {
		t.Fatal(err)
	}
	if err := e.st.Fail(ctx, bad.ID, "w1", job.Error{Code: "no_phonemes", Message: "Nothing to say."}); err != nil {
		t.Fatal(err)
	}
	before := time.Now()
	s := e.do(http.MethodGet, "/api/status?id="+ok.ID, "", nil)
	au, _ := s.body["audio_url"].(string)
	if s.status != 200 || s.body["status"] != "succeeded" || au == "" || s.body["duration_seconds"] != 1.25 {
		t.Fatalf("succeeded status: %s", s.raw)
	}
	u, err := url.Parse(au)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	// X-Goog-Expires is the TTL, or a second less when the library's own
	// clock passed a second boundary after the handler's (never more).
	if ttl := q.Get("X-Goog-Expires"); u.Path != "/audio/"+ok.ObjectName() || q.Get("X-Goog-Algorithm") != "GOOG4-RSA-SHA256" ||
		(ttl != "600" && ttl != "599") || q.Get("X-Goog-Signature") == "" {
		t.Fatalf("signed URL scope/expiry wrong: %s", au)
	}
	exp, err := time.Parse(time.RFC3339, s.body["expires_at"].(string))
	if err != nil || !exp.Equal(signedUntil(t, q)) || exp.Before(before.Add(10*time.Minute-time.Second)) || exp.After(time.Now().Add(10*time.Minute+time.Second)) {
		t.Fatalf("expires_at %v", s.body["expires_at"])
	}
	// The captions are signed the same way, for their own object only.
	cu, _ := s.body["captions_url"].(string)
	c, err := url.Parse(cu)
	// Each signing stamps the library's own clock, so the two may straddle
	// a second; they end at the same instant all the same.
	if err != nil || c.Path != "/audio/"+ok.CaptionsObjectName() || c.Query().Get("X-Goog-Signature") == "" ||
		!signedUntil(t, c.Query()).Equal(signedUntil(t, q)) {
		t.Fatalf("captions URL %q: want the captions object, signed like the audio (%s)", cu, au)
	}
	f := e.do(http.MethodGet, "/api/status?id="+bad.ID, "", nil)
	fe, _ := f.body["error"].(map[string]any)
	if f.status != 200 || f.body["status"] != "failed" || f.body["audio_url"] != nil || fe["code"] != "no_phonemes" {
		t.Fatalf("failed status: %s", f.raw)
	}
	for _, q := range []string{"?id=" + job.NewID(), "?id=not-an-id", "?batch=" + job.NewID()} {
		if r := e.do(http.MethodGet, "/api/status"+q, "", nil); r.status != 404 {
			t.Errorf("status%s: %d %s", q, r.status, r.raw)
		}
	}
	if r := e.do(http.MethodGet, "/api/status", "", nil); r.status != 400 {
		t.Errorf("status without id: %d", r.status)
	}
}

// signedUntil is when a V4 signed URL stops working: X-Goog-Date plus
// X-Goog-Expires seconds.
func signedUntil(t *testing.T, q url.Values) time.Time {
	t.Helper()
	d, err := time.Parse("20060102T150405Z", q.Get("X-Goog-Date"))
	if err != nil {
		t.Fatalf("X-Goog-Date %q: %v", q.Get("X-Goog-Date"), err)
	}
	secs, err := strconv.Atoi(q.Get("X-Goog-Expires"))
	if err != nil {
		t.Fatalf("X-Goog-Expires %q: %v", q.Get("X-Goog-Expires"), err)
	}
	return d.Add(time.Duration(secs) * time.Second)
}

// downPublisher stands for Pub/Sub refusing every publish.
type downPublisher struct{}

func (downPublisher) Publish(_ context.Context, msgs []*message.SynthesisRequest) ([]error, error) {
	errs := make([]error, len(msgs))
	for i := range errs {
		errs[i] = errors.New("pubsub: unavailable")
	}
	return errs, errors.Join(errs...)
}

func TestPublishFailureLeavesNoOrphan(t *testing.T) {
	e := newEnv(t, nil)
	e.server = api.NewServer(api.Deps{Config: e.cfg, Store: e.st, Publisher: downPublisher{}, Signer: e.signer})
	e.srv.Config.Handler = e.server.Mux()
	r := e.postJSON("/api/synthesize", map[string]any{"member_id": "aria", "text": "lost?", "request_id": "r-1"})
	if code, _ := r.errCode(); r.status != http.StatusServiceUnavailable || code != "unavailable" || r.header.Get("Retry-After") == "" {
		t.Fatalf("got %d %s", r.status, r.raw)
	}
	snaps, err := e.fs.Collection("jobs").Documents(context.Background()).GetAll()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range snaps {
		if st := s.Data()["status"]; st != "failed" {
			t.Fatalf("job %s left %v after a failed publish", s.Ref.ID, st)
		}
	}
	// The idempotency key was released: a retry makes a fresh job, not the dead one.
	r2 := e.postJSON("/api/synthesize", map[string]any{"member_id": "aria", "text": "lost?", "request_id": "r-1"})
	if r2.status != http.StatusServiceUnavailable {
		t.Fatalf("retry while the topic is still missing: %d", r2.status)
	}
	if n := e.jobCount(); n != 2 {
		t.Fatalf("%d jobs, want 2 failed attempts", n)
	}
}

func TestRateLimit(t *testing.T) {
	e := newEnv(t, func(c *config.Functions) { c.RatePerMinute, c.RateBurst = 1, 2 })
	e.clock.Freeze()
	body := map[string]any{"member_id": "aria", "text": "hi"}
	for i := 0; i < 2; i++ {
		if r := e.postJSON("/api/synthesize", body); r.status != 202 {
			t.Fatalf("request %d: %d %s", i, r.status, r.raw)
		}
	}
	r := e.postJSON("/api/synthesize", body)
	if code, _ := r.errCode(); r.status != http.StatusTooManyRequests || code != "rate_limited" || r.header.Get("Retry-After") == "" {
		t.Fatalf("third request: %d %s (Retry-After %q)", r.status, r.raw, r.header.Get("Retry-After"))
	}
	if n := e.jobCount(); n != 2 {
		t.Fatalf("%d jobs, want 2", n)
	}
}

func TestProfilesAndCORS(t *testing.T) {
	e := newEnv(t, nil)
	r := e.do(http.MethodGet, "/api/profiles", "", nil, "Origin", "http://app.example")
	members, _ := r.body["members"].([]any)
	if r.status != 200 || len(members) != 2 { // juno, aria ("gone" is inactive)
		t.Fatalf("profiles %d %s", r.status, r.raw)
	}
	if first := members[0].(map[string]any); first["id"] != "juno" || first["voice"].(map[string]any)["demo"] != true {
		t.Fatalf("order or voice summary wrong: %s", r.raw)
	}
	if got := r.header.Get("Access-Control-Allow-Origin"); got != "http://app.example" {
		t.Errorf("allowed origin not echoed: %q", got)
	}
	if r := e.do(http.MethodGet, "/api/profiles", "", nil, "Origin", "http://evil.example"); r.header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("foreign origin allowed")
	}
	for _, p := range []string{"/api/profiles/aria", "/api/profiles?id=aria"} {
		if r := e.do(http.MethodGet, p, "", nil); r.status != 200 || r.body["name"] != "Aria" {
			t.Errorf("%s: %d %s", p, r.status, r.raw)
		}
	}
	for _, p := range []string{"/api/profiles/gone", "/api/profiles/nobody", "/api/profiles?id=..%2Fx"} {
		if r := e.do(http.MethodGet, p, "", nil); r.status != 404 {
			t.Errorf("%s: %d", p, r.status)
		}
	}
	if r := e.do(http.MethodDelete, "/api/profiles", "", nil); r.status != 405 {
		t.Errorf("DELETE: %d", r.status)
	}
	pre := e.do(http.MethodOptions, "/api/synthesize", "", nil, "Origin", "http://app.example", "Access-Control-Request-Method", "POST")
	if pre.status != 204 || pre.header.Get("Access-Control-Allow-Methods") == "" {
		t.Errorf("preflight: %d %v", pre.status, pre.header)
	}
	if r := e.do(http.MethodGet, "/api/profiles/aria/voice", "", nil); r.status != 404 {
		t.Errorf("a path below a member: %d %s", r.status, r.raw)
	}

	// The deployed function serves the same from its own root.
	fn := httptest.NewServer(e.server.ProfilesHandler())
	defer fn.Close()
	get := func(method, path string) (int, map[string]any, http.Header) {
		t.Helper()
		req, err := http.NewRequest(method, fn.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var body map[string]any
		if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
			t.Fatalf("%s %s: not JSON: %v", method, path, err)
		}
		return res.StatusCode, body, res.Header
	}
	if code, body, _ := get(http.MethodGet, "/"); code != 200 || len(body["members"].([]any)) != 2 {
		t.Errorf("function GET /: %d %v", code, body)
	}
	for _, p := range []string{"/aria", "/?id=aria"} {
		if code, body, _ := get(http.MethodGet, p); code != 200 || body["name"] != "Aria" {
			t.Errorf("function GET %s: %d %v", p, code, body)
		}
	}
	for p, want := range map[string]string{"/gone": "member_not_found", "/..%2Fx": "member_not_found", "/aria/voice": "not_found"} {
		if code, body, _ := get(http.MethodGet, p); code != 404 || body["error"].(map[string]any)["code"] != want {
			t.Errorf("function GET %s: %d %v, want 404 %s", p, code, body, want)
		}
	}
	if code, _, h := get(http.MethodDelete, "/aria"); code != 405 || h.Get("Allow") != "GET, HEAD, OPTIONS" {
		t.Errorf("function DELETE /aria: %d, Allow %q", code, h.Get("Allow"))
	}
}

// Abuse limits that hold. Locally no proxy appends an address, so a forged
// X-Forwarded-For must change nothing: 30 requests, each with a different
// forged header, are limited like 30 without (burst 20: 20 accepted).
func TestForgedForwardedForIsIgnoredWithoutProxies(t *testing.T) {
	e := newEnv(t, func(c *config.Functions) { c.RatePerMinute, c.RateBurst, c.TrustedProxyHops = 60, 20, 0 })
	e.clock.Freeze() // no token comes back while the 30 requests run
	accepted, limited := 0, 0
	for i := range 30 {
		r := e.do(http.MethodPost, "/api/synthesize", "application/json",
			[]byte(`{"member_id":"aria","text":"hi"}`), "X-Forwarded-For", fmt.Sprintf("198.51.100.%d", i+1))
		switch r.status {
		case http.StatusAccepted:
			accepted++
		case http.StatusTooManyRequests:
			limited++
		default:
			t.Fatalf("request %d: %d %s", i, r.status, r.raw)
		}
	}
	if accepted != 20 || limited != 10 {
		t.Fatalf("forged headers: %d accepted, %d limited; want 20 and 10, as without them", accepted, limited)
	}
}

// Behind one trusted proxy, the entries a client puts before the proxy's
// own are ignored; a different client (a different last entry) has its own
// allowance.
func TestForwardedForBehindOneProxy(t *testing.T) {
	e := newEnv(t, func(c *config.Functions) { c.RatePerMinute, c.RateBurst, c.TrustedProxyHops = 60, 3, 1 })
	e.clock.Freeze()
	post := func(xff string) int {
		return e.do(http.MethodPost, "/api/synthesize", "application/json", []byte(`{"member_id":"aria","text":"hi"}`),
			"X-Forwarded-For", xff).status
	}
	for i := range 3 {
		if s := post(fmt.Sprintf("10.9.9.%d, 203.0.113.7", i)); s != http.StatusAccepted {
			t.Fatalf("request %d: %d", i, s)
		}
	}
	if s := post("10.9.9.99, 203.0.113.7"); s != http.StatusTooManyRequests {
		t.Fatalf("4th request from the same client with a new forged prefix: %d, want 429", s)
	}
	if s := post("203.0.113.8"); s != http.StatusAccepted {
		t.Fatalf("another client: %d, want 202", s)
	}
}

// A batch costs one token per item, and a refused client is told when to
// come back with some jitter.
func TestBatchCostsOneTokenPerItem(t *testing.T) {
	e := newEnv(t, func(c *config.Functions) { c.RatePerMinute, c.RateBurst = 6, 10 })
	e.clock.Freeze()
	batch := func(n int) resp {
		items := make([]map[string]any, n)
		for i := range items {
			items[i] = map[string]any{"member_id": "aria", "text": fmt.Sprintf("line %d", i)}
		}
		return e.postJSON("/api/batch", map[string]any{"items": items})
	}
	if r := batch(8); r.status != http.StatusAccepted {
		t.Fatalf("batch of 8 from a bucket of 10: %d %s", r.status, r.raw)
	}
	r := batch(5)
	if code, _ := r.errCode(); r.status != http.StatusTooManyRequests || code != "rate_limited" {
		t.Fatalf("batch of 5 with 2 tokens left: %d %s, want 429", r.status, r.raw)
	}
	// 3 tokens short at 0.1 a second: 30 s, and up to as much again.
	if ra, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || ra < 30 || ra > 60 {
		t.Fatalf("Retry-After %q, want 30–60 s", r.header.Get("Retry-After"))
	}
	for i := range 2 {
		if r := e.postJSON("/api/synthesize", map[string]any{"member_id": "aria", "text": "hi"}); r.status != http.StatusAccepted {
			t.Fatalf("single %d with tokens left: %d", i, r.status)
		}
	}
	if r := e.postJSON("/api/synthesize", map[string]any{"member_id": "aria", "text": "hi"}); r.status != http.StatusTooManyRequests {
		t.Fatalf("single with none left: %d", r.status)
	}
	if n := e.jobCount(); n != 10 {
		t.Fatalf("%d jobs, want the 10 the allowance paid for", n)
	}
}

// Replaying a request that is still queued answers with its job and
// publishes nothing: one job, one message.
func TestReplayOfQueuedRequestPublishesNothing(t *testing.T) {
	e := newEnv(t, nil)
	body := map[string]any{"member_id": "aria", "text": "once", "request_id": "replay-" + job.NewID()}
	var id string
	for i := range 20 {
		r := e.postJSON("/api/synthesize", body)
		if r.status != http.StatusAccepted {
			t.Fatalf("replay %d: %d %s", i, r.status, r.raw)
		}
		if i == 0 {
			id, _ = r.body["job_id"].(string)
		} else if r.body["job_id"] != id {
			t.Fatalf("replay %d answered job %v, want %s", i, r.body["job_id"], id)
		}
	}
	if msgs := e.pull(3 * time.Second); len(msgs) != 1 || msgs[0].JobID != id {
		t.Fatalf("%d messages for 20 identical requests, want 1 for job %s", len(msgs), id)
	}
}

// A request identical to an earlier one whose audio still lives is
// answered from it: 202 with a job already succeeded and cached, the same
// audio object, no message. A different speed, or a member who opted out,
// is synthesised anew.
func TestIdenticalRequestIsAnsweredFromCache(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	if err := e.st.PutMember(ctx, &store.Member{ID: "nocache", Name: "No Cache", Group: "G", VoiceID: "demo-en", Active: true, CacheDisabled: true}); err != nil {
		t.Fatal(err)
	}
	body := map[string]any{"member_id": "aria", "text": "Hello, cache!"}
	first := e.postJSON("/api/synthesize", body)
	id, _ := first.body["job_id"].(string)
	if first.status != http.StatusAccepted || first.body["status"] != "queued" || first.body["cached"] != nil {
		t.Fatalf("first request: %d %s", first.status, first.raw)
	}
	// The worker's part: synthesise, record success and the result.
	j, err := e.st.GetJob(ctx, id)
	if err != nil || j.CacheKey == "" {
		t.Fatalf("job %+v (%v): want a cache key", j, err)
	}
	if _, o, err := e.st.Claim(ctx, id, "w1", time.Minute); err != nil || o != store.Claimed {
		t.Fatal(o, err)
	}
	out := job.Output{Bucket: e.cfg.AudioBucket, Object: j.ObjectName(), Bytes: 44, DurationSeconds: 1.5, SampleRate: 22050,
		CaptionsObject: j.CaptionsObjectName(), WrittenAt: time.Now().UTC()}
	if err := e.st.Succeed(ctx, id, "w1", out, "cpu"); err != nil {
		t.Fatal(err)
	}
	if err := e.st.RecordResult(ctx, j.CacheKey, id, out); err != nil {
		t.Fatal(err)
	}
	e.pull(2 * time.Second) // the first job's message

	again := e.postJSON("/api/synthesize", map[string]any{"member_id": "aria", "text": "  Hello,   cache! "})
	if again.status != http.StatusAccepted || again.body["status"] != "succeeded" || again.body["cached"] != true || again.body["job_id"] == id {
		t.Fatalf("identical request: %d %s, want a new job, already succeeded and cached", again.status, again.raw)
	}
	st := e.do(http.MethodGet, "/api/status?id="+again.body["job_id"].(string), "", nil)
	au, _ := st.body["audio_url"].(string)
	cu, _ := st.body["captions_url"].(string)
	if st.status != 200 || st.body["cached"] != true || !strings.Contains(au, "/audio/"+j.ObjectName()+"?") ||
		!strings.Contains(cu, "/audio/"+j.CaptionsObjectName()+"?") {
		t.Fatalf("cached job's status: %d %s, want the first job's audio and captions", st.status, st.raw)
	}
	batch := e.postJSON("/api/batch", map[string]any{"items": []map[string]any{body, {"member_id": "aria", "text": "Something new."}}})
	jobs, _ := batch.body["jobs"].([]any)
	if batch.status != http.StatusAccepted || len(jobs) != 2 || jobs[0].(map[string]any)["cached"] != true || jobs[1].(map[string]any)["status"] != "queued" {
		t.Fatalf("batch: %d %s, want the first item cached and the second queued", batch.status, batch.raw)
	}
	for name, b := range map[string]map[string]any{
		"another speed":   {"member_id": "aria", "text": "Hello, cache!", "speed": 1.5},
		"another format":  {"member_id": "aria", "text": "Hello, cache!", "format": "opus"},
		"cache opted out": {"member_id": "nocache", "text": "Hello, cache!"},
	} {
		if r := e.postJSON("/api/synthesize", b); r.status != http.StatusAccepted || r.body["status"] != "queued" || r.body["cached"] != nil {
			t.Errorf("%s: %d %s, want a queued job", name, r.status, r.raw)
		}
	}
	if msgs := e.pull(3 * time.Second); len(msgs) != 4 {
		t.Errorf("%d messages, want 4 (the batch's new item, another speed, another format, opted out); cached jobs publish nothing", len(msgs))
	}
	// An edit of the member's lexicon changes how the text sounds: the
	// cached result no longer answers.
	if err := e.st.SetLexiconEntry(ctx, "aria", "cache", "kˈæʃ"); err != nil {
		t.Fatal(err)
	}
	if r := e.postJSON("/api/synthesize", body); r.status != http.StatusAccepted || r.body["status"] != "queued" || r.body["cached"] != nil {
		t.Errorf("after a lexicon edit: %d %s, want a queued job (a miss)", r.status, r.raw)
	}

	// Audio written to another bucket (the deployment's bucket changed
	// since) is not where status signs: a miss.
	moved := map[string]any{"member_id": "aria", "text": "Written elsewhere."}
	mj, err := e.st.GetJob(ctx, e.postJSON("/api/synthesize", moved).body["job_id"].(string))
	if err != nil {
		t.Fatal(err)
	}
	elsewhere := out
	elsewhere.Bucket, elsewhere.Object, elsewhere.CaptionsObject = "an-old-bucket", mj.ObjectName(), mj.CaptionsObjectName()
	if err := e.st.RecordResult(ctx, mj.CacheKey, mj.ID, elsewhere); err != nil {
		t.Fatal(err)
	}
	if r := e.postJSON("/api/synthesize", moved); r.status != http.StatusAccepted || r.body["status"] != "queued" || r.body["cached"] != nil {
		t.Errorf("result in another bucket: %d %s, want a queued job (a miss)", r.status, r.raw)
	}
}

// Issue 15, item 8: a batch retried with the same request ids (an exact
// replay, e.g. after a lost answer) answers the first batch's id and jobs
// and queues nothing more, items without a request id included; a request
// id reused by any other request is still a conflict.
func TestBatchReplayIsIdempotent(t *testing.T) {
	e := newEnv(t, nil)
	suffix := job.NewID()
	items := []map[string]any{
		{"member_id": "aria", "text": "First line.", "request_id": "b1-" + suffix},
		{"member_id": "juno", "text": "Second line.", "request_id": "b2-" + suffix, "format": "opus"},
		{"member_id": "aria", "text": "A line without a key."},
	}
	body := map[string]any{"items": items}
	first := e.postJSON("/api/batch", body)
	if first.status != http.StatusAccepted {
		t.Fatalf("first batch: %d %s", first.status, first.raw)
	}
	for i := range 3 {
		again := e.postJSON("/api/batch", body)
		if again.status != http.StatusAccepted || again.body["batch_id"] != first.body["batch_id"] ||
			fmt.Sprint(again.body["jobs"]) != fmt.Sprint(first.body["jobs"]) {
			t.Fatalf("replay %d: %d %s, want the first batch %s", i, again.status, again.raw, first.raw)
		}
	}
	if n := e.jobCount(); n != 3 {
		t.Fatalf("%d jobs after replays, want 3", n)
	}
	if msgs := e.pull(3 * time.Second); len(msgs) != 3 {
		t.Fatalf("%d messages for a batch of 3 sent 4 times, want 3", len(msgs))
	}
	for name, tc := range map[string]struct {
		path  string
		body  any
		field string
	}{
		"a batch sharing one item":  {"/api/batch", map[string]any{"items": items[:2]}, "items[0].request_id"},
		"another order":             {"/api/batch", map[string]any{"items": []map[string]any{items[1], items[0], items[2]}}, "items[0].request_id"},
		"another callback":          {"/api/batch", map[string]any{"items": items, "callback_url": "https://hooks.example.com/x"}, "items[0].request_id"},
		"a single synthesis of one": {"/api/synthesize", items[0], "request_id"},
	} {
		r := e.postJSON(tc.path, tc.body)
		if code, field := r.errCode(); r.status != http.StatusConflict || code != "request_id_conflict" || field != tc.field {
			t.Errorf("%s: %d %s, want 409 request_id_conflict on %s", name, r.status, r.raw, tc.field)
		}
	}
	if n := e.jobCount(); n != 3 {
		t.Fatalf("%d jobs after conflicts, want 3", n)
	}
}

// A batch that could not be queued is forgotten whole: its retry makes a
// new batch, not an answer with the dead one.
func TestBatchReplayAfterPublishFailureMakesANewBatch(t *testing.T) {
	e := newEnv(t, nil)
	up := e.server
	e.server = api.NewServer(api.Deps{Config: e.cfg, Store: e.st, Publisher: downPublisher{}, Signer: e.signer})
	e.srv.Config.Handler = e.server.Mux()
	body := map[string]any{"items": []map[string]any{{"member_id": "aria", "text": "Lost?", "request_id": "lost-" + job.NewID()}}}
	if r := e.postJSON("/api/batch", body); r.status != http.StatusServiceUnavailable {
		t.Fatalf("batch while Pub/Sub is down: %d %s", r.status, r.raw)
	}
	e.srv.Config.Handler = up.Mux()
	r := e.postJSON("/api/batch", body)
	jobs, _ := r.body["jobs"].([]any)
	if r.status != http.StatusAccepted || len(jobs) != 1 || jobs[0].(map[string]any)["status"] != "queued" {
		t.Fatalf("retry: %d %s, want a new queued batch", r.status, r.raw)
	}
	if msgs := e.pullN(1, 10*time.Second); len(msgs) != 1 || msgs[0].BatchID != r.body["batch_id"] {
		t.Fatalf("messages %v, want the new batch's job", msgs)
	}
}

// Issue 15, item 3: every address of one IPv6 /64 is one client (a host
// or a subscriber line is given a whole /64), so 1,000 addresses of one
// /64 are limited like one; another /64 has its own allowance, and an
// IPv4-mapped address is its IPv4 address.
func TestIPv6ClientsAreLimitedByTheirSlash64(t *testing.T) {
	e := newEnv(t, func(c *config.Functions) { c.RatePerMinute, c.RateBurst, c.TrustedProxyHops = 60, 3, 1 })
	e.clock.Freeze()
	post := func(xff string) resp {
		return e.do(http.MethodPost, "/api/synthesize", "application/json", []byte(`{"member_id":"aria","text":"hi"}`),
			"X-Forwarded-For", xff)
	}
	accepted := 0
	for i := range 1000 {
		switch r := post(fmt.Sprintf("2001:db8:1:2:%x:%x::1", i/256, i%256)); r.status {
		case http.StatusAccepted:
			accepted++
		case http.StatusTooManyRequests:
		default:
			t.Fatalf("request %d: %d %s", i, r.status, r.raw)
		}
	}
	if accepted != 3 {
		t.Fatalf("1,000 addresses of one /64: %d accepted, want the burst of 3", accepted)
	}
	if r := post("2001:db8:1:3::1"); r.status != http.StatusAccepted {
		t.Fatalf("another /64: %d %s, want its own allowance", r.status, r.raw)
	}
	for i, xff := range []string{"203.0.113.7", "::ffff:203.0.113.7", "203.0.113.7", "::ffff:203.0.113.7"} {
		if r := post(xff); (i < 3) != (r.status == http.StatusAccepted) {
			t.Fatalf("request %d of one IPv4 client written two ways (%s): %d", i, xff, r.status)
		}
	}
	if n := e.jobCount(); n != 3+1+3 {
		t.Fatalf("%d jobs, want 7", n)
	}
}

// Issue 15, item 4: status is limited per client too (each poll may sign
// URLs through IAM signBlob, which has a quota): past the burst a client
// gets 429 with Retry-After, its enqueue allowance is its own, and a token
// comes back at the rate.
func TestStatusIsRateLimitedPerClient(t *testing.T) {
	e := newEnv(t, func(c *config.Functions) {
		c.StatusRatePerMinute, c.StatusRateBurst = 60, 5
		c.RatePerMinute, c.RateBurst = 60, 5
	})
	e.clock.Freeze()
	ctx := context.Background()
	created, err := e.st.CreateJobs(ctx, []*job.Job{job.New("aria", "demo-en", 0, "polled", 1, e.clock.Now())})
	if err != nil {
		t.Fatal(err)
	}
	id := created[0].Job.ID
	if _, o, err := e.st.Claim(ctx, id, "w1", time.Minute); err != nil || o != store.Claimed {
		t.Fatal(o, err)
	}
	j := created[0].Job
	if err := e.st.Succeed(ctx, id, "w1", job.Output{Bucket: "audio", Object: j.ObjectName(), Bytes: 44, DurationSeconds: 1, SampleRate: 22050}, "cpu"); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if r := e.do(http.MethodGet, "/api/status?id="+id, "", nil); r.status != http.StatusOK {
			t.Fatalf("poll %d: %d %s", i, r.status, r.raw)
		}
	}
	for _, q := range []string{"?id=" + id, "?batch=" + job.NewID(), "?id=" + job.NewID()} {
		r := e.do(http.MethodGet, "/api/status"+q, "", nil)
		if code, _ := r.errCode(); r.status != http.StatusTooManyRequests || code != "rate_limited" || r.header.Get("Retry-After") == "" {
			t.Fatalf("status%s past the burst: %d %s (Retry-After %q), want 429", q, r.status, r.raw, r.header.Get("Retry-After"))
		}
	}
	if r := e.postJSON("/api/synthesize", map[string]any{"member_id": "aria", "text": "still mine"}); r.status != http.StatusAccepted {
		t.Fatalf("enqueue after the status burst: %d %s, want its own allowance", r.status, r.raw)
	}
	e.clock.Advance(time.Second)
	if r := e.do(http.MethodGet, "/api/status?id="+id, "", nil); r.status != http.StatusOK {
		t.Fatalf("a second later: %d %s, want one token back", r.status, r.raw)
	}
}

// Issue 15, item 10: the body limit follows the item and text limits, so
// the largest request the limits allow is accepted, even Korean text (three
// bytes a character) from a client that escapes every character
// (\uXXXX, six bytes); a body larger than any request within the limits
// is 413 and changes nothing.
func TestBatchAtTheLimitsIsAccepted(t *testing.T) {
	e := newEnv(t, nil)
	// 100 jobs in one transaction and 100 messages each time: on a loaded
	// 2-core machine under -race that can take longer than the default
	// request deadline, which this test is not about.
	pub := queue.NewPublisher(e.ps, e.cfg.Topic, e.cfg.MaxTextChars)
	t.Cleanup(pub.Stop)
	e.server = api.NewServer(api.Deps{Config: e.cfg, Store: e.st, Publisher: pub, Signer: e.signer, Now: e.clock.Now, Timeout: 2 * time.Minute})
	e.srv.Config.Handler = e.server.Mux()
	items, chars := e.cfg.MaxBatchItems, e.cfg.MaxTextChars
	korean := strings.Repeat("가", chars)
	escaped := strings.Repeat(`\uac00`, chars)
	batch := func(text string, pad int) []byte {
		var b strings.Builder
		b.WriteString(`{"items":[`)
		for i := range items {
			if i > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, `{"member_id":"aria","text":"%s","request_id":"r-%d-%s"}`, text, i, strings.Repeat("x", 100))
		}
		b.WriteString("]" + strings.Repeat(" ", pad) + "}")
		return []byte(b.String())
	}
	for name, body := range map[string][]byte{"UTF-8": batch(korean, 0), "escaped": batch(escaped, 0)} {
		r := e.do(http.MethodPost, "/api/batch", "application/json", body)
		if jobs, _ := r.body["jobs"].([]any); r.status != http.StatusAccepted || len(jobs) != items {
			t.Fatalf("%s: %d items of %d characters (%d bytes): %d %.300s", name, items, chars, len(body), r.status, r.raw)
		}
	}
	before := e.jobCount()
	limit := api.MaxBodyBytes(items, chars)
	over := batch(escaped, 0)
	over = batch(escaped, int(limit)-len(over)+1)
	if int64(len(over)) != limit+1 {
		t.Fatalf("test body is %d bytes, want %d", len(over), limit+1)
	}
	r := e.do(http.MethodPost, "/api/batch", "application/json", over)
	if code, _ := r.errCode(); r.status != http.StatusRequestEntityTooLarge || code != "body_too_large" {
		t.Fatalf("a body one byte over %d: %d %s", limit, r.status, r.raw)
	}
	if n := e.jobCount(); n != before {
		t.Fatalf("the refused body made %d jobs", n-before)
	}
	// A single synthesis has the limit of one item.
	one := []byte(fmt.Sprintf(`{"member_id":"aria","text":"%s"}`, escaped))
	if r := e.do(http.MethodPost, "/api/synthesize", "application/json", one); r.status != http.StatusAccepted {
		t.Fatalf("one item of %d escaped characters: %d %s", chars, r.status, r.raw)
	}
}

// Clients learn the limits from GET profiles, which tells the deployment's.
func TestProfilesTellTheLimits(t *testing.T) {
	e := newEnv(t, func(c *config.Functions) { c.MaxTextChars, c.MaxBatchItems = 750, 250 })
	r := e.do(http.MethodGet, "/api/profiles", "", nil)
	lim, _ := r.body["limits"].(map[string]any)
	if r.status != 200 || lim["max_text_chars"] != 750.0 || lim["max_batch_items"] != 250.0 ||
		lim["max_body_bytes"] != float64(api.MaxBodyBytes(250, 750)) {
		t.Fatalf("profiles: %d %s, want limits 750 characters, 250 items", r.status, r.raw)
	}
}

// Hardening: field names match exactly (encoding/json alone matches them
// in any case) and no object names a field twice (encoding/json alone keeps
// the last): both are 400 and change nothing, in a batch's items too.
func TestJSONFieldNamesMatchExactly(t *testing.T) {
	e := newEnv(t, nil)
	for _, tc := range []struct {
		name, path, body, code, field string
	}{
		{"another case", "/api/synthesize", `{"member_id":"aria","Text":"hi"}`, "unknown_field", "Text"},
		{"upper case", "/api/synthesize", `{"MEMBER_ID":"aria","text":"hi"}`, "unknown_field", "MEMBER_ID"},
		{"twice", "/api/synthesize", `{"member_id":"aria","text":"hi","text":"something else"}`, "duplicate_field", "text"},
		{"in an item, another case", "/api/batch", `{"items":[{"member_id":"aria","text":"a"},{"member_id":"aria","Text":"b"}]}`, "unknown_field", "items[1].Text"},
		{"in an item, twice", "/api/batch", `{"items":[{"member_id":"aria","member_id":"juno","text":"a"}]}`, "duplicate_field", "items[0].member_id"},
		{"items twice", "/api/batch", `{"items":[{"member_id":"aria","text":"a"}],"items":[]}`, "duplicate_field", "items"},
		{"callback in another case", "/api/batch", `{"items":[{"member_id":"aria","text":"a"}],"Callback_URL":"https://x.example"}`, "unknown_field", "Callback_URL"},
	} {
		r := e.do(http.MethodPost, tc.path, "application/json", []byte(tc.body))
		if code, field := r.errCode(); r.status != http.StatusBadRequest || code != tc.code || field != tc.field {
			t.Errorf("%s: %d %s, want 400 %s on %s", tc.name, r.status, r.raw, tc.code, tc.field)
		}
	}
	if n := e.jobCount(); n != 0 {
		t.Fatalf("%d jobs made by refused bodies", n)
	}
}

// The contract's numbers are shared/config's defaults: one source.
func TestContractLimitsAreTheConfigDefaults(t *testing.T) {
	c, err := loadContract()
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.LoadFrom[config.Functions](context.Background(), envconfig.MapLookuper(map[string]string{
		"GOOGLE_CLOUD_PROJECT": "p", "CHORUS_TOPIC": "t", "CHORUS_AUDIO_BUCKET": "b"}))
	if err != nil {
		t.Fatal(err)
	}
	props := c.doc.Components.Schemas["Limits"].Value.Properties
	for name, want := range map[string]float64{
		"max_text_chars":  float64(cfg.MaxTextChars),
		"max_batch_items": float64(cfg.MaxBatchItems),
		"max_body_bytes":  float64(api.MaxBodyBytes(cfg.MaxBatchItems, cfg.MaxTextChars)),
	} {
		p := props[name]
		if p == nil {
			t.Errorf("docs/openapi.yaml Limits has no %s", name)
			continue
		}
		if p.Value.Default != want {
			t.Errorf("docs/openapi.yaml Limits.%s: default %v, want shared/config's %v", name, p.Value.Default, want)
		}
	}
}

// Issue 15 item 9: the cache key is what the engine speaks. Each pair
// below shared a key although the engine spoke them differently (the key
// normalised the whole text; the engine splits sentences first and keeps
// inline phonemes as written): the second text was answered with the
// first one's audio. Now it is a miss, or refused (a control character);
// and texts the engine speaks the same still share their result.
func TestCacheKeyIsWhatTheEngineSpeaks(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	synthesised := func(text string) {
		t.Helper()
		r := e.postJSON("/api/synthesize", map[string]any{"member_id": "aria", "text": text})
		id, _ := r.body["job_id"].(string)
		if r.status != http.StatusAccepted || r.body["status"] != "queued" {
			t.Fatalf("%q: %d %s, want a queued job", text, r.status, r.raw)
		}
		j, err := e.st.GetJob(ctx, id)
		if err != nil || j.CacheKey == "" {
			t.Fatalf("job %+v (%v): want a cache key", j, err)
		}
		if _, o, err := e.st.Claim(ctx, id, "w1", time.Minute); err != nil || o != store.Claimed {
			t.Fatal(o, err)
		}
		out := job.Output{Bucket: e.cfg.AudioBucket, Object: j.ObjectName(), Bytes: 44, DurationSeconds: 1.5, SampleRate: 22050,
			CaptionsObject: j.CaptionsObjectName(), WrittenAt: time.Now().UTC()}
		if err := e.st.Succeed(ctx, id, "w1", out, "cpu"); err != nil {
			t.Fatal(err)
		}
		if err := e.st.RecordResult(ctx, j.CacheKey, id, out); err != nil {
			t.Fatal(err)
		}
	}
	for _, pair := range []struct{ first, then string }{
		{"Good morning! Have a nice day.", "Good morning!\u0001Have a nice day."},
		{"Thanks. and you too!", "Thanks. & you too!"},
		{"[[ a and b ]]", "[[ a&b ]]"},
	} {
		synthesised(pair.first)
		r := e.postJSON("/api/synthesize", map[string]any{"member_id": "aria", "text": pair.then})
		if r.body["cached"] == true {
			t.Errorf("%q after %q: answered from the cache (%s), but the engine speaks them differently", pair.then, pair.first, r.raw)
		}
	}
	synthesised("See you soon.\nTake care!")
	if r := e.postJSON("/api/synthesize", map[string]any{"member_id": "aria", "text": " See you soon.  Take care! "}); r.body["cached"] != true {
		t.Errorf("the same sentences spaced differently: %d %s, want the cached result", r.status, r.raw)
	}
}
