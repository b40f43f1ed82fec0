package api

import (
	"fmt"
	"net/http/httptest"
	"testing"
	"time"
)

func TestLimiterCountsJobs(t *testing.T) {
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := NewLimiter(60, 20, 100) // one job a second, bursts of 20
	l.now = func() time.Time { return clock }
	take := func(n int) (bool, time.Duration) { return l.Take("c", n) }

	if ok, _ := take(15); !ok {
		t.Fatal("a batch of 15 from a full bucket of 20 was refused")
	}
	if ok, wait := take(10); ok || wait != 5*time.Second {
		t.Fatalf("10 more with 5 left: %v, wait %v; want refused, wait 5s", ok, wait)
	}
	for i := range 5 {
		if ok, _ := take(1); !ok {
			t.Fatalf("single %d of the 5 left refused", i)
		}
	}
	if ok, _ := take(0); ok {
		t.Fatal("an empty bucket admitted a request to be charged later")
	}

	// A batch larger than the burst needs a full bucket and leaves debt.
	clock = clock.Add(20 * time.Second)
	if ok, _ := take(50); !ok {
		t.Fatal("a batch of 50 from a full bucket was refused")
	}
	if ok, wait := take(1); ok || wait != 31*time.Second {
		t.Fatalf("after 50 from 20: %v, wait %v; want refused for 31 s (30 of debt, then one token)", ok, wait)
	}
	// Another client is not affected.
	if ok, _ := l.Take("other", 1); !ok {
		t.Fatal("another client was refused")
	}
}

func TestRetryAfterHasJitter(t *testing.T) {
	seen := map[time.Duration]bool{}
	for range 200 {
		d := retryAfter(time.Second)
		if d < time.Second || d >= 2*time.Second {
			t.Fatalf("retryAfter(1s) = %v, want in [1s, 2s)", d)
		}
		seen[d.Round(100*time.Millisecond)] = true
	}
	if len(seen) < 5 {
		t.Fatalf("retryAfter gave %d distinct waits in 200 tries: no jitter", len(seen))
	}
	if d := retryAfter(10 * time.Second); d < 10*time.Second || d >= 20*time.Second {
		t.Fatalf("retryAfter(10s) = %v", d)
	}
}

func TestClientKeyTrustsOnlyItsProxies(t *testing.T) {
	for _, tt := range []struct {
		name   string
		hops   int
		remote string
		xff    []string
		want   string
	}{
		{"local: header ignored", 0, "127.0.0.1:5000", []string{"203.0.113.9"}, "127.0.0.1"},
		{"one proxy: its entry", 1, "10.0.0.1:1", []string{"1.1.1.1, 203.0.113.9"}, "203.0.113.9"},
		{"one proxy: forged prefix ignored", 1, "10.0.0.1:1", []string{"9.9.9.9, 8.8.8.8, 203.0.113.9"}, "203.0.113.9"},
		{"two proxies: the load balancer's entry", 2, "10.0.0.1:1", []string{"9.9.9.9, 203.0.113.9, 35.191.0.1"}, "203.0.113.9"},
		{"two proxies: header split over lines", 2, "10.0.0.1:1", []string{"9.9.9.9", "203.0.113.9, 35.191.0.1"}, "203.0.113.9"},
		{"fewer entries than proxies: the peer", 2, "10.0.0.1:1", []string{"203.0.113.9"}, "10.0.0.1"},
		{"not an address: the peer", 1, "10.0.0.1:1", []string{"unknown"}, "10.0.0.1"},
		{"IPv6: its /64", 1, "10.0.0.1:1", []string{"2001:db8:1:2:aaaa:bbbb:cccc:dddd"}, "2001:db8:1:2::/64"},
		{"IPv6 peer: its /64", 0, "[2001:db8:1:2::7]:443", nil, "2001:db8:1:2::/64"},
		{"IPv6 with a zone: its /64", 0, "[fe80::1%eth0]:443", nil, "fe80::/64"},
		{"IPv4-mapped IPv6: the IPv4 address", 1, "10.0.0.1:1", []string{"::ffff:203.0.113.9"}, "203.0.113.9"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/api/synthesize", nil)
			r.RemoteAddr = tt.remote
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := clientKey(r, tt.hops); got != tt.want {
				t.Errorf("clientKey = %q, want %q", got, tt.want)
			}
		})
	}
}

// Issue 15, item 3: a full limiter forgets the least recently seen client,
// never one in debt: a client that took a batch larger than its burst
// cannot shed its debt by making the limiter forget it, and a client seen
// a moment ago keeps what it spent, however many new clients arrive.
func TestLimiterEvictsLeastRecentlySeenNeverADebtor(t *testing.T) {
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := NewLimiter(60, 10, 100)
	l.now = func() time.Time { return clock }
	if ok, _ := l.Take("debtor", 50); !ok {
		t.Fatal("a batch of 50 from a full bucket was refused")
	}
	if ok, _ := l.Take("regular", 8); !ok {
		t.Fatal("8 of 10 refused")
	}
	for i := range 1000 {
		if ok, _ := l.Take(fmt.Sprintf("passer-by-%d", i), 1); !ok {
			t.Fatalf("new client %d refused", i)
		}
		if i%10 == 0 {
			if ok, _ := l.Take("regular", 0); !ok {
				t.Fatal("the regular client, with 2 tokens left, was refused a check")
			}
		}
	}
	if ok, wait := l.Take("debtor", 1); ok || wait != 41*time.Second {
		t.Errorf("the debtor after 1,000 new clients: admitted %v, wait %v; want refused for 41 s (40 of debt, then one token)", ok, wait)
	}
	if ok, _ := l.Take("regular", 3); ok {
		t.Error("the regular client (2 tokens left, seen a moment ago) was admitted for 3: it was forgotten and given a full bucket")
	}
	if n := l.Clients(); n > 100 {
		t.Errorf("%d clients remembered, want at most 100 while some are not in debt", n)
	}

	// With every client in debt nobody is forgotten; the map grows.
	d := NewLimiter(60, 1, 2)
	d.now = l.now
	for _, k := range []string{"a", "b", "c"} {
		if ok, _ := d.Take(k, 5); !ok {
			t.Fatalf("%s refused from a full bucket", k)
		}
	}
	for _, k := range []string{"a", "b", "c"} {
		if ok, _ := d.Take(k, 1); ok {
			t.Errorf("debtor %s admitted: it was forgotten", k)
		}
	}
}
