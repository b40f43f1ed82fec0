package api

import (
	"container/list"
	"context"
	"fmt"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
	"golang.org/x/sync/singleflight"

	"github.com/chorus-voice/chorus/shared/job"
)

// DefaultSignTimeout bounds the signatures of one status answer when
// Deps.SignTimeout is zero. In the cloud each is an IAM signBlob call.
const DefaultSignTimeout = 5 * time.Second

// reuseFraction is how much of a signed pair's lifetime status hands the
// same URLs out again: a poll within the first quarter gets them, so a
// client always has at least three quarters of a URL's lifetime left, and
// a polling client costs two signatures per job per quarter TTL instead
// of two per poll.
const reuseFraction = 4

// maxSignedPairs bounds the pairs an instance remembers (about 2 KB each).
const maxSignedPairs = 5000

// signedPair is the URLs status hands out for a succeeded job.
type signedPair struct {
	audio, captions string
	expires         time.Time // when both stop working
	signed          time.Time // the server's clock when they were made
}

// fresh reports whether the pair may still be handed out at now.
func (p signedPair) fresh(now time.Time) bool {
	return !now.Before(p.signed) && now.Before(p.signed.Add(p.expires.Sub(p.signed)/reuseFraction))
}

// signCache remembers each job's signed pair for a fraction of its
// lifetime, and makes concurrent polls of one job share one signing.
type signCache struct {
	mu      sync.Mutex
	entries map[string]*list.Element // of *cachedPair
	order   *list.List               // oldest first
	max     int
	flights singleflight.Group
}

type cachedPair struct {
	key  string
	pair signedPair
}

func newSignCache(max int) *signCache {
	return &signCache{entries: map[string]*list.Element{}, order: list.New(), max: max}
}

func (c *signCache) get(key string, now time.Time) (signedPair, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok {
		return signedPair{}, false
	}
	p := e.Value.(*cachedPair).pair
	if !p.fresh(now) {
		c.order.Remove(e)
		delete(c.entries, key)
		return signedPair{}, false
	}
	return p, true
}

func (c *signCache) put(key string, p signedPair) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[key]; ok {
		c.order.Remove(e)
	}
	for len(c.entries) >= c.max {
		oldest := c.order.Front()
		c.order.Remove(oldest)
		delete(c.entries, oldest.Value.(*cachedPair).key)
	}
	c.entries[key] = c.order.PushBack(&cachedPair{key: key, pair: p})
}

// signedURLs returns the audio and captions URLs of a succeeded job whose
// objects are deleted at gone: the pair signed by an earlier poll while it
// is fresh, else a new pair, both signed at once, within the sign timeout.
// Concurrent polls of one job share one signing, which no single poller's
// leaving cancels.
func (s *Server) signedURLs(ctx context.Context, j *job.Job, now, gone time.Time) (signedPair, error) {
	key := j.ID + "\x00" + j.Output.Object + "\x00" + j.Output.CaptionsObject
	if p, ok := s.signed.get(key, now); ok {
		return p, nil
	}
	ch := s.signed.flights.DoChan(key, func() (any, error) {
		if p, ok := s.signed.get(key, now); ok {
			return p, nil
		}
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.signTimeout)
		defer cancel()
		p := signedPair{signed: now}
		g, gctx := errgroup.WithContext(sctx)
		g.Go(func() error {
			u, exp, err := s.signer.SignUntil(gctx, j.Output.Object, now, gone)
			p.audio, p.expires = u, exp
			return err
		})
		// The captions live and expire with the audio (a result from
		// before captions has none).
		if c := j.Output.CaptionsObject; c != "" {
			g.Go(func() error {
				u, _, err := s.signer.SignUntil(gctx, c, now, gone)
				p.captions = u
				return err
			})
		}
		if err := g.Wait(); err != nil {
			return nil, fmt.Errorf("sign job %s: %w", j.ID, err)
		}
		s.signed.put(key, p)
		return p, nil
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return signedPair{}, r.Err
		}
		return r.Val.(signedPair), nil
	case <-ctx.Done():
		return signedPair{}, ctx.Err()
	}
}
