package callback

import "net/netip"

// The address rule. IPv6 is an allow-list: only global unicast space
// (2000::/3) is public, less the blocks inside it that are not, so NAT64
// (64:ff9b::/96, 64:ff9b:1::/48), IPv4-compatible (::/96), unique local,
// link-local, multicast and every other special block fall outside.
// IPv4 is a deny-list of the special-purpose registry's non-global blocks.
// IPv4-mapped IPv6 (::ffff:a.b.c.d) is judged as the IPv4 address it is.
var (
	globalIPv6 = netip.MustParsePrefix("2000::/3")

	// Not public although inside 2000::/3.
	notPublicIPv6 = []netip.Prefix{
		netip.MustParsePrefix("2001::/23"),     // IETF protocol assignments (Teredo 2001::/32 embeds IPv4, ORCHID, AMT…)
		netip.MustParsePrefix("2001:db8::/32"), // documentation
		netip.MustParsePrefix("2002::/16"),     // 6to4: embeds an IPv4 address (2002:7f00:1:: is 127.0.0.1's)
		netip.MustParsePrefix("3fff::/20"),     // documentation (RFC 9637)
	}

	notPublicIPv4 = []netip.Prefix{
		netip.MustParsePrefix("0.0.0.0/8"),       // "this network"
		netip.MustParsePrefix("10.0.0.0/8"),      // private
		netip.MustParsePrefix("100.64.0.0/10"),   // shared address space (CGNAT)
		netip.MustParsePrefix("127.0.0.0/8"),     // loopback
		netip.MustParsePrefix("169.254.0.0/16"),  // link-local: cloud metadata
		netip.MustParsePrefix("172.16.0.0/12"),   // private
		netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
		netip.MustParsePrefix("192.0.2.0/24"),    // documentation (TEST-NET-1)
		netip.MustParsePrefix("192.88.99.0/24"),  // 6to4 relay anycast (deprecated)
		netip.MustParsePrefix("192.168.0.0/16"),  // private
		netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
		netip.MustParsePrefix("198.51.100.0/24"), // documentation (TEST-NET-2)
		netip.MustParsePrefix("203.0.113.0/24"),  // documentation (TEST-NET-3)
		netip.MustParsePrefix("224.0.0.0/4"),     // multicast
		netip.MustParsePrefix("240.0.0.0/4"),     // reserved, and the limited broadcast address
	}
)

// PublicAddress reports whether callbacks may connect to ip: a globally
// routable unicast address. Loopback is allowed only with allowLoopback
// (the local stack and tests); private, link-local (cloud metadata),
// shared, documentation, benchmarking, reserved, multicast and the IPv6
// forms that embed an IPv4 address (NAT64, 6to4, Teredo, IPv4-compatible)
// never are. An address with a zone is never public.
func PublicAddress(ip netip.Addr, allowLoopback bool) bool {
	if !ip.IsValid() || ip.Zone() != "" {
		return false
	}
	ip = ip.Unmap()
	if ip.IsLoopback() {
		return allowLoopback
	}
	if ip.Is4() {
		for _, p := range notPublicIPv4 {
			if p.Contains(ip) {
				return false
			}
		}
		return true
	}
	if !globalIPv6.Contains(ip) {
		return false
	}
	for _, p := range notPublicIPv6 {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}
