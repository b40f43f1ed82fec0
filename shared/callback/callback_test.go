package callback

import (
	"net/netip"
	"strings"
	"testing"
)

func TestCheckURL(t *testing.T) {
	for _, tt := range []struct {
		name          string
		url           string
		allowLoopback bool
		ok            bool
	}{
		{"public name", "https://hooks.example.com/chorus?token=abc", false, true},
		{"public name, port 443", "https://hooks.example.com:443/cb", false, true},
		{"public name, capitals and trailing dot", "https://Hooks.Example.COM./cb", false, true},
		{"public IPv4", "https://8.8.8.8/cb", false, true},
		{"public IPv6", "https://[2001:4860:4860::8888]/cb", false, true},
		{"http", "http://hooks.example.com/cb", false, false},
		{"other scheme", "ftp://hooks.example.com/cb", false, false},
		{"credentials", "https://user:pw@hooks.example.com/cb", false, false},
		{"fragment", "https://hooks.example.com/cb#x", false, false},
		{"port 8443", "https://hooks.example.com:8443/cb", false, false},
		{"port 0443", "https://hooks.example.com:0443/cb", false, false},
		{"private 10/8", "https://10.0.0.5/cb", false, false},
		{"private 192.168/16", "https://192.168.1.1/cb", false, false},
		{"link-local: cloud metadata", "https://169.254.169.254/computeMetadata", false, false},
		{"metadata name", "https://metadata.google.internal/computeMetadata/v1/", false, false},
		{"metadata name, capitals and dot", "https://METADATA.Google.Internal./computeMetadata/v1/", false, false},
		{"single-label metadata", "https://metadata/computeMetadata/v1/", false, false},
		{"unique local", "https://[fd00::1]/cb", false, false},
		{"IPv6 loopback", "https://[::1]/cb", false, false},
		{"loopback in the cloud", "https://127.0.0.1/cb", false, false},
		{"localhost in the cloud", "https://localhost/cb", false, false},
		{"LOCALHOST in the cloud", "https://LOCALHOST/cb", false, false},
		{"localhost. in the cloud", "https://localhost./cb", false, false},
		{"sub.localhost in the cloud", "https://a.localhost/cb", false, false},
		{"shared address space", "https://100.64.0.1/cb", false, false},
		{"this network", "https://0.1.2.3/cb", false, false},
		{"IETF protocol assignments", "https://192.0.0.8/cb", false, false},
		{"benchmarking", "https://198.19.0.1/cb", false, false},
		{"reserved 240/4", "https://240.0.0.1/cb", false, false},
		{"broadcast", "https://255.255.255.255/cb", false, false},
		{"TEST-NET-1", "https://192.0.2.7/cb", false, false},
		{"TEST-NET-2", "https://198.51.100.7/cb", false, false},
		{"TEST-NET-3", "https://203.0.113.7/cb", false, false},
		{"IPv6 documentation", "https://[2001:db8::1]/cb", false, false},
		{"NAT64 of loopback", "https://[64:ff9b::7f00:1]/cb", false, false},
		{"NAT64 local-use", "https://[64:ff9b:1::a00:1]/cb", false, false},
		{"6to4 of loopback", "https://[2002:7f00:1::1]/cb", false, false},
		{"Teredo", "https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/cb", false, false},
		{"IPv4-compatible loopback", "https://[::127.0.0.1]/cb", false, false},
		{"IPv4-mapped loopback", "https://[::ffff:127.0.0.1]/cb", false, false},
		{"IPv6 with zone", "https://[fe80::1%25eth0]/cb", false, false},
		{"decimal address", "https://2130706433/cb", false, false},
		{"hex address", "https://0x7f.0.0.1/cb", false, false},
		{"short address", "https://127.1/cb", false, false},
		{"octal address", "https://0177.0.0.1/cb", false, false},
		{"numeric last label", "https://hooks.example.123/cb", false, false},
		{"single label", "https://intranet/cb", false, false},
		{".internal", "https://hooks.corp.internal/cb", false, false},
		{".local", "https://printer.local/cb", false, false},
		{"underscore", "https://hooks_1.example.com/cb", false, false},
		{"unicode host", "https://bücher.example.com/cb", false, false},
		{"escaped host", "https://%6c%6fcalhost/cb", false, false},
		{"local stack", "http://127.0.0.1:8081/cb", true, true},
		{"local stack, localhost", "http://localhost:8081/cb", true, true},
		{"local stack, LOCALHOST.", "http://LOCALHOST.:8081/cb", true, true},
		{"private even locally", "http://10.0.0.5/cb", true, false},
		{"public name over http even locally", "http://hooks.example.com/cb", true, false},
		{"relative", "/relative", false, false},
		{"too long", "https://hooks.example.com/" + strings.Repeat("a", 1100), false, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if err := CheckURL(tt.url, tt.allowLoopback); (err == nil) != tt.ok {
				t.Errorf("CheckURL(%.80q, loopback %v) = %v, want ok %v", tt.url, tt.allowLoopback, err, tt.ok)
			}
		})
	}
}

func TestParseNormalisesTheHost(t *testing.T) {
	for raw, want := range map[string]string{
		"https://Hooks.Example.COM./cb":   "hooks.example.com",
		"https://hooks.example.com:443/x": "hooks.example.com",
		"https://[2001:4860:0:0::8888]/":  "2001:4860::8888",
		"http://LOCALHOST.:9/":            "localhost",
	} {
		got, err := Parse(raw, true)
		if err != nil || got.Host != want {
			t.Errorf("Parse(%q) = %+v, %v; want host %q", raw, got, err, want)
		}
	}
}

func TestPublicAddress(t *testing.T) {
	for addr, want := range map[string]bool{
		"8.8.8.8": true, "2001:4860:4860::8888": true, "1.1.1.1": true, "2606:4700:4700::1111": true,
		"10.1.2.3": false, "172.16.0.1": false, "127.0.0.1": false, "::ffff:127.0.0.1": false, "169.254.1.1": false,
		"0.0.0.0": false, "224.0.0.1": false, "fe80::1": false, "::": false, "::1": false, "64:ff9b::808:808": false,
		"64:ff9b:1::1": false, "2002:808:808::1": false, "::8.8.8.8": false, "192.0.0.1": false, "198.18.5.5": false,
		"240.1.2.3": false, "192.0.2.1": false, "198.51.100.1": false, "203.0.113.1": false, "2001:db8::1": false,
		"3fff::1": false, "ff02::1": false, "fc00::1": false, "100::1": false, "fec0::1": false,
	} {
		if got := PublicAddress(netip.MustParseAddr(addr), false); got != want {
			t.Errorf("PublicAddress(%s) = %v, want %v", addr, got, want)
		}
	}
	if !PublicAddress(netip.MustParseAddr("127.0.0.1"), true) || !PublicAddress(netip.MustParseAddr("::1"), true) {
		t.Error("loopback refused where allowed")
	}
	if PublicAddress(netip.MustParseAddr("10.0.0.1"), true) {
		t.Error("private address allowed with loopback")
	}
}
