package httpchannel

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"time"
)

// ErrBlockedAddress marks a dial refused because the address is not on the
// public internet. Sending again cannot help, so Classify makes it a
// permanent failure.
var ErrBlockedAddress = errors.New("address is not publicly routable")

// blockedPrefixes are ranges, beyond what netip classifies, that must never
// be reached from a webhook: they lead into the gateway's own network or
// are not meant for unicast traffic.
var blockedPrefixes = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // "this network" (RFC 791)
	netip.MustParsePrefix("100.64.0.0/10"),   // carrier-grade NAT (RFC 6598)
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments (RFC 6890)
	netip.MustParsePrefix("192.0.2.0/24"),    // TEST-NET-1 (RFC 5737)
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking (RFC 2544)
	netip.MustParsePrefix("198.51.100.0/24"), // TEST-NET-2
	netip.MustParsePrefix("203.0.113.0/24"),  // TEST-NET-3
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved, incl. broadcast
	netip.MustParsePrefix("::/96"),           // IPv4-compatible (deprecated)
	netip.MustParsePrefix("100::/64"),        // discard-only (RFC 6666)
	netip.MustParsePrefix("2001:db8::/32"),   // documentation (RFC 3849)
	netip.MustParsePrefix("fec0::/10"),       // site-local (deprecated)
}

// embeddedV4 are IPv6 ranges that carry an IPv4 address a router will
// reach on the sender's behalf; the IPv4 address is checked too.
var (
	nat64Prefix      = netip.MustParsePrefix("64:ff9b::/96")   // NAT64 (RFC 6052)
	nat64LocalPrefix = netip.MustParsePrefix("64:ff9b:1::/48") // local-use NAT64 (RFC 8215)
	sixToFourPrefix  = netip.MustParsePrefix("2002::/16")      // 6to4 (RFC 3056)
)

// CheckAddr returns an error wrapping ErrBlockedAddress when addr is
// loopback, private (RFC 1918, ULA fc00::/7), link-local (incl. the cloud
// metadata address 169.254.169.254), unspecified, multicast, CGNAT or
// otherwise reserved.
func CheckAddr(addr netip.Addr) error {
	if !addr.IsValid() {
		return fmt.Errorf("invalid address: %w", ErrBlockedAddress)
	}
	addr = addr.Unmap()
	var kind string
	switch {
	case addr.IsLoopback():
		kind = "loopback"
	case addr.IsPrivate():
		kind = "private"
	case addr.IsLinkLocalUnicast():
		kind = "link-local"
	case addr.IsUnspecified():
		kind = "unspecified"
	case addr.IsMulticast(), addr.IsLinkLocalMulticast(), addr.IsInterfaceLocalMulticast():
		kind = "multicast"
	}
	if kind == "" {
		for _, p := range blockedPrefixes {
			if p.Contains(addr) {
				kind = "reserved (" + p.String() + ")"
				break
			}
		}
	}
	if kind == "" && addr.Is6() {
		a := addr.As16()
		var inner netip.Addr
		switch {
		case nat64Prefix.Contains(addr), nat64LocalPrefix.Contains(addr):
			inner = netip.AddrFrom4([4]byte(a[12:16]))
		case sixToFourPrefix.Contains(addr):
			inner = netip.AddrFrom4([4]byte(a[2:6]))
		}
		if inner.IsValid() {
			if err := CheckAddr(inner); err != nil {
				return fmt.Errorf("%s embeds %s: %w", addr, inner, err)
			}
		}
	}
	if kind != "" {
		return fmt.Errorf("%s is %s: %w", addr, kind, ErrBlockedAddress)
	}
	return nil
}

// dialControl refuses connections to blocked addresses. It runs after DNS
// resolution, on the address actually dialled, so a name that resolves (or
// re-resolves) to an internal address is refused as well.
func dialControl(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("dialling %q: %w", address, ErrBlockedAddress)
	}
	if err := CheckAddr(ap.Addr()); err != nil {
		return fmt.Errorf("refusing to connect: %w; set allow_private_networks = true to allow it", err)
	}
	return nil
}

// newDialer returns the dialer clients connect with.
func newDialer(allowPrivate bool) *net.Dialer {
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	if !allowPrivate {
		d.Control = dialControl
	}
	return d
}
