package engine

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chorus-voice/chorus/synth-job/voice"
)

// fakeSessions creates sessions that only count creations and destructions.
type fakeSessions struct {
	created, destroyed atomic.Int64
	delay              time.Duration
}

func (f *fakeSessions) create(v *voice.Voice, provider string) (*session, error) {
	time.Sleep(f.delay)
	f.created.Add(1)
	return newSession(0, provider, func() (*instance, error) {
		return &instance{destroy: func() { f.destroyed.Add(1) }}, nil
	})
}

func v(path string) *voice.Voice { return &voice.Voice{Name: path, ModelPath: path} }

func TestCacheEvictsInUseSessionAfterLastRelease(t *testing.T) {
	f := &fakeSessions{}
	c := newSessionCache(1, f.create)
	ctx := context.Background()
	a, err := c.acquire(ctx, v("a"), ProviderAuto)
	if err != nil {
		t.Fatal(err)
	}
	a2, _ := c.acquire(ctx, v("a"), ProviderAuto) // second user of the same session
	b, _ := c.acquire(ctx, v("b"), ProviderAuto)  // evicts a, which is in use
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
	if _, err := c.acquire(ctx, v("a"), ProviderAuto); err != errClosed {
		t.Fatalf("acquire after close: %v", err)
	}
}

func TestCacheLoadsOnceForConcurrentCallers(t *testing.T) {
	f := &fakeSessions{delay: 20 * time.Millisecond}
	c := newSessionCache(2, f.create)
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := c.acquire(context.Background(), v("a"), ProviderAuto)
			if err != nil {
				t.Error(err)
				return
			}
			c.release(s)
		}()
	}
	wg.Wait()
	if n := f.created.Load(); n != 1 {
		t.Errorf("created %d sessions for one voice, want 1", n)
	}
}

func TestCacheLRUOrder(t *testing.T) {
	f := &fakeSessions{}
	c := newSessionCache(2, f.create)
	ctx := context.Background()
	for _, k := range []string{"a", "b", "a", "c"} { // c evicts b, the least recently used
		s, _ := c.acquire(ctx, v(k), ProviderAuto)
		c.release(s)
	}
	c.mu.Lock()
	_, hasA := c.byKey["a\x00"+ProviderAuto]
	_, hasB := c.byKey["b\x00"+ProviderAuto]
	c.mu.Unlock()
	if !hasA || hasB {
		t.Errorf("after a b a c with capacity 2: a cached %v, b cached %v", hasA, hasB)
	}
}
