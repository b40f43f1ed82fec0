package callback

import (
	"net/netip"
	"testing"
)

func TestCheckURL(t *testing.T) {
	for _, tt := range []struct {
		url           string
		allowLoopback bool
		ok            bool
	}{
		{"https://hooks.example.com/chorus?token=abc", false, true},
		{"https://203.0.113.7/cb", false, true},
		{"http://hooks.example.com/cb", false, false},             // not https
		{"https://user:pw@hooks.example.com/cb", false, false},    // credentials
		{"https://10.0.0.5/cb", false, false},                     // private
		{"https://192.168.1.1/cb", false, false},                  // private
		{"https://169.254.169.254/computeMetadata", false, false}, // link-local: cloud metadata
		{"https://[fd00::1]/cb", false, false},                    // unique local
		{"https://[::1]/cb", false, false},                        // loopback
		{"https://127.0.0.1/cb", false, false},                    // loopback in the cloud
		{"https://localhost/cb", false, false},                    // loopback name in the cloud
		{"https://100.64.0.1/cb", false, false},                   // shared address space
		{"http://127.0.0.1:8081/cb", true, true},                  // local stack
		{"http://localhost:8081/cb", true, true},
		{"http://10.0.0.5/cb", true, false}, // private even locally
		{"/relative", false, false},
		{"https://" + string(make([]byte, 1100)), false, false},
	} {
		if err := CheckURL(tt.url, tt.allowLoopback); (err == nil) != tt.ok {
			t.Errorf("CheckURL(%.60q, loopback %v) = %v, want ok %v", tt.url, tt.allowLoopback, err, tt.ok)
		}
	}
}

func TestPublicAddress(t *testing.T) {
	for addr, want := range map[string]bool{"8.8.8.8": true, "2001:4860:4860::8888": true, "10.1.2.3": false, "172.16.0.1": false,
		"127.0.0.1": false, "::ffff:127.0.0.1": false, "169.254.1.1": false, "0.0.0.0": false, "224.0.0.1": false, "fe80::1": false} {
		if got := PublicAddress(netip.MustParseAddr(addr), false); got != want {
			t.Errorf("PublicAddress(%s) = %v, want %v", addr, got, want)
		}
	}
}

func TestSignature(t *testing.T) {
	secret, body := []byte("s3cret"), []byte(`{"v":1}`)
	sig := Signature(secret, 1764530000, body)
	if !VerifySignature(secret, "1764530000", sig, body) {
		t.Fatal("own signature refused")
	}
	for _, bad := range []struct{ ts, sig, body string }{{"1764530001", sig, `{"v":1}`}, {"1764530000", sig, `{"v":2}`}, {"x", sig, `{"v":1}`}} {
		if VerifySignature(secret, bad.ts, bad.sig, []byte(bad.body)) {
			t.Errorf("accepted %+v", bad)
		}
	}
}
