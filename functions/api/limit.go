package api

import (
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limiter is a per-client token bucket. It lives in one function instance,
// so the effective limit scales with the number of instances; it exists to
// stop one client from flooding the queue, not as a billing meter.
type Limiter struct {
	mu      sync.Mutex
	perMin  int
	burst   int
	max     int
	clients map[string]*clientLimit
}

type clientLimit struct {
	lim  *rate.Limiter
	seen time.Time
}

// NewLimiter allows perMinute requests per client with the given burst and
// remembers at most maxClients clients (the least recently seen are
// forgotten). perMinute 0 disables limiting.
func NewLimiter(perMinute, burst, maxClients int) *Limiter {
	if burst < 1 {
		burst = 1
	}
	return &Limiter{perMin: perMinute, burst: burst, max: maxClients, clients: map[string]*clientLimit{}}
}

// Allow takes a token for key, or says how long to wait for one.
func (l *Limiter) Allow(key string) (bool, time.Duration) {
	if l.perMin <= 0 {
		return true, 0
	}
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	c, ok := l.clients[key]
	if !ok {
		if len(l.clients) >= l.max {
			l.evict(now)
		}
		c = &clientLimit{lim: rate.NewLimiter(rate.Limit(float64(l.perMin)/60), l.burst)}
		l.clients[key] = c
	}
	c.seen = now
	r := c.lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// evict forgets clients idle long enough to have a full bucket again, or
// failing that the oldest half.
func (l *Limiter) evict(now time.Time) {
	full := time.Duration(float64(l.burst)/float64(l.perMin)*60) * time.Second
	for k, c := range l.clients {
		if now.Sub(c.seen) > full {
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

// clientKey identifies a caller. Behind Google's front end the client's
// address is the last entry Google appended to X-Forwarded-For; entries
// before it are client-supplied and untrusted.
func clientKey(r *http.Request) string {
	if xff := r.Header.Get("X-Forwarded-For"); xff != "" {
		parts := strings.Split(xff, ",")
		if ip := strings.TrimSpace(parts[len(parts)-1]); ip != "" {
			return ip
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
