package engine

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/chorus-voice/chorus/synth-job/voice"
)

// fakeSessions creates sessions that only count creations (by provider)
// and destructions. A create waits for gate when it is set.
type fakeSessions struct {
	created, destroyed atomic.Int64
	gate               chan struct{}
	mu                 sync.Mutex
	byProvider         map[string]int
}

func (f *fakeSessions) create(v *voice.Voice, provider string) (*session, error) {
	if f.gate != nil {
		<-f.gate
	}
	f.created.Add(1)
	f.mu.Lock()
	if f.byProvider == nil {
		f.byProvider = map[string]int{}
	}
	f.byProvider[provider]++
	f.mu.Unlock()
	return newSession(provider, func() (*instance, error) {
		return &instance{destroy: func() { f.destroyed.Add(1) }}, nil
	})
}

func (f *fakeSessions) cache(capacity int) *sessionCache {
	return newSessionCache(capacity, singleSpeaker, f.create)
}

func v(path string) *voice.Voice { return &voice.Voice{Name: path, ModelPath: path} }

// acquireSession takes voice p's entry and its session on provider.
func acquireSession(t *testing.T, c *sessionCache, p, provider string) *voiceSessions {
	t.Helper()
	vs, err := c.acquire(v(p))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := vs.get(context.Background(), provider); err != nil {
		t.Fatal(err)
	}
	return vs
}

func TestCacheEvictsInUseSessionAfterLastRelease(t *testing.T) {
	f := &fakeSessions{}
	c := f.cache(1)
	a := acquireSession(t, c, "a", ProviderAuto)
	a2 := acquireSession(t, c, "a", ProviderAuto) // second user of the same session
	b := acquireSession(t, c, "b", ProviderAuto)  // evicts a, which is in use
	if f.created.Load() != 2 || c.len() != 1 {
		t.Fatalf("created %d, cached %d", f.created.Load(), c.len())
	}
	if f.destroyed.Load() != 0 {
		t.Fatal("session destroyed while in use")
	}
	c.release(a)
	if f.destroyed.Load() != 0 {
		t.Fatal("session destroyed before its last release")
	}
	c.release(a2)
	if f.destroyed.Load() != 1 {
		t.Fatalf("evicted session not destroyed after its last release (%d)", f.destroyed.Load())
	}
	c.release(b)
	if f.destroyed.Load() != 1 {
		t.Fatal("cached session destroyed on release")
	}
	c.close()
	if f.destroyed.Load() != 2 {
		t.Fatalf("close destroyed %d of 2", f.destroyed.Load())
	}
	if _, err := c.acquire(v("a")); err != errClosed {
		t.Fatalf("acquire after close: %v", err)
	}
}

func TestCacheLoadsOnceForConcurrentCallers(t *testing.T) {
	f := &fakeSessions{gate: make(chan struct{})}
	c := f.cache(2)
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			vs, err := c.acquire(v("a"))
			if err != nil {
				t.Error(err)
				return
			}
			defer c.release(vs)
			if _, err := vs.get(context.Background(), ProviderAuto); err != nil {
				t.Error(err)
			}
		})
	}
	close(f.gate)
	wg.Wait()
	if n := f.created.Load(); n != 1 {
		t.Errorf("created %d sessions for one voice, want 1", n)
	}
}

func TestCacheLRUOrder(t *testing.T) {
	f := &fakeSessions{}
	c := f.cache(2)
	for _, k := range []string{"a", "b", "a", "c"} { // c evicts b, the least recently used
		c.release(acquireSession(t, c, k, ProviderAuto))
	}
	c.mu.Lock()
	_, hasA := c.byKey["a"]
	_, hasB := c.byKey["b"]
	c.mu.Unlock()
	if !hasA || hasB {
		t.Errorf("after a b a c with capacity 2: a cached %v, b cached %v", hasA, hasB)
	}
}

// The capacity counts voices: two voices, each with its session and its
// CPU-offload session, fit in a cache of two and never evict each other.
func TestCacheCountsVoicesNotSessions(t *testing.T) {
	f := &fakeSessions{}
	c := f.cache(2)
	for range 3 {
		for _, k := range []string{"a", "b"} {
			for _, p := range []string{ProviderAuto, ProviderCPU} {
				c.release(acquireSession(t, c, k, p))
			}
		}
	}
	if n, d := f.created.Load(), f.destroyed.Load(); n != 4 || d != 0 || c.len() != 2 || c.sessions() != 4 {
		t.Errorf("created %d, destroyed %d, voices %d, sessions %d; want 4 sessions of 2 voices, none destroyed",
			n, d, c.len(), c.sessions())
	}
	c.close()
	if d := f.destroyed.Load(); d != 4 {
		t.Errorf("close destroyed %d of 4", d)
	}
}

// A voice whose model does not pass inspection never enters the cache.
func TestCacheRejectsAVoiceThatFailsInspection(t *testing.T) {
	f := &fakeSessions{}
	c := newSessionCache(2, func(*voice.Voice) (voice.Batching, error) { return 0, voice.ErrInvalid }, f.create)
	if _, err := c.acquire(v("a")); err != voice.ErrInvalid || c.len() != 0 || f.created.Load() != 0 {
		t.Errorf("acquire: %v, %d voices cached, %d sessions created", err, c.len(), f.created.Load())
	}
}
