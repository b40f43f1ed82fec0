// Package callback holds what the API, the worker and receivers need of
// completion callbacks: the URL rule (checked where the client gives it and
// before each delivery), the address rule (checked again on every
// connection, after the name resolved), and the Ed25519 signature that
// says "Chorus sent this, to you, about this job, at this time".
//
// A callback is an HTTPS POST of the completion's JSON body with
//
//	X-Chorus-Timestamp: 1764530000
//	X-Chorus-Id:        svchb7rjnznndxmvben6cayvcq
//	X-Chorus-Signature: v2=2026-12.BASE64URL(Ed25519(key, v2:{timestamp}:{id}:{destination URL}:{hex sha256(body)}))
//
// The id is the completion's job_id (its batch_id for a batch completion);
// the destination is the callback_url exactly as the client gave it. During
// a key rotation the header carries one signature per key, comma
// separated. Receivers verify with the deployment's public keys (Verify,
// VerifyRequest), which refuse a timestamp more than Window away from now.
package callback

import (
	"errors"
	"net/netip"
	"net/url"
	"strings"
)

// MaxURLBytes bounds a callback URL (it travels as a message attribute).
const MaxURLBytes = 1024

// Target is a callback URL that passed the rule.
type Target struct {
	// URL is the parsed callback_url.
	URL *url.URL
	// Host is its host normalised for comparison: lower case, without a
	// trailing dot; an IP address in its canonical form.
	Host string
	// Loopback says that the host is a loopback address or name (allowed
	// only where the rule was asked to allow loopback).
	Loopback bool
}

// Names that never lead to a receiver on the public internet: special-use
// domains (RFC 6761, RFC 6762, RFC 9476, ICANN's .internal), and Google
// Cloud's metadata server, which is under .internal.
var reservedSuffixes = []string{"localhost", "internal", "local", "invalid", "test", "example", "onion", "alt", "home.arpa"}

// CheckURL applies the callback URL rule (see Parse).
func CheckURL(raw string, allowLoopback bool) error {
	_, err := Parse(raw, allowLoopback)
	return err
}

// Parse checks a callback URL where the client gives it (the API) and
// before each delivery: an absolute https URL of at most MaxURLBytes, on
// port 443, without credentials or fragment, whose host is a public IP
// address in canonical form or a fully qualified DNS name (letters, digits
// and hyphens; compared case-insensitively, a trailing dot ignored) outside
// the special-use domains. Numeric hosts that are not canonical IP
// literals (2130706433, 0x7f.0.0.1, 127.1) are refused: resolvers read
// them as addresses. With allowLoopback (the local stack and tests), http
// and any port are allowed to loopback addresses and localhost. Names are
// checked again when they resolve, at delivery.
//
// Errors read as the API's field message: "callback_url must …".
func Parse(raw string, allowLoopback bool) (*Target, error) {
	if len(raw) > MaxURLBytes {
		return nil, errors.New("callback_url is longer than 1,024 bytes")
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "" {
		return nil, errors.New("callback_url must be an absolute URL")
	}
	if u.User != nil {
		return nil, errors.New("callback_url must not carry credentials")
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return nil, errors.New("callback_url must not carry a fragment")
	}
	t := &Target{URL: u, Host: strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")}
	if ip, err := netip.ParseAddr(t.Host); err == nil {
		t.Host, t.Loopback = ip.String(), ip.Unmap().IsLoopback()
		if !PublicAddress(ip, allowLoopback) {
			return nil, errors.New("callback_url must name a public address")
		}
	} else if err := checkName(t.Host); err != nil {
		return nil, err
	} else if t.Host == "localhost" || strings.HasSuffix(t.Host, ".localhost") {
		t.Loopback = true
		if !allowLoopback {
			return nil, errors.New("callback_url must name a public host")
		}
	} else if reserved(t.Host) {
		return nil, errors.New("callback_url must name a public host")
	}
	local := t.Loopback && allowLoopback
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && local:
	default:
		return nil, errors.New("callback_url must use https")
	}
	if p := u.Port(); p != "" && p != "443" && !local {
		return nil, errors.New("callback_url must use port 443")
	}
	return t, nil
}

// checkName accepts a fully qualified DNS name of letters, digits and
// hyphens (lower case: the caller folded it) whose last label is not
// numeric: a name like 2130706433, 0x7f.0.0.1 or 127.1 is an address to
// every resolver that reads inet_aton's forms.
func checkName(host string) error {
	if host == "" || len(host) > 253 {
		return errors.New("callback_url must name a host")
	}
	labels := strings.Split(host, ".")
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return errors.New("callback_url must name a valid host (letters, digits and hyphens; punycode for other scripts)")
		}
		for i := 0; i < len(l); i++ {
			if c := l[i]; !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
				return errors.New("callback_url must name a valid host (letters, digits and hyphens; punycode for other scripts)")
			}
		}
	}
	if numeric(labels[len(labels)-1]) {
		return errors.New("callback_url must write an IP address in its canonical form")
	}
	if len(labels) == 1 && host != "localhost" {
		return errors.New("callback_url must name a fully qualified host")
	}
	return nil
}

// numeric reports whether a label reads as a number (decimal, octal or
// 0x hexadecimal): the WHATWG URL standard's "ends in a number".
func numeric(label string) bool {
	digits := label
	if strings.HasPrefix(label, "0x") {
		digits = label[2:]
		for i := 0; i < len(digits); i++ {
			if c := digits[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
				return false
			}
		}
		return true
	}
	for i := 0; i < len(digits); i++ {
		if c := digits[i]; c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func reserved(host string) bool {
	for _, s := range reservedSuffixes {
		if host == s || strings.HasSuffix(host, "."+s) {
			return true
		}
	}
	return false
}
