package faults_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chorus-voice/chorus/functions/api"
	"github.com/chorus-voice/chorus/shared/blob"
	"github.com/chorus-voice/chorus/shared/config"
	"github.com/chorus-voice/chorus/shared/job"
)

// apiTimeout is the API's request deadline in these tests: a frozen
// dependency is answered 503 after it.
const apiTimeout = 3 * time.Second

// internals are fragments of Go and client-library error text that must
// never reach a client.
var internals = []string{"rpc error", "context deadline", "context canceled", "desc =", "firestore", "pubsub",
	"store:", "queue:", "goroutine", ".go:", "panic", "projects/", "emulator", "json:", "dial tcp"}

// apiServer serves the API over the world's queue and bucket, the way the
// functions do.
func (w *world) apiServer() (*httptest.Server, *config.Functions) {
	w.t.Helper()
	cfg := &config.Functions{ProjectID: project, Topic: w.topic, AudioBucket: w.bucket, SignedURLTTL: 10 * time.Minute, AudioRetention: 7 * 24 * time.Hour,
		SigningKeyFile: writeKey(w.t), PublicStorageURL: "http://" + w.stack.GCSHost,
		AllowedOrigins: []string{"http://app.example"}, StatusURL: "/api/status",
		MaxTextChars: 1000, MaxBatchItems: 100}
	if err := cfg.Validate(); err != nil {
		w.t.Fatal(err)
	}
	signer, err := blob.NewSigner(w.gcs, cfg.AudioBucket, blob.SignerOptions{TTL: cfg.SignedURLTTL, KeyFile: cfg.SigningKeyFile, PublicURL: cfg.PublicStorageURL})
	if err != nil {
		w.t.Fatal(err)
	}
	srv := httptest.NewServer(api.NewServer(api.Deps{Config: cfg, Store: w.st, Publisher: w.pub, Signer: signer, Timeout: apiTimeout}).Mux())
	w.t.Cleanup(srv.Close)
	return srv, cfg
}

func writeKey(t *testing.T) string {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "key.pem")
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

type answer struct {
	status int
	header http.Header
	raw    []byte
	body   map[string]any
}

func (a answer) code() string {
	e, _ := a.body["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

func call(t *testing.T, method, url string, body any) answer {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: no answer: %v", method, url, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	a := answer{status: res.StatusCode, header: res.Header, raw: raw}
	if err := json.Unmarshal(raw, &a.body); err != nil {
		t.Fatalf("%s %s: %d answer is not JSON: %q", method, url, res.StatusCode, raw)
	}
	return a
}

// assertUnavailable checks a dependency outage answer: 503, JSON error
// "unavailable", Retry-After, nothing internal in the body.
func assertUnavailable(t *testing.T, what string, a answer) {
	t.Helper()
	if a.status != http.StatusServiceUnavailable || a.code() != "unavailable" || a.header.Get("Retry-After") == "" {
		t.Errorf("%s: got %d %s (Retry-After %q), want 503 unavailable", what, a.status, a.raw, a.header.Get("Retry-After"))
	}
	assertNoInternals(t, what, a.raw)
}

func assertNoInternals(t *testing.T, what string, raw []byte) {
	t.Helper()
	low := strings.ToLower(string(raw))
	for _, s := range internals {
		if strings.Contains(low, s) {
			t.Errorf("%s: body leaks %q: %s", what, s, raw)
		}
	}
}

// waitAccepted retries a submission until the API accepts it again after
// an outage (clients reconnect), failing after a generous bound.
func waitAccepted(t *testing.T, url string, body any) answer {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		a := call(t, http.MethodPost, url, body)
		if a.status == http.StatusAccepted {
			return a
		}
		if time.Now().After(deadline) {
			t.Fatalf("API did not recover: %d %s", a.status, a.raw)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// With the Firestore emulator frozen, every function answers 503 with a
// JSON error and writes nothing; when it is back the API serves again and
// the accepted job is synthesised.
func TestFirestoreOutageAnswers503AndRecovers(t *testing.T) {
	w := newWorld(t)
	srv, _ := w.apiServer()
	before := w.createQueued(member, "written before the outage")
	resume := w.pause("firestore")

	assertUnavailable(t, "synthesize", call(t, http.MethodPost, srv.URL+"/api/synthesize", map[string]any{"member_id": member, "text": "During the outage."}))
	assertUnavailable(t, "batch", call(t, http.MethodPost, srv.URL+"/api/batch", map[string]any{"items": []map[string]any{{"member_id": member, "text": "During the outage."}}}))
	assertUnavailable(t, "status", call(t, http.MethodGet, srv.URL+"/api/status?id="+before.ID, nil))
	assertUnavailable(t, "profiles", call(t, http.MethodGet, srv.URL+"/api/profiles", nil))
	resume()

	if n := w.countJobs("During the outage."); n != 0 {
		t.Fatalf("the outage left %d job documents behind", n)
	}
	ok := waitAccepted(t, srv.URL+"/api/synthesize", map[string]any{"member_id": member, "text": "After the outage."})
	id, _ := ok.body["job_id"].(string)
	w.startWorker()
	done := w.waitJobs([]string{id}, time.Minute, terminal)
	if j := done[id]; j.Status != job.Succeeded {
		t.Fatalf("job after recovery: %s %+v", j.Status, j.Error)
	}
	w.assertOneObjectPerJob(done)
}

// With the Pub/Sub emulator frozen, a submission is answered 503 and its
// job is failed (enqueue_failed), never left queued without a message; the
// same request_id is accepted once Pub/Sub is back and its job succeeds.
func TestPubSubOutageAnswers503WithoutOrphanAndRecovers(t *testing.T) {
	w := newWorld(t)
	srv, _ := w.apiServer()
	// Unique per run: the emulators outlive one run of the test (-count).
	body := map[string]any{"member_id": member, "text": "Queued during the outage " + job.NewID(), "request_id": "outage-pubsub-" + job.NewID()}
	resume := w.pause("pubsub")
	assertUnavailable(t, "synthesize", call(t, http.MethodPost, srv.URL+"/api/synthesize", body))
	resume()

	snaps, err := w.fs.Collection("jobs").Where("text", "==", body["text"]).Documents(context.Background()).GetAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(snaps) != 1 {
		t.Fatalf("%d job documents for the refused request, want 1 (failed)", len(snaps))
	}
	if st, code := snaps[0].Data()["status"], snaps[0].Data()["error"]; st != string(job.Failed) || code.(map[string]any)["code"] != "enqueue_failed" {
		t.Fatalf("refused request left a job %v %v", st, code)
	}

	ok := waitAccepted(t, srv.URL+"/api/synthesize", body)
	id, _ := ok.body["job_id"].(string)
	if id == snaps[0].Ref.ID {
		t.Fatal("the retry was answered with the abandoned job")
	}
	w.startWorker()
	done := w.waitJobs([]string{id}, time.Minute, terminal)
	if j := done[id]; j.Status != job.Succeeded {
		t.Fatalf("job after recovery: %s %+v", j.Status, j.Error)
	}
	w.assertOneObjectPerJob(done)
}

// pause freezes an emulator; the returned func (also run at cleanup)
// resumes it once.
func (w *world) pause(name string) func() {
	w.t.Helper()
	if err := w.stack.Pause(name); err != nil {
		w.t.Fatal(err)
	}
	resumed := false
	resume := func() {
		if resumed {
			return
		}
		resumed = true
		if err := w.stack.Resume(name); err != nil {
			w.t.Fatal(err)
		}
	}
	w.t.Cleanup(resume)
	return resume
}

func (w *world) countJobs(text string) int {
	w.t.Helper()
	snaps, err := w.fs.Collection("jobs").Where("text", "==", text).Documents(context.Background()).GetAll()
	if err != nil {
		w.t.Fatal(err)
	}
	return len(snaps)
}
