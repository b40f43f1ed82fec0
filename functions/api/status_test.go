package api_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"cloud.google.com/go/storage"

	"github.com/chorus-voice/chorus/functions/api"
	"github.com/chorus-voice/chorus/shared/blob"
	"github.com/chorus-voice/chorus/shared/config"
	"github.com/chorus-voice/chorus/shared/job"
	"github.com/chorus-voice/chorus/shared/store"
)

// remoteSigner stands for IAM signBlob: it counts signatures, and hangs
// while hang is set, until its caller gives up.
type remoteSigner struct {
	key   *rsa.PrivateKey
	calls atomic.Int64
	hang  atomic.Bool
}

func (r *remoteSigner) sign(ctx context.Context, _ string, payload []byte) ([]byte, error) {
	r.calls.Add(1)
	if r.hang.Load() {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	sum := sha256.Sum256(payload)
	return rsa.SignPKCS1v15(rand.Reader, r.key, crypto.SHA256, sum[:])
}

// withRemoteSigner serves e's API with a signer that signs through r, and
// the given sign timeout.
func (e *env) withRemoteSigner(signTimeout time.Duration) *remoteSigner {
	e.t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		e.t.Fatal(err)
	}
	r := &remoteSigner{key: key}
	gcs, err := storage.NewClient(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { gcs.Close() })
	signer, err := blob.NewSigner(gcs, e.cfg.AudioBucket, blob.SignerOptions{TTL: e.cfg.SignedURLTTL,
		Email: "status@demo-chorus.iam.gserviceaccount.com", PublicURL: e.cfg.PublicStorageURL, SignBlob: r.sign})
	if err != nil {
		e.t.Fatal(err)
	}
	e.signer = signer
	e.server = api.NewServer(api.Deps{Config: e.cfg, Store: e.st, Publisher: downPublisher{}, Signer: signer,
		Now: e.clock.Now, SignTimeout: signTimeout})
	e.srv.Config.Handler = e.server.Mux()
	return r
}

// succeeded makes a job that succeeded with audio and captions.
func (e *env) succeeded(text string) *job.Job {
	e.t.Helper()
	j := e.queued(text)
	ctx := context.Background()
	if _, o, err := e.st.Claim(ctx, j.ID, "w1", time.Minute); err != nil || o != store.Claimed {
		e.t.Fatal(o, err)
	}
	if err := e.st.Succeed(ctx, j.ID, "w1", job.Output{Bucket: e.cfg.AudioBucket, Object: j.ObjectName(), Bytes: 44,
		DurationSeconds: 1, SampleRate: 22050, CaptionsObject: j.CaptionsObjectName(), WrittenAt: time.Now().UTC()}, "cpu"); err != nil {
		e.t.Fatal(err)
	}
	return j
}

// queued makes a queued job.
func (e *env) queued(text string) *job.Job {
	e.t.Helper()
	created, err := e.st.CreateJobs(context.Background(), []*job.Job{job.New("aria", "demo-en", 0, text, 1, time.Now())})
	if err != nil {
		e.t.Fatal(err)
	}
	return created[0].Job
}

// Issue 14, item 4: status signs a job's pair once and hands the same
// URLs out for a quarter of their lifetime, however often it is polled,
// concurrently too; past that it signs a fresh pair.
func TestStatusSignsOncePerJobAndQuarterTTL(t *testing.T) {
	e := newEnv(t, nil) // URLs live 15 minutes
	e.clock.Freeze()
	signer := e.withRemoteSigner(0)
	j := e.succeeded("signed once")
	poll := func() resp { return e.do(http.MethodGet, "/api/status?id="+j.ID, "", nil) }
	first := poll()
	if first.status != http.StatusOK || first.body["audio_url"] == nil || first.body["captions_url"] == nil {
		t.Fatalf("status: %d %s", first.status, first.raw)
	}
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			if r := poll(); r.body["audio_url"] != first.body["audio_url"] || r.body["expires_at"] != first.body["expires_at"] {
				t.Errorf("a later poll got other URLs: %s", r.raw)
			}
		})
	}
	wg.Wait()
	if n := signer.calls.Load(); n != 2 {
		t.Fatalf("%d signatures for 11 polls of one job, want 2 (audio and captions, once)", n)
	}
	e.clock.Advance(e.cfg.SignedURLTTL/4 - time.Second)
	if r := poll(); r.body["audio_url"] != first.body["audio_url"] || signer.calls.Load() != 2 {
		t.Fatalf("within the first quarter: new URLs or signatures (%d)", signer.calls.Load())
	}
	e.clock.Advance(2 * time.Second)
	if r := poll(); r.body["audio_url"] == first.body["audio_url"] || signer.calls.Load() != 4 {
		t.Fatalf("past a quarter of the TTL: same URL %v, %d signatures; want a fresh pair (4)", r.body["audio_url"] == first.body["audio_url"], signer.calls.Load())
	}

	// Concurrent first polls of another job share one signing.
	k := e.succeeded("signed together")
	for range 8 {
		wg.Go(func() {
			if r := e.do(http.MethodGet, "/api/status?id="+k.ID, "", nil); r.status != http.StatusOK {
				t.Errorf("concurrent poll: %d %s", r.status, r.raw)
			}
		})
	}
	wg.Wait()
	if n := signer.calls.Load(); n != 6 {
		t.Fatalf("8 concurrent first polls made %d signatures, want 2", n-4)
	}
}

// Issue 14, item 4: signing has a deadline: a signBlob that does not
// answer gives 503 unavailable with Retry-After, not a request that hangs
// (the storage library signs on context.Background()).
func TestStatusSigningHasADeadline(t *testing.T) {
	e := newEnv(t, nil)
	signer := e.withRemoteSigner(200 * time.Millisecond)
	signer.hang.Store(true)
	j := e.succeeded("never signed")
	r := e.do(http.MethodGet, "/api/status?id="+j.ID, "", nil)
	if code, _ := r.errCode(); r.status != http.StatusServiceUnavailable || code != "unavailable" || r.header.Get("Retry-After") == "" {
		t.Fatalf("status while signBlob hangs: %d %s", r.status, r.raw)
	}
	signer.hang.Store(false)
	if r := e.do(http.MethodGet, "/api/status?id="+j.ID, "", nil); r.status != http.StatusOK || r.body["audio_url"] == nil {
		t.Fatalf("once signBlob answers: %d %s", r.status, r.raw)
	}
}

// Issue 14, item 4: a long poll (?wait=) is answered the moment its job
// ends, with the signed URLs; a job that does not end is answered with its
// state when the wait is up; a long poll costs one token.
func TestStatusLongPollAnswersWhenTheJobEnds(t *testing.T) {
	e := newEnv(t, func(c *config.Functions) { c.StatusRatePerMinute, c.StatusRateBurst = 1, 3 })
	e.clock.Freeze()
	j := e.queued("wait for me")
	got := make(chan resp, 1)
	go func() { got <- e.do(http.MethodGet, "/api/status?id="+j.ID+"&wait=20", "", nil) }()
	ctx := context.Background()
	if _, o, err := e.st.Claim(ctx, j.ID, "w1", time.Minute); err != nil || o != store.Claimed {
		t.Fatal(o, err)
	}
	if err := e.st.Succeed(ctx, j.ID, "w1", job.Output{Bucket: e.cfg.AudioBucket, Object: j.ObjectName(), Bytes: 44,
		DurationSeconds: 1, SampleRate: 22050, WrittenAt: time.Now().UTC()}, "cpu"); err != nil {
		t.Fatal(err)
	}
	// Had the poll not seen the end, it would answer queued or running
	// when its 20 s are up.
	if r := <-got; r.status != http.StatusOK || r.body["status"] != "succeeded" || r.body["audio_url"] == nil {
		t.Fatalf("long poll: %d %s, want the job succeeded with its URL", r.status, r.raw)
	}

	idle := e.queued("nobody runs me")
	if r := e.do(http.MethodGet, "/api/status?id="+idle.ID+"&wait=1", "", nil); r.status != http.StatusOK || r.body["status"] != "queued" {
		t.Fatalf("a long poll on a job that does not end: %d %s, want its state when the wait is up", r.status, r.raw)
	}
	// Two long polls and one plain poll spent the burst of 3.
	if r := e.do(http.MethodGet, "/api/status?id="+idle.ID+"&wait=1", "", nil); r.status != http.StatusOK {
		t.Fatalf("third poll: %d %s", r.status, r.raw)
	}
	if r := e.do(http.MethodGet, "/api/status?id="+idle.ID+"&wait=1", "", nil); r.status != http.StatusTooManyRequests {
		t.Fatalf("fourth poll of a burst of 3: %d %s, want 429: a long poll costs one token", r.status, r.raw)
	}
}

func TestStatusWaitIsValidated(t *testing.T) {
	e := newEnv(t, nil)
	j := e.queued("x")
	for _, q := range []string{"?id=" + j.ID + "&wait=-1", "?id=" + j.ID + "&wait=21", "?id=" + j.ID + "&wait=1.5",
		"?id=" + j.ID + "&wait=soon", "?id=" + j.ID + "&wait=1&wait=2", "?batch=" + job.NewID() + "&wait=5"} {
		r := e.do(http.MethodGet, "/api/status"+q, "", nil)
		if code, field := r.errCode(); r.status != http.StatusBadRequest || code != "invalid_wait" || field != "wait" {
			t.Errorf("status%s: %d %s, want 400 invalid_wait", q, r.status, r.raw)
		}
	}
	if r := e.do(http.MethodGet, "/api/status?id="+j.ID+"&wait=0", "", nil); r.status != http.StatusOK || r.body["status"] != "queued" {
		t.Errorf("wait=0: %d %s, want an answer at once", r.status, r.raw)
	}
}
