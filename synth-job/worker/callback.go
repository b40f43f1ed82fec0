package worker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"sync"
	"syscall"
	"time"

	"cloud.google.com/go/pubsub/v2"

	"github.com/chorus-voice/chorus/shared/callback"
	"github.com/chorus-voice/chorus/shared/message"
	"github.com/chorus-voice/chorus/shared/queue"
)

// Callbacks. A client that gave a callback_url gets each completion of its
// jobs (and of its batch) POSTed there, with the same JSON body as the
// synthesis-completed message, signed with the deployment's Ed25519 keys
// for that receiver (shared/callback: the signature covers the timestamp,
// the job or batch id, the callback_url and the body).
//
// A few receivers must not be able to hold everyone's callbacks back:
//
//   - timeouts are short (connect and TLS 3 s, response headers 5 s, the
//     whole exchange 10 s);
//   - each host gets at most hostInFlight requests at once and holds at
//     most hostHeld messages (in flight or waiting); beyond that its
//     messages are handed back to Pub/Sub, which redelivers them later;
//   - a host that failed hostDeadAfter deliveries without ever answering
//     2xx (to this process) gets no more: its callbacks are dropped;
//   - the URL rule (https on port 443 to a public host) is checked again
//     before each delivery, and the dialer refuses non-public addresses
//     whatever a name resolves to; a name that does not resolve is a
//     final failure, as is a 4xx other than 408 and 429.
//
// Delivery is retried with Pub/Sub's backoff (the callbacks subscription's
// retry policy) while the receiver is unreachable or answers 5xx, 408 or
// 429; after the subscription's attempts the message is dead-lettered.

const (
	hostInFlight  = 4
	hostHeld      = 16
	hostDeadAfter = 3
	// maxHosts bounds the hosts remembered; the least recently used idle
	// one is forgotten first.
	maxHosts = 4096

	callbackDialTimeout    = 3 * time.Second
	callbackHeaderTimeout  = 5 * time.Second
	callbackRequestTimeout = 10 * time.Second
)

// callbackReceiveSettings: enough messages in hand that a few full hosts
// (hostHeld each) leave room for everyone else's.
var callbackReceiveSettings = pubsub.ReceiveSettings{MaxOutstandingMessages: 256, NumGoroutines: 1}

// errForbiddenAddress: the callback's host resolved to an address callbacks
// must not reach.
var errForbiddenAddress = errors.New("callback address is not public")

// callbackClient makes the HTTP client callbacks are sent with: its dialer
// refuses non-public addresses after resolution, it follows no redirect (a
// redirect could lead anywhere), and its timeouts are short. resolver nil
// is the system's.
func callbackClient(allowLoopback bool, resolver *net.Resolver) *http.Client {
	dialer := &net.Dialer{Timeout: callbackDialTimeout, Resolver: resolver, Control: func(_, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return fmt.Errorf("%w: %s", errForbiddenAddress, address)
		}
		if !callback.PublicAddress(ap.Addr(), allowLoopback) {
			return fmt.Errorf("%w: %s", errForbiddenAddress, ap.Addr())
		}
		return nil
	}}
	tr := &http.Transport{DialContext: dialer.DialContext, Proxy: nil, TLSHandshakeTimeout: callbackDialTimeout,
		ResponseHeaderTimeout: callbackHeaderTimeout, MaxIdleConns: 64, MaxConnsPerHost: hostInFlight,
		IdleConnTimeout: 30 * time.Second}
	return &http.Client{Transport: tr, Timeout: callbackRequestTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// callbacks delivers completion messages to their callback URL.
type callbacks struct {
	signer        *callback.Signer
	allowLoopback bool
	client        *http.Client
	hosts         *hosts
	log           *slog.Logger
	now           func() time.Time
}

func newCallbacks(signingKeys string, allowLoopback bool, log *slog.Logger) (*callbacks, error) {
	signer, err := callback.ParseSigningKeys([]byte(signingKeys))
	if err != nil {
		return nil, fmt.Errorf("worker: callback signing keys: %w", err)
	}
	return &callbacks{signer: signer, allowLoopback: allowLoopback, client: callbackClient(allowLoopback, nil),
		hosts: newHosts(), log: log, now: time.Now}, nil
}

// deliver takes one completion message to an end: ack once delivered, or
// when it has no callback or a final refusal; nack to retry later.
func (c *callbacks) deliver(ctx context.Context, m *pubsub.Message) {
	raw := m.Attributes[queue.AttrCallbackURL]
	if raw == "" {
		m.Ack()
		return
	}
	log := c.log.With("callback", redact(raw), "job_id", m.Attributes[queue.AttrJobID], "batch_id", m.Attributes[queue.AttrBatchID],
		"attempt", attempt(m))
	target, err := callback.Parse(raw, c.allowLoopback)
	if err != nil {
		log.WarnContext(ctx, "callback URL refused; dropping", "error", err)
		m.Ack()
		return
	}
	completion, err := message.DecodeCompletion(m.Data)
	if err != nil {
		log.WarnContext(ctx, "completion unreadable; dropping its callback", "error", err)
		m.Ack()
		return
	}
	id := completion.JobID
	if completion.Kind == message.KindBatch {
		id = completion.BatchID
	}
	log = log.With("host", target.Host)

	release, verdict := c.hosts.enter(ctx, target.Host)
	switch verdict {
	case hostDead:
		log.WarnContext(ctx, "callback host never accepted a callback; dropping", "failures", hostDeadAfter)
		m.Ack()
		return
	case hostFull:
		log.InfoContext(ctx, "callback host has enough in hand; handing back for later", "held", hostHeld)
		m.Nack()
		return
	case hostCancelled:
		m.Nack()
		return
	}
	defer release()

	req, err := http.NewRequestWithContext(ctx, http.MethodPost, raw, bytes.NewReader(m.Data))
	if err != nil {
		log.WarnContext(ctx, "callback request; dropping", "error", err)
		m.Ack()
		return
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Chorus-Callback/2")
	if err := c.signer.Sign(req.Header, c.now(), id, raw, m.Data); err != nil {
		log.ErrorContext(ctx, "callback signing; dropping", "error", err)
		m.Ack()
		return
	}
	resp, err := c.client.Do(req)
	if err != nil {
		var dnsErr *net.DNSError
		switch {
		case errors.Is(err, errForbiddenAddress):
			c.hosts.failed(target.Host)
			log.WarnContext(ctx, "callback host is not a public address; dropping", "error", err)
			m.Ack()
		case errors.As(err, &dnsErr) && dnsErr.IsNotFound:
			c.hosts.failed(target.Host)
			log.WarnContext(ctx, "callback host name does not resolve; dropping", "error", err)
			m.Ack()
		case ctx.Err() != nil:
			m.Nack() // shutting down: not the receiver's fault
		default:
			c.hosts.failed(target.Host)
			log.WarnContext(ctx, "callback failed; will retry", "error", err)
			m.Nack()
		}
		return
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		c.hosts.answered(target.Host)
		log.InfoContext(ctx, "callback delivered", "status", code)
		m.Ack()
	case code >= 500 || code == http.StatusRequestTimeout || code == http.StatusTooManyRequests:
		c.hosts.failed(target.Host)
		log.WarnContext(ctx, "callback refused for now; will retry", "status", code)
		m.Nack()
	default:
		c.hosts.failed(target.Host)
		log.WarnContext(ctx, "callback refused; dropping", "status", code)
		m.Ack()
	}
}

// redact keeps a URL's scheme, host and path for logs, not its query
// (which may carry a client's token).
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable)"
	}
	u.RawQuery, u.Fragment, u.User = "", "", nil
	return u.String()
}

// hostVerdict is what hosts.enter decided.
type hostVerdict int

const (
	hostGo        hostVerdict = iota // a slot is held: deliver, then release
	hostFull                         // the host holds hostHeld messages already
	hostDead                         // the host never answered 2xx and failed hostDeadAfter times
	hostCancelled                    // ctx ended while waiting for a slot
)

// hosts is what the worker remembers of each callback host: its delivery
// slots, the messages it holds, whether it ever answered 2xx and how often
// it failed. It is safe for concurrent use.
type hosts struct {
	mu   sync.Mutex
	m    map[string]*hostState
	tick uint64 // a logical clock for least-recently-used eviction
}

type hostState struct {
	slots    chan struct{}
	held     int
	ok       bool
	failures int
	used     uint64
}

func newHosts() *hosts { return &hosts{m: map[string]*hostState{}} }

// enter takes a delivery slot of host, waiting while its hostInFlight
// slots are busy, unless the host is dead or already holds hostHeld
// messages. With hostGo the caller must call release.
func (h *hosts) enter(ctx context.Context, host string) (release func(), v hostVerdict) {
	h.mu.Lock()
	s := h.state(host)
	switch {
	case !s.ok && s.failures >= hostDeadAfter:
		h.mu.Unlock()
		return nil, hostDead
	case s.held >= hostHeld:
		h.mu.Unlock()
		return nil, hostFull
	}
	s.held++
	h.mu.Unlock()
	leave := func() {
		h.mu.Lock()
		s.held--
		h.mu.Unlock()
	}
	select {
	case s.slots <- struct{}{}:
	case <-ctx.Done():
		leave()
		return nil, hostCancelled
	}
	// The host may have been judged dead while this message waited.
	h.mu.Lock()
	dead := !s.ok && s.failures >= hostDeadAfter
	h.mu.Unlock()
	if dead {
		<-s.slots
		leave()
		return nil, hostDead
	}
	return func() { <-s.slots; leave() }, hostGo
}

// state returns host's entry, making one (and forgetting the least
// recently used idle host when full). h.mu is held.
func (h *hosts) state(host string) *hostState {
	h.tick++
	if s, ok := h.m[host]; ok {
		s.used = h.tick
		return s
	}
	if len(h.m) >= maxHosts {
		var oldest string
		for name, s := range h.m {
			if s.held == 0 && (oldest == "" || s.used < h.m[oldest].used) {
				oldest = name
			}
		}
		delete(h.m, oldest) // every host busy: the map grows past maxHosts until one is idle
	}
	s := &hostState{slots: make(chan struct{}, hostInFlight), used: h.tick}
	h.m[host] = s
	return s
}

func (h *hosts) answered(host string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.state(host).ok = true
}

func (h *hosts) failed(host string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.state(host).failures++
}
