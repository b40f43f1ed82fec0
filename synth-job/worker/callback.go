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
	"strconv"
	"syscall"
	"time"

	"cloud.google.com/go/pubsub/v2"

	"github.com/chorus-voice/chorus/shared/callback"
	"github.com/chorus-voice/chorus/shared/queue"
)

// Callbacks. A client that gave a callback_url gets each completion of its
// jobs (and of its batch) POSTed there, with the same JSON body as the
// synthesis-completed message, signed:
//
//	X-Chorus-Timestamp: 1764530000
//	X-Chorus-Signature: v1=HEX(HMAC-SHA256(secret, timestamp + "." + body))
//
// Receivers check the signature and that the timestamp is recent. Delivery
// is retried with Pub/Sub's backoff (the callbacks subscription's retry
// policy) while the receiver fails or answers 5xx, 408 or 429; another 4xx
// is final. Callbacks never reach private, loopback, link-local or other
// non-public addresses, whatever the URL's name resolves to at delivery
// (the dialer checks each address it connects to); loopback only with
// CHORUS_CALLBACK_ALLOW_LOOPBACK, for the local stack and tests.

// errForbiddenAddress: the callback's host resolved to an address callbacks
// must not reach.
var errForbiddenAddress = errors.New("callback address is not public")

// callbackClient makes the HTTP client callbacks are sent with: its dialer
// refuses non-public addresses after resolution, and it follows no
// redirect (a redirect could lead anywhere).
func callbackClient(allowLoopback bool) *http.Client {
	dialer := &net.Dialer{Timeout: 10 * time.Second, Control: func(_, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return fmt.Errorf("%w: %s", errForbiddenAddress, address)
		}
		if !callback.PublicAddress(ap.Addr(), allowLoopback) {
			return fmt.Errorf("%w: %s", errForbiddenAddress, ap.Addr())
		}
		return nil
	}}
	tr := &http.Transport{DialContext: dialer.DialContext, Proxy: nil, TLSHandshakeTimeout: 10 * time.Second,
		ResponseHeaderTimeout: 20 * time.Second, MaxIdleConns: 16, IdleConnTimeout: 30 * time.Second}
	return &http.Client{Transport: tr, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// callbacks delivers completion messages to their callback URL.
type callbacks struct {
	secret        []byte
	allowLoopback bool
	client        *http.Client
	log           *slog.Logger
}

func newCallbacks(secret string, allowLoopback bool, log *slog.Logger) *callbacks {
	return &callbacks{secret: []byte(secret), allowLoopback: allowLoopback, client: callbackClient(allowLoopback), log: log}
}

// deliver takes one completion message to an end: ack once delivered, or
// when it has no callback or a final refusal; nack to retry later.
func (c *callbacks) deliver(ctx context.Context, m *pubsub.Message) {
	target := m.Attributes[queue.AttrCallbackURL]
	if target == "" {
		m.Ack()
		return
	}
	log := c.log.With("callback", redact(target), "job_id", m.Attributes[queue.AttrJobID], "batch_id", m.Attributes[queue.AttrBatchID],
		"attempt", attempt(m))
	if err := callback.CheckURL(target, c.allowLoopback); err != nil {
		log.WarnContext(ctx, "callback URL refused; dropping", "error", err)
		m.Ack()
		return
	}
	ts := time.Now().Unix()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(m.Data))
	if err != nil {
		log.WarnContext(ctx, "callback request; dropping", "error", err)
		m.Ack()
		return
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Chorus-Callback/1")
	req.Header.Set("X-Chorus-Timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("X-Chorus-Signature", callback.Signature(c.secret, ts, m.Data))
	resp, err := c.client.Do(req)
	if err != nil {
		if errors.Is(err, errForbiddenAddress) {
			log.WarnContext(ctx, "callback host is not a public address; dropping", "error", err)
			m.Ack()
			return
		}
		log.WarnContext(ctx, "callback failed; will retry", "error", err)
		m.Nack()
		return
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		log.InfoContext(ctx, "callback delivered", "status", code)
		m.Ack()
	case code >= 500 || code == http.StatusRequestTimeout || code == http.StatusTooManyRequests:
		log.WarnContext(ctx, "callback refused for now; will retry", "status", code)
		m.Nack()
	default:
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
