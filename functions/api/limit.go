package api

import (
	"container/list"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// Limiter is a per-client token bucket counted in jobs: a request for n
// jobs (a batch of n items) takes n tokens, so batching does not multiply
// a client's job rate. A batch larger than the burst is admitted only from
// a full bucket and leaves it in debt, which later requests wait out. It
// lives in one function instance, so the effective limit scales with the
// number of instances (at most max instances × rate across the
// deployment); it exists to stop one client from flooding the queue, not
// as a billing meter.
//
// It remembers at most maxClients clients. When a new one arrives at the
// limit it forgets the least recently seen one, but never one in debt:
// forgetting a debtor would hand it a full bucket. While every remembered
// client is in debt the map grows past maxClients; debts are paid off at
// the rate, so it shrinks back.
type Limiter struct {
	mu      sync.Mutex
	rate    float64 // tokens per second
	burst   float64
	max     int
	clients map[string]*list.Element // of *bucket
	seen    *list.List               // most recently seen first
	now     func() time.Time
}

type bucket struct {
	key    string
	tokens float64 // may be negative: debt from a batch larger than the burst
	last   time.Time
}

// NewLimiter allows perMinute jobs per client with the given burst and
// remembers at most maxClients clients (see Limiter). perMinute 0 disables
// limiting.
func NewLimiter(perMinute, burst, maxClients int) *Limiter {
	return &Limiter{rate: float64(perMinute) / 60, burst: float64(max(burst, 1)), max: max(maxClients, 1),
		clients: map[string]*list.Element{}, seen: list.New(), now: time.Now}
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
	var b *bucket
	if e, ok := l.clients[key]; ok {
		b = e.Value.(*bucket)
		l.seen.MoveToFront(e)
	} else {
		if len(l.clients) >= l.max {
			l.evict(now)
		}
		b = &bucket{key: key, tokens: l.burst, last: now}
		l.clients[key] = l.seen.PushFront(b)
	}
	b.tokens = l.level(b, now)
	b.last = now
	need := min(float64(max(n, 1)), l.burst)
	if b.tokens < need {
		return false, time.Duration((need - b.tokens) / l.rate * float64(time.Second))
	}
	b.tokens -= float64(n)
	return true, 0
}

// level is b's tokens at now.
func (l *Limiter) level(b *bucket, now time.Time) float64 {
	return min(l.burst, b.tokens+max(now.Sub(b.last).Seconds(), 0)*l.rate)
}

// evict makes room for one client: it forgets the least recently seen
// client not in debt (the first it meets from the back of the list is
// usually one whose bucket has refilled). With every client in debt it
// forgets nobody.
func (l *Limiter) evict(now time.Time) {
	for e := l.seen.Back(); e != nil; e = e.Prev() {
		if l.level(e.Value.(*bucket), now) >= 0 {
			l.forget(e)
			return
		}
	}
}

func (l *Limiter) forget(e *list.Element) {
	delete(l.clients, e.Value.(*bucket).key)
	l.seen.Remove(e)
}

// Clients is how many clients the limiter remembers.
func (l *Limiter) Clients() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.clients)
}

// retryAfter spreads the clients that were refused together: the wait plus
// up to as much again (at least a second), so that they do not all come
// back in the same instant.
func retryAfter(wait time.Duration) time.Duration {
	return wait + rand.N(max(wait, time.Second))
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
			if ip, err := netip.ParseAddr(entries[len(entries)-hops]); err == nil {
				return addrKey(ip)
			}
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		return addrKey(ip)
	}
	return host
}

// addrKey is the limiter's key for a client address: an IPv4 address (or
// an IPv4-mapped IPv6 one) as itself, an IPv6 address by its /64. A /64 is
// what one subscriber line or host is given (RFC 6177), so one client can
// take as many addresses of it as it likes; counted one by one, a /64 would
// walk around the limit.
func addrKey(ip netip.Addr) string {
	ip = ip.Unmap().WithZone("")
	if ip.Is4() {
		return ip.String()
	}
	return netip.PrefixFrom(ip, 64).Masked().String()
}
