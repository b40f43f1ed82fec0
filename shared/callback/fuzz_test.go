package callback

import (
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"testing"
)

// FuzzCheckURL: whatever the input, the rule never panics, and a URL it
// accepts is one a request can be built from, whose host Go's HTTP client
// will connect to is the checked one: a public address, or a fully
// qualified lower-case name of letters, digits and hyphens that is not
// numeric and not special-use; over https on port 443 (or, where
// loopback is allowed, to loopback).
func FuzzCheckURL(f *testing.F) {
	for _, s := range []string{
		"https://hooks.example.com/chorus?token=abc", "https://8.8.8.8/cb", "https://[2001:4860:4860::8888]:443/",
		"http://127.0.0.1:8081/cb", "https://LOCALHOST./", "https://2130706433/", "https://0x7f.0.0.1/", "https://127.1/",
		"https://[64:ff9b::7f00:1]/", "https://[::ffff:169.254.169.254]/", "https://metadata.google.internal./",
		"https://%6c%6fcalhost/", "https://a@b/", "https://h.example.com:0443/", "https://[fe80::1%25eth0]/",
		"https://h.example.com/#f", "https://xn--bcher-kva.example/", "https://h.example.com:/",
	} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, raw string, allowLoopback bool) {
		target, err := Parse(raw, allowLoopback)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "callback_url ") {
				t.Fatalf("error %q does not read as a field message", err)
			}
			return
		}
		if len(raw) > MaxURLBytes {
			t.Fatalf("accepted %d bytes", len(raw))
		}
		req, err := http.NewRequest(http.MethodPost, raw, nil)
		if err != nil {
			t.Fatalf("accepted %q, but no request can be built: %v", raw, err)
		}
		u, _ := url.Parse(raw)
		if u.User != nil || u.Fragment != "" {
			t.Fatalf("accepted %q with credentials or fragment", raw)
		}
		// The host the client dials, judged independently of Parse.
		dial := strings.TrimSuffix(strings.ToLower(req.URL.Hostname()), ".")
		if dial != target.Host {
			if ip, err := netip.ParseAddr(dial); err != nil || ip.String() != target.Host {
				t.Fatalf("%q: checked host %q, dialled host %q", raw, target.Host, dial)
			}
		}
		if ip, err := netip.ParseAddr(dial); err == nil {
			if !PublicAddress(ip, allowLoopback) {
				t.Fatalf("accepted %q: %s is not public", raw, ip)
			}
		} else {
			labels := strings.Split(dial, ".")
			if len(labels) < 2 && !(allowLoopback && dial == "localhost") {
				t.Fatalf("accepted %q: %q is not fully qualified", raw, dial)
			}
			for _, l := range labels {
				if l == "" || strings.Trim(l, "abcdefghijklmnopqrstuvwxyz0123456789-") != "" {
					t.Fatalf("accepted %q: label %q", raw, l)
				}
			}
			if last := labels[len(labels)-1]; strings.Trim(last, "0123456789") == "" ||
				(strings.HasPrefix(last, "0x") && strings.Trim(last[2:], "0123456789abcdef") == "") {
				t.Fatalf("accepted %q: numeric host %q", raw, dial)
			}
			if (dial == "localhost" || strings.HasSuffix(dial, ".localhost")) && !allowLoopback {
				t.Fatalf("accepted %q: localhost", raw)
			}
			if strings.HasSuffix(dial, ".internal") || strings.HasSuffix(dial, ".local") {
				t.Fatalf("accepted %q: special-use name", raw)
			}
		}
		if !target.Loopback || !allowLoopback {
			if u.Scheme != "https" || (u.Port() != "" && u.Port() != "443") {
				t.Fatalf("accepted %q: scheme %s, port %q", raw, u.Scheme, u.Port())
			}
		}
	})
}
