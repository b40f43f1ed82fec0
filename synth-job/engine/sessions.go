package engine

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/chorus-voice/chorus/synth-job/voice"
)

// errClosed is returned after Close.
var errClosed = errors.New("engine is closed")

// session is an open ONNX session of one voice model, reference-counted so
// that an entry evicted from the cache while a batch runs on it is destroyed
// only after its last Run.
type session struct {
	key string
	// run runs one batch; it may be called from several goroutines.
	run      func(*batchInput) (*batchOutput, error)
	batching voice.Batching // how runs may mix speakers
	provider string         // execution provider the session runs on
	destroy  func()         // frees the ONNX session

	// inflight counts the session's runs now; started counts all it ever
	// began. oomed is set once a run ran out of memory: ONNX Runtime's
	// stream-aware arena was seen to keep memory of failed runs, so such a
	// session is replaced.
	inflight, started atomic.Int64
	oomed             atomic.Bool

	// Guarded by sessionCache.mu.
	refs    int
	evicted bool
	elem    *list.Element
}

// loading is a session being created; later callers for the same model wait
// on done instead of creating a second one.
type loading struct {
	done chan struct{}
	s    *session
	err  error
}

// sessionCache is a bounded LRU of open sessions keyed by model path and
// requested provider (auto, or cpu for runs offloaded from the GPU).
type sessionCache struct {
	capacity int
	create   func(v *voice.Voice, provider string) (*session, error)

	mu      sync.Mutex
	lru     *list.List // front = most recently used; values are *session
	byKey   map[string]*session
	loading map[string]*loading
	closed  bool
}

func newSessionCache(capacity int, create func(*voice.Voice, string) (*session, error)) *sessionCache {
	return &sessionCache{
		capacity: max(capacity, 1),
		create:   create,
		lru:      list.New(),
		byKey:    make(map[string]*session),
		loading:  make(map[string]*loading),
	}
}

// acquire returns the voice's session on provider with a reference the
// caller must give back with release.
func (c *sessionCache) acquire(ctx context.Context, v *voice.Voice, provider string) (*session, error) {
	key := v.ModelPath + "\x00" + provider
	for {
		c.mu.Lock()
		if c.closed {
			c.mu.Unlock()
			return nil, errClosed
		}
		if s, ok := c.byKey[key]; ok {
			s.refs++
			c.lru.MoveToFront(s.elem)
			c.mu.Unlock()
			return s, nil
		}
		if l, ok := c.loading[key]; ok {
			c.mu.Unlock()
			select {
			case <-l.done:
				if l.err != nil {
					return nil, l.err
				}
				continue // now in byKey (or already evicted: loop and load again)
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		l := &loading{done: make(chan struct{})}
		c.loading[key] = l
		c.mu.Unlock()

		s, err := c.create(v, provider)

		c.mu.Lock()
		delete(c.loading, key)
		l.s, l.err = s, err
		close(l.done)
		if err != nil {
			c.mu.Unlock()
			return nil, err
		}
		if c.closed {
			c.mu.Unlock()
			s.destroy()
			return nil, errClosed
		}
		s.key = key
		s.refs = 1
		s.elem = c.lru.PushFront(s)
		c.byKey[key] = s
		for c.lru.Len() > c.capacity {
			c.evictLocked(c.lru.Back().Value.(*session))
		}
		c.mu.Unlock()
		return s, nil
	}
}

// release gives back a reference from acquire.
func (c *sessionCache) release(s *session) {
	c.mu.Lock()
	s.refs--
	destroy := s.evicted && s.refs == 0
	c.mu.Unlock()
	if destroy {
		s.destroy()
	}
}

// evictLocked removes s from the cache; it is destroyed now if unused, else
// by the release of its last user. Callers hold c.mu.
func (c *sessionCache) evictLocked(s *session) {
	if s.evicted {
		return
	}
	s.evicted = true
	c.lru.Remove(s.elem)
	delete(c.byKey, s.key)
	if s.refs == 0 {
		s.destroy()
	}
}

// retire evicts s so that later callers get a fresh session; s is
// destroyed after its last release.
func (c *sessionCache) retire(s *session) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byKey[s.key] == s {
		c.evictLocked(s)
	}
}

// len reports how many sessions are cached.
func (c *sessionCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}

// close evicts every session; sessions in use are destroyed after their
// last Run. acquire fails from now on.
func (c *sessionCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	for c.lru.Len() > 0 {
		c.evictLocked(c.lru.Back().Value.(*session))
	}
}

func describeVoice(v *voice.Voice) string {
	if v == nil {
		return "<nil>"
	}
	return fmt.Sprintf("%s (%s)", v.Name, v.ModelPath)
}
