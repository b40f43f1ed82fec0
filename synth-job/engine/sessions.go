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

// session is an open ONNX session of one voice model. The voice's cache
// entry is reference-counted, so that a voice evicted while a batch runs on
// it is destroyed only after its last Run.
type session struct {
	provider string // execution provider the session runs on
	// open makes a fresh instance of the model: at first, and to replace
	// one whose memory arena failed (see reset).
	open func() (*instance, error)

	// mu guards cur: runs hold it shared until their output is released;
	// reset and exclusive runs hold it alone. gen counts the instances.
	mu  sync.RWMutex
	cur *instance
	gen int64
}

// instance is one loaded copy of a model.
type instance struct {
	// run runs one batch; it may be called from several goroutines.
	run     func(*batchInput) (*batchOutput, error)
	destroy func()
}

var errSessionLost = errors.New("the model could not be reloaded after running out of memory")

// newSession loads the first instance of a model.
func newSession(provider string, open func() (*instance, error)) (*session, error) {
	inst, err := open()
	if err != nil {
		return nil, err
	}
	return &session{provider: provider, open: open, cur: inst}, nil
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

// loading is a session being created; later callers for the same voice
// and provider wait on done instead of creating a second one.
type loading struct {
	done chan struct{}
	s    *session
	err  error
}

// voiceSessions are the open sessions of one voice: one per requested
// provider (auto, and cpu for runs offloaded from the GPU), each opened
// when a run first needs it. The cache counts voices, not sessions, so a
// voice's CPU-offload session never evicts another voice.
type voiceSessions struct {
	key string
	// batching is how the voice's runs may mix speakers, read from the
	// model's declared inputs when the voice entered the cache.
	batching voice.Batching
	create   func(provider string) (*session, error)

	mu        sync.Mutex
	slots     map[string]*loading // by provider
	destroyed bool

	// Guarded by sessionCache.mu.
	refs    int
	evicted bool
	elem    *list.Element
}

// get returns the voice's session on provider, opening it on first use.
// Concurrent callers share one open; a failed open is not kept, so the
// next caller tries again.
func (vs *voiceSessions) get(ctx context.Context, provider string) (*session, error) {
	for {
		vs.mu.Lock()
		if vs.destroyed {
			vs.mu.Unlock()
			return nil, errClosed
		}
		l, ok := vs.slots[provider]
		if !ok {
			l = &loading{done: make(chan struct{})}
			vs.slots[provider] = l
			vs.mu.Unlock()
			s, err := vs.create(provider)
			vs.mu.Lock()
			l.s, l.err = s, err
			if err != nil {
				delete(vs.slots, provider)
			}
			destroyed := vs.destroyed
			vs.mu.Unlock()
			close(l.done)
			if destroyed && s != nil { // evicted while it loaded
				s.destroy()
				return nil, errClosed
			}
			return s, err
		}
		vs.mu.Unlock()
		select {
		case <-l.done:
			if l.err != nil {
				continue // the open failed: try again (or see destroyed)
			}
			return l.s, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// destroy frees every session of the voice (after the runs holding them);
// a session still opening is freed when its open ends.
func (vs *voiceSessions) destroy() {
	vs.mu.Lock()
	vs.destroyed = true
	var open []*session
	for _, l := range vs.slots {
		select {
		case <-l.done:
			if l.s != nil {
				open = append(open, l.s)
			}
		default: // get destroys it when the open ends
		}
	}
	vs.mu.Unlock()
	for _, s := range open {
		s.destroy()
	}
}

// sessions counts the voice's open sessions.
func (vs *voiceSessions) sessions() int {
	vs.mu.Lock()
	defer vs.mu.Unlock()
	n := 0
	for _, l := range vs.slots {
		select {
		case <-l.done:
			if l.s != nil {
				n++
			}
		default:
		}
	}
	return n
}

// sessionCache is a bounded LRU of voices with open sessions, keyed by
// model path. Its capacity counts voices: each voice holds at most one
// session per provider.
type sessionCache struct {
	capacity int
	// inspect checks a voice's model and says how its runs may batch;
	// create opens one of its sessions.
	inspect func(v *voice.Voice) (voice.Batching, error)
	create  func(v *voice.Voice, provider string) (*session, error)

	mu     sync.Mutex
	lru    *list.List // front = most recently used; values are *voiceSessions
	byKey  map[string]*voiceSessions
	closed bool
}

func newSessionCache(capacity int, inspect func(*voice.Voice) (voice.Batching, error),
	create func(*voice.Voice, string) (*session, error)) *sessionCache {
	return &sessionCache{
		capacity: max(capacity, 1),
		inspect:  inspect,
		create:   create,
		lru:      list.New(),
		byKey:    make(map[string]*voiceSessions),
	}
}

// acquire returns the voice's entry with a reference the caller must give
// back with release. It opens no session: the caller asks the entry for
// the sessions its runs need (get).
func (c *sessionCache) acquire(v *voice.Voice) (*voiceSessions, error) {
	key := v.ModelPath
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, errClosed
	}
	if vs, ok := c.byKey[key]; ok {
		vs.refs++
		c.lru.MoveToFront(vs.elem)
		c.mu.Unlock()
		return vs, nil
	}
	c.mu.Unlock()

	// Reading the declared ports is cheap (no session): two callers may
	// both do it, and the second one's entry is dropped.
	batching, err := c.inspect(v)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, errClosed
	}
	if vs, ok := c.byKey[key]; ok {
		vs.refs++
		c.lru.MoveToFront(vs.elem)
		return vs, nil
	}
	vs := &voiceSessions{key: key, batching: batching, slots: map[string]*loading{}, refs: 1,
		create: func(provider string) (*session, error) { return c.create(v, provider) }}
	vs.elem = c.lru.PushFront(vs)
	c.byKey[key] = vs
	for c.lru.Len() > c.capacity {
		c.evictLocked(c.lru.Back().Value.(*voiceSessions))
	}
	return vs, nil
}

// release gives back a reference from acquire.
func (c *sessionCache) release(vs *voiceSessions) {
	c.mu.Lock()
	vs.refs--
	destroy := vs.evicted && vs.refs == 0
	c.mu.Unlock()
	if destroy {
		vs.destroy()
	}
}

// evictLocked removes vs from the cache; its sessions are destroyed now if
// unused, else by the release of its last user. Callers hold c.mu.
func (c *sessionCache) evictLocked(vs *voiceSessions) {
	if vs.evicted {
		return
	}
	vs.evicted = true
	c.lru.Remove(vs.elem)
	delete(c.byKey, vs.key)
	if vs.refs == 0 {
		vs.destroy()
	}
}

// retire evicts vs so that later callers get fresh sessions; its sessions
// are destroyed after its last release.
func (c *sessionCache) retire(vs *voiceSessions) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byKey[vs.key] == vs {
		c.evictLocked(vs)
	}
}

// len reports how many voices the cache holds; sessions how many sessions
// they have open.
func (c *sessionCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}

func (c *sessionCache) sessions() int {
	c.mu.Lock()
	all := make([]*voiceSessions, 0, c.lru.Len())
	for e := c.lru.Front(); e != nil; e = e.Next() {
		all = append(all, e.Value.(*voiceSessions))
	}
	c.mu.Unlock()
	n := 0
	for _, vs := range all {
		n += vs.sessions()
	}
	return n
}

// close evicts every voice; sessions in use are destroyed after their
// last Run. acquire fails from now on.
func (c *sessionCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	for c.lru.Len() > 0 {
		c.evictLocked(c.lru.Back().Value.(*voiceSessions))
	}
}

func describeVoice(v *voice.Voice) string {
	if v == nil {
		return "<nil>"
	}
	return fmt.Sprintf("%s (%s)", v.Name, v.ModelPath)
}
