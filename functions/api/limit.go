package api

import (
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Limiter is a per-client token bucket counted in jobs: a request for n
// jobs (a batch of n items) takes n tokens, so batching does not multiply
// a client's job rate. A batch larger than the burst is admitted only from
// a full bucket and leaves it in debt, which later requests wait out. It
// lives in one function instance, so the effective limit scales with the
// number of instances; it exists to stop one client from flooding the
// queue, not as a billing meter.
type Limiter struct {
	mu      sync.Mutex
	rate    float64 // tokens per second
	burst   float64
	max     int
	clients map[string]*bucket
	now     func() time.Time
}

type bucket struct {
	tokens float64 // may be negative: debt from a batch larger than the burst
	last   time.Time
}

// NewLimiter allows perMinute jobs per client with the given burst and
// remembers at most maxClients clients (the least recently seen are
// forgotten). perMinute 0 disables limiting.
func NewLimiter(perMinute, burst, maxClients int) *Limiter {
	return &Limiter{rate: float64(perMinute) / 60, burst: float64(max(burst, 1)), max: maxClients,
		clients: map[string]*bucket{}, now: time.Now}
}

// Take takes n tokens for key, or says how long to wait until a request
// for n could be admitted (without jitter: see retryAfter). Take with n 0
// takes nothing but refuses a client with less than one token.
func (l *Limiter) Take(key string, n int) (bool, time.Duration) {
	if l.rate <= 0 {
		return true, 0
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.clients[key]
	if !ok {
		if len(l.clients) >= l.max {
			l.evict(now)
		}
		b = &bucket{tokens: l.burst, last: now}
		l.clients[key] = b
	}
	b.tokens = min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.rate)
	b.last = now
	need := min(float64(max(n, 1)), l.burst)
	if b.tokens < need {
		return false, time.Duration((need - b.tokens) / l.rate * float64(time.Second))
	}
	b.tokens -= float64(n)
	return true, 0
}

// retryAfter spreads the clients that were refused together: the wait plus
// up to as much again (at least a second), so that they do not all come
// back in the same instant.
func retryAfter(wait time.Duration) time.Duration {
	return wait + rand.N(max(wait, time.Second))
}

// evict forgets clients whose bucket has refilled (they are as good as
// new), or failing that the oldest half.
func (l *Limiter) evict(now time.Time) {
	for k, b := range l.clients {
		if b.tokens+now.Sub(b.last).Seconds()*l.rate >= l.burst {
			delete(l.clients, k)
		}
	}
	if len(l.clients) < l.max {
		return
	}
	n := 0
	for k := range l.clients {
		delete(l.clients, k)
		if n++; n >= l.max/2 {
			break
		}
	}
}

// clientKey identifies a caller. With hops trusted proxies in front of the
// function (CHORUS_TRUSTED_PROXY_HOPS), each appended the address it saw
// to X-Forwarded-For, so the client's address is the hops-th entry from
// the right; entries before it are the client's own and untrusted. With
// no trusted proxy (the local stack) the header is ignored. A request with
// fewer entries than that did not come through the proxies: its peer
// address counts.
func clientKey(r *http.Request, hops int) string {
	if hops > 0 {
		var entries []string
		for _, h := range r.Header.Values("X-Forwarded-For") {
			for _, e := range strings.Split(h, ",") {
				entries = append(entries, strings.TrimSpace(e))
			}
		}
		if len(entries) >= hops {
			if ip := net.ParseIP(entries[len(entries)-hops]); ip != nil {
				return ip.String()
			}
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
