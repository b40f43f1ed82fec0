package worker_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"golang.org/x/net/dns/dnsmessage"

	"github.com/chorus-voice/chorus/scripts/emulators"
	"github.com/chorus-voice/chorus/shared/callback"
	"github.com/chorus-voice/chorus/shared/job"
	"github.com/chorus-voice/chorus/shared/message"
	"github.com/chorus-voice/chorus/shared/queue"
	"github.com/chorus-voice/chorus/synth-job/worker"
)

// callbackWorld is a world whose worker delivers callbacks from its own
// completion topic, and records what it logs.
type callbackWorld struct {
	*world
	completed string
	keys      *callback.KeySet
	logs      *logRecorder
}

func newCallbackWorld(t *testing.T) *callbackWorld {
	t.Helper()
	w := newWorld(t)
	completed, callbacks := w.topic+"-completed", w.topic+"-callbacks"
	if err := emulators.EnsureTopology(context.Background(), w.ps, emulators.Topology{ProjectID: project, Topic: w.topic,
		Subscription: w.cfg.Subscription, DeadLetterTopic: w.cfg.DeadLetterTopic, MaxDeliveryAttempts: 5,
		AckDeadline: 10 * time.Second, MinBackoff: time.Second, MaxBackoff: 2 * time.Second,
		CompletionTopic: completed, CompletionSubscriptions: []string{callbacks}}); err != nil {
		t.Fatal(err)
	}
	signing, public := signingKeys(t)
	w.cfg.CompletionTopic, w.cfg.CallbackSubscription, w.cfg.CallbackSigningKeys, w.cfg.CallbackAllowLoopback = completed, callbacks, signing, true
	if err := w.cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return &callbackWorld{world: w, completed: completed, keys: public, logs: &logRecorder{n: map[string]int{}}}
}

// newWorker makes the worker (logging to the recorder); run starts it.
func (w *callbackWorld) newWorker() *worker.Worker {
	return worker.New(worker.Deps{Config: w.cfg, Store: w.st, PubSub: w.ps, Audio: w.gcs.Bucket(w.cfg.AudioBucket), Synth: w.synth,
		Logger: slog.New(w.logs)})
}

func (w *callbackWorld) run(wk *worker.Worker) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- wk.Run(ctx, worker.Serve) }()
	w.t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			w.t.Error("worker did not stop within 30 s of cancel")
		}
	})
}

// completion publishes a job's completion for the callback URL target and
// returns the job id.
func (w *callbackWorld) completion(target string) string {
	w.t.Helper()
	id := job.NewID()
	c := &message.Completion{V: message.Version, Kind: message.KindJob, Status: string(job.Succeeded), JobID: id,
		FinishedAt: time.Now().UTC().Format(time.RFC3339Nano)}
	data, err := c.Encode()
	if err != nil {
		w.t.Fatal(err)
	}
	p := w.ps.Publisher(w.completed)
	defer p.Stop()
	attrs := map[string]string{queue.AttrKind: c.Kind, queue.AttrJobID: id, queue.AttrCallbackURL: target}
	if _, err := p.Publish(context.Background(), &pubsub.Message{Data: data, Attributes: attrs}).Get(context.Background()); err != nil {
		w.t.Fatal(err)
	}
	return id
}

// logRecorder is a slog.Handler that counts records by message.
type logRecorder struct {
	mu sync.Mutex
	n  map[string]int
}

func (l *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (l *logRecorder) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.n[r.Message]++
	return nil
}
func (l *logRecorder) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logRecorder) WithGroup(string) slog.Handler      { return l }

func (l *logRecorder) count(msg string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.n[msg]
}

// waitFor polls cond until it holds or within passed.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, within)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// slowHost answers nothing: each request waits until the worker gives up
// (or the test ends: close release).
type slowHost struct {
	requests, inflight, maxInflight, ended atomic.Int64
	release                                chan struct{}
	mu                                     sync.Mutex
	longest                                time.Duration
}

func (h *slowHost) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	_, _ = io.Copy(io.Discard, r.Body) // so that the server notices the client hanging up
	h.requests.Add(1)
	n := h.inflight.Add(1)
	for m := h.maxInflight.Load(); n > m && !h.maxInflight.CompareAndSwap(m, n); m = h.maxInflight.Load() {
	}
	select {
	case <-r.Context().Done(): // the client hung up
	case <-h.release:
	}
	h.inflight.Add(-1)
	h.mu.Lock()
	h.longest = max(h.longest, time.Since(start))
	h.mu.Unlock()
	h.ended.Add(1)
}

// Issue 15 item 5. A receiver that never answers gets a few requests at
// once and short timeouts, then no more (it never answered 2xx): it cannot
// hold back another receiver's callbacks, although 40 of its callbacks
// were queued before the other's 5.
func TestSlowCallbackHostsCannotHoldOthersBack(t *testing.T) {
	w := newCallbackWorld(t)
	slow := &slowHost{release: make(chan struct{})}
	slowSrv := httptest.NewServer(slow)
	defer slowSrv.Close()
	defer close(slow.release)
	fast := &receiver{keys: w.keys}
	fastSrv := httptest.NewServer(fast)
	defer fastSrv.Close()
	fast.url = func(req *http.Request) string { return fastSrv.URL + req.URL.RequestURI() }

	// Two hosts: "localhost" (slow) and "127.0.0.1" (fast).
	slowURL := strings.Replace(slowSrv.URL, "127.0.0.1", "localhost", 1) + "/hook"
	for range 40 {
		w.completion(slowURL)
	}
	for range 5 {
		w.completion(fastSrv.URL + "/hook")
	}
	w.run(w.newWorker())

	waitFor(t, 20*time.Second, "the fast receiver's 5 callbacks while the slow host hangs", func() bool {
		fast.mu.Lock()
		defer fast.mu.Unlock()
		return len(fast.got) >= 5
	})
	fast.mu.Lock()
	if len(fast.got) != 5 || fast.bad != 0 {
		t.Fatalf("fast receiver: %d verified, %d refused", len(fast.got), fast.bad)
	}
	fast.mu.Unlock()

	// The slow host's requests time out, it is judged dead, and its other
	// callbacks are dropped without a request.
	waitFor(t, 30*time.Second, "the slow host's requests to time out", func() bool { return slow.ended.Load() >= 4 })
	const dropped = "callback host never accepted a callback; dropping"
	waitFor(t, 30*time.Second, "the slow host's other callbacks to be dropped", func() bool { return w.logs.count(dropped) >= 20 })
	if got := slow.maxInflight.Load(); got > 4 {
		t.Errorf("slow host had %d requests at once, want at most 4", got)
	}
	if got := slow.requests.Load(); got > 8 {
		t.Errorf("slow host got %d requests for 40 callbacks, want it given up on after a few", got)
	}
	slow.mu.Lock()
	defer slow.mu.Unlock()
	if slow.longest > 15*time.Second {
		t.Errorf("a callback request lasted %s, want a short timeout", slow.longest)
	}
}

// A callback host whose name does not resolve (NXDOMAIN) is a final
// failure: dropped, not retried.
func TestUnresolvableCallbackHostIsFinal(t *testing.T) {
	w := newCallbackWorld(t)
	dns := nxdomainServer(t)
	wk := w.newWorker()
	worker.SetCallbackResolver(wk, &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "udp", dns)
	}})
	w.completion("https://hooks.chorus-nowhere.net/cb")
	w.run(wk)
	const final, retry = "callback host name does not resolve; dropping", "callback failed; will retry"
	waitFor(t, 20*time.Second, "the unresolvable callback to be settled", func() bool { return w.logs.count(final)+w.logs.count(retry) > 0 })
	if w.logs.count(retry) != 0 || w.logs.count(final) != 1 {
		t.Fatalf("logged %q %d times and %q %d times", final, w.logs.count(final), retry, w.logs.count(retry))
	}
}

// nxdomainServer answers every DNS question with NXDOMAIN; it returns its
// UDP address.
func nxdomainServer(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 1500)
		for {
			n, addr, err := pc.ReadFrom(buf)
			if err != nil {
				return // closed
			}
			var p dnsmessage.Parser
			h, err := p.Start(buf[:n])
			if err != nil {
				continue
			}
			q, err := p.Question()
			if err != nil {
				continue
			}
			b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: h.ID, Response: true, RecursionDesired: h.RecursionDesired,
				RecursionAvailable: true, Authoritative: true, RCode: dnsmessage.RCodeNameError})
			if b.StartQuestions() != nil || b.Question(q) != nil {
				continue
			}
			if out, err := b.Finish(); err == nil {
				_, _ = pc.WriteTo(out, addr)
			}
		}
	}()
	return pc.LocalAddr().String()
}
