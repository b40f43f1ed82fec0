package api_test

import (
	"bytes"
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
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/firestore"
	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/storage"

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
	t      *testing.T
	srv    *httptest.Server
	fs     *firestore.Client
	st     *store.Store
	ps     *pubsub.Client
	sub    string
	cfg    *config.Functions
	server *api.Server
	signer *blob.Signer
}

var topicSeq struct {
	sync.Mutex
	n int
}

func newEnv(t *testing.T, tweak func(*config.Functions)) *env {
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
	st := store.New(fs)
	pub := queue.NewPublisher(ps, topic, cfg.MaxTextChars)
	server := api.NewServer(api.Deps{Config: cfg, Store: st, Publisher: pub, Signer: signer})
	srv := httptest.NewServer(server.Mux())
	t.Cleanup(func() {
		srv.Close()
		pub.Stop()
		ps.Close()
		fs.Close()
		gcs.Close()
	})
	e := &env{t: t, srv: srv, fs: fs, st: st, ps: ps, sub: sub, cfg: cfg, server: server, signer: signer}
	e.seed()
	return e
}

func writeKey(t *testing.T) string {
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
		SampleRate: 22050, Language: "en-us", NumSpeakers: 4, Demo: true}
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
	res, err := http.DefaultClient.Do(req)
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
		{"batch over 100 items", "/api/batch", "application/json", items(101), 400, "too_many_items", "items"},
		{"batch without items", "/api/batch", "application/json", []byte(`{"items":[]}`), 400, "no_items", "items"},
		{"batch with one bad item", "/api/batch", "application/json", []byte(`{"items":[{"member_id":"aria","text":"ok"},{"member_id":"aria","text":""}]}`), 400, "text_required", "items[1].text"},
		{"batch with inactive member", "/api/batch", "application/json", []byte(`{"items":[{"member_id":"aria","text":"ok"},{"member_id":"gone","text":"hi"}]}`), 404, "member_inactive", "items[1].member_id"},
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
	if !job.ValidID(id) || r.body["status"] != "queued" || r.body["status_url"] != "/api/status?id="+id {
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
	if j.VoiceID != "demo-en" || j.SpeakerID != 1 || j.Status != job.Queued {
		t.Fatalf("job %+v", j)
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
	if !job.ValidID(batch) || len(jobs) != 3 {
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
	if err := e.st.Succeed(ctx, ok.ID, "w1", job.Output{Bucket: "audio", Object: ok.ObjectName(), Bytes: 44, DurationSeconds: 1.25, SampleRate: 22050}, "cpu"); err != nil {
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
	if u.Path != "/audio/"+ok.ObjectName() || q.Get("X-Goog-Algorithm") != "GOOG4-RSA-SHA256" || q.Get("X-Goog-Expires") != "600" || q.Get("X-Goog-Signature") == "" {
		t.Fatalf("signed URL scope/expiry wrong: %s", au)
	}
	exp, err := time.Parse(time.RFC3339, s.body["expires_at"].(string))
	if err != nil || exp.Before(before.Add(10*time.Minute-time.Second)) || exp.After(time.Now().Add(10*time.Minute+time.Second)) {
		t.Fatalf("expires_at %v", s.body["expires_at"])
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
	if r.status != 200 || len(members) != 2 {
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
}
