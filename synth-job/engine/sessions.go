package engine

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/chorus-voice/chorus/synth-job/voice"
)

// errClosed is returned after Close.
var errClosed = errors.New("engine is closed")

// session is an open ONNX session of one voice model, reference-counted so
// that an entry evicted from the cache while a batch runs on it is destroyed
// only after its last Run.
type session struct {
	key      string
	batching voice.Batching // how runs may mix speakers
	provider string         // execution provider the session runs on
	// open makes a fresh instance of the model: at first, and to replace
	// one whose memory arena failed (see reset).
	open func() (*instance, error)

	// mu guards cur: runs hold it shared until their output is released;
	// reset and exclusive runs hold it alone. gen counts the instances.
	mu  sync.RWMutex
	cur *instance
	gen int64

	// Guarded by sessionCache.mu.
	refs    int
	evicted bool
	elem    *list.Element
}

// instance is one loaded copy of a model.
type instance struct {
	// run runs one batch; it may be called from several goroutines.
	run     func(*batchInput) (*batchOutput, error)
	destroy func()
}

var errSessionLost = errors.New("the model could not be reloaded after running out of memory")

// newSession loads the first instance of a model.
func newSession(batching voice.Batching, provider string, open func() (*instance, error)) (*session, error) {
	inst, err := open()
	if err != nil {
		return nil, err
	}
	return &session{batching: batching, provider: provider, open: open, cur: inst}, nil
}

// runBatch runs in on the current instance, shared with other runs or,
// when exclusive, alone. The output's release ends the hold, so that the
// instance outlives every output read from it. gen names the instance.
func (s *session) runBatch(in *batchInput, exclusive bool) (out *batchOutput, gen int64, err error) {
	unlock := s.mu.RUnlock
	if exclusive {
		s.mu.Lock()
		unlock = s.mu.Unlock
	} else {
		s.mu.RLock()
	}
	if s.cur == nil {
		unlock()
		return nil, s.gen, errSessionLost
	}
	gen = s.gen
	out, err = s.cur.run(in)
	if err != nil {
		unlock()
		return nil, gen, err
	}
	release := out.release
	out.release = func() { release(); unlock() }
	return out, gen, nil
}

// reset replaces instance gen by a fresh one, once every run on it ended;
// a no-op when another caller already replaced it. ONNX Runtime's
// stream-aware CUDA arena was seen to keep memory of runs that failed for
// lack of it, until every later run of the instance failed too; a fresh
// instance starts with an empty arena.
func (s *session) reset(gen int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gen != gen {
		return nil
	}
	if s.cur != nil {
		s.cur.destroy()
		s.cur = nil
	}
	s.gen++
	inst, err := s.open()
	if err != nil {
		return fmt.Errorf("%w: %v", errSessionLost, err)
	}
	s.cur = inst
	return nil
}

// destroy frees the current instance (after the runs holding it).
func (s *session) destroy() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur != nil {
		s.cur.destroy()
		s.cur = nil
	}
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
