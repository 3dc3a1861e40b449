package netstack

import (
	"context"
	"hash/fnv"
	"net"
	"net/netip"
	"strings"
)

// The phone's interfaces. Modeled: a Wi-Fi lease on a home network and a
// carrier address on mobile data (rmnet_data0 is Qualcomm's name for the
// first data connection); both networks are IPv4-only, so IPv6 off the
// phone is unreachable.
var (
	wlanAddr   = netip.MustParseAddr("192.168.1.100")
	mobileAddr = netip.MustParseAddr("10.165.48.201")
	loopback4  = netip.AddrFrom4([4]byte{127, 0, 0, 1})
)

// Links says which network carries traffic off the phone.
type Links interface {
	// Network says whether Wi-Fi is connected (and to which SSID).
	Network() (wifi bool, ssid string)
}

// route is the output interface and source address for dst (the
// routing decision made before netfilter's OUTPUT hooks run); ok is false
// when no route leads there.
func (s *Stack) route(dst netip.Addr) (iface string, src netip.Addr, ok bool) {
	switch {
	case dst.IsLoopback() || dst.IsUnspecified():
		if dst.Is4() {
			return "lo", loopback4, true
		}
		return "lo", netip.IPv6Loopback(), true
	case dst.Is6():
		return "", netip.Addr{}, false
	}
	if s.cfg.Links != nil {
		if wifi, _ := s.cfg.Links.Network(); wifi {
			return "wlan0", wlanAddr, true
		}
	}
	// Modeled: without Wi-Fi the phone is on mobile data, as the
	// telemetry's network type ("4G") says.
	return "rmnet_data0", mobileAddr, true
}

// resolverRange is where the modeled resolver puts every name: the
// benchmarking block 198.18.0.0/15 (RFC 2544), which no real host uses.
var resolverRange = netip.MustParsePrefix("198.18.0.0/15")

// lookup resolves host as an app's getaddrinfo would. Literals are
// themselves; localhost and ip6-localhost come from /system/etc/hosts.
// Modeled: the phone has no DNS server to ask, so every other name gets a
// stable address of its own in resolverRange; connections to it go to the
// modeled outside, never to a real host.
func (s *Stack) lookup(ctx context.Context, host string) (netip.Addr, error) {
	if err := ctx.Err(); err != nil {
		return netip.Addr{}, err
	}
	if a, err := netip.ParseAddr(host); err == nil {
		return a.WithZone(""), nil
	}
	switch strings.ToLower(host) {
	case "localhost":
		return loopback4, nil
	case "ip6-localhost":
		return netip.IPv6Loopback(), nil
	case "":
		return netip.Addr{}, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	h := fnv.New32a()
	h.Write([]byte(strings.ToLower(host)))
	v := h.Sum32()
	base := resolverRange.Addr().As4()
	// 2^17 addresses; avoid .0 and .255 so every answer looks like a host.
	off := v % (1 << 17)
	b := [4]byte{base[0], base[1] + byte(off>>16), byte(off >> 8), byte(off)}
	if b[3] == 0 || b[3] == 255 {
		b[3] = 1
	}
	return netip.AddrFrom4(b), nil
}

// sockAddr is an address as a socket of that family holds it: an AF_INET6
// socket sees an IPv4 peer as ::ffff:a.b.c.d.
func sockAddr(a netip.Addr, port uint16, v6 bool) netip.AddrPort {
	if v6 && a.Is4() {
		a = netip.AddrFrom16(a.As16())
	}
	return netip.AddrPortFrom(a, port)
}

func tcpAddr(ap netip.AddrPort) net.Addr { return net.TCPAddrFromAddrPort(ap) }
func udpAddr(ap netip.AddrPort) net.Addr { return net.UDPAddrFromAddrPort(ap) }
