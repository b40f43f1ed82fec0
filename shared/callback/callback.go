// Package callback holds what both the API and the worker need of
// completion callbacks: the URL rule (checked where the client gives it and
// before each delivery), the address rule (checked again on every
// connection, after the name resolved) and the signature.
//
// A callback is an HTTPS POST of the completion's JSON body with
//
//	X-Chorus-Timestamp: 1764530000
//	X-Chorus-Signature: v1=HEX(HMAC-SHA256(secret, timestamp + "." + body))
//
// Receivers recompute the signature (VerifySignature) and refuse old
// timestamps.
package callback

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/netip"
	"net/url"
	"strconv"
)

// Signature returns the X-Chorus-Signature value of body sent at ts.
func Signature(secret []byte, ts int64, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(strconv.FormatInt(ts, 10)))
	mac.Write([]byte("."))
	mac.Write(body)
	return "v1=" + hex.EncodeToString(mac.Sum(nil))
}

// VerifySignature checks a callback's signature in constant time; receivers
// should also refuse a timestamp older than a few minutes.
func VerifySignature(secret []byte, timestamp, signature string, body []byte) bool {
	ts, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return false
	}
	return hmac.Equal([]byte(Signature(secret, ts, body)), []byte(signature))
}

// PublicAddress reports whether callbacks may connect to ip: a global
// unicast address, not private, loopback (unless allowLoopback), link-local
// (cloud metadata), shared (CGNAT), unspecified or multicast.
func PublicAddress(ip netip.Addr, allowLoopback bool) bool {
	ip = ip.Unmap()
	switch {
	case ip.IsLoopback():
		return allowLoopback
	case !ip.IsGlobalUnicast(), ip.IsPrivate(), ip.IsLinkLocalUnicast(), ip.IsUnspecified(), ip.IsMulticast():
		return false
	case ip.Is4() && netip.MustParsePrefix("100.64.0.0/10").Contains(ip): // shared address space
		return false
	}
	return true
}

// CheckURL checks a callback URL where the client gives it (the
// API) and before each delivery: absolute https (http only to loopback when
// allowed), no credentials, at most 1,024 bytes (it travels as a message
// attribute), and a host that is not an address callbacks may not reach.
// Names are checked again when they resolve, at delivery.
func CheckURL(raw string, allowLoopback bool) error {
	if len(raw) > 1024 {
		return errors.New("callback_url is longer than 1,024 bytes")
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "" {
		return errors.New("callback_url must be an absolute URL")
	}
	if u.User != nil {
		return errors.New("callback_url must not carry credentials")
	}
	host := u.Hostname()
	ip, ipErr := netip.ParseAddr(host)
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && allowLoopback && (host == "localhost" || (ipErr == nil && ip.IsLoopback())):
	default:
		return errors.New("callback_url must use https")
	}
	if host == "localhost" && !allowLoopback {
		return errors.New("callback_url must name a public host")
	}
	if ipErr == nil && !PublicAddress(ip, allowLoopback) {
		return errors.New("callback_url must name a public address")
	}
	return nil
}
