// Package netstack is the simulated phone's network as its apps and tools
// see it: sockets that belong to uids, the global HTTP proxy setting, the
// packet filter (iptables / ip6tables, devices/sim/netfilter), the socket
// tables /proc/net shows, listening sockets (nc -l, `adb forward`), and
// the CA stores TLS trusts.
//
// The phone has no network of its own, and the one rule of the house is
// that nothing on it ever reaches a real address: the host is reached only
// through the phone's loopback, carried by an `adb reverse` rule (adbd's
// tunnel), and every other address is the modeled outside, which accepts a
// connection and answers as the real server would (outside.go: HTTP
// uploads are accepted; UDP to port 443 gets a QUIC server's answer). A
// connection that goes there was sent but never captured; RouteOf tells
// which way a connection went.
//
// Every socket carries its owner's uid, so `-m owner --uid-owner` rules
// and /proc/net/tcp see it as the app's. Java's sockets are dual-stack
// AF_INET6 sockets (libcore IoBridge.socket), listed in /proc/net/tcp6 with
// IPv4 peers as ::ffff:a.b.c.d; native code's IPv4 sockets are listed in
// /proc/net/tcp. The network to dial says which: "tcp" / "udp" for Java,
// "tcp4" / "udp4" for native code.
package netstack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"telltale.dev/devices/sim/adbd"
	"telltale.dev/devices/sim/clock"
	"telltale.dev/devices/sim/event"
	"telltale.dev/devices/sim/identity"
	"telltale.dev/devices/sim/netfilter"
	"telltale.dev/devices/sim/shell"
	"telltale.dev/devices/sim/vfs"
)

// ErrNoProxy says the global proxy setting names no usable proxy.
var ErrNoProxy = errors.New("no usable global http_proxy")

// Settings is where the proxy setting lives.
type Settings interface {
	Setting(ns, key string) (string, bool)
}

// Config builds a network stack.
type Config struct {
	Settings Settings
	Files    *vfs.FS
	Clock    clock.Clock
	// SDK is the firmware's API level: from 34 the system CA store is the
	// Conscrypt APEX's; it also picks the iptables release.
	SDK int
	// Links says which network is up (the Wi-Fi service); nil: mobile data.
	Links Links
	// AdbdUID is who adbd runs as (the shell, or root after `adb root`):
	// the owner of its reverse listeners and of `adb forward` connections.
	// nil: the shell.
	AdbdUID func() uint32
	// Bus brings event.Rebooted: the kernel's tables start over. nil: the
	// stack never reboots.
	Bus *event.Bus
}

// Stack is the phone's network stack. All methods are safe for concurrent
// use.
type Stack struct {
	cfg    Config
	filter *netfilter.Tables

	mu        sync.Mutex
	tunnel    adbd.Tunnel
	socks     []*sock
	seq       uint64
	inode     uint64
	nextPort  int
	listeners []*listener
	// reverseInodes keeps the inode of adbd's listener for each reverse
	// port stable across reads of /proc/net/tcp.
	reverseInodes map[uint16]uint64
	// live are the open connections, which a reboot closes.
	live map[io.Closer]bool
}

// New returns a stack with no way to the host until SetTunnel.
func New(cfg Config) *Stack {
	if cfg.Clock == nil {
		cfg.Clock = clock.Real()
	}
	s := &Stack{cfg: cfg, filter: netfilter.New(), reverseInodes: map[uint16]uint64{}, live: map[io.Closer]bool{},
		// Modeled: inode numbers of a phone some minutes after boot.
		inode: 48000, nextPort: 32768 + int(time.Now().UnixNano()%28000)}
	if cfg.Bus != nil {
		event.On(cfg.Bus, func(event.Rebooted) { s.reboot() })
	}
	return s
}

// SetTunnel gives the stack the adb transport that carries reverse rules.
func (s *Stack) SetTunnel(t adbd.Tunnel) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tunnel = t
}

// reboot empties the kernel: every socket closes with its process and the
// tables return to what netd sets up at boot.
func (s *Stack) reboot() {
	s.mu.Lock()
	live := s.live
	s.live = map[io.Closer]bool{}
	for _, k := range s.socks {
		if k.timer != nil {
			k.timer.Stop()
		}
	}
	s.socks, s.listeners = nil, nil
	s.mu.Unlock()
	for c := range live {
		c.Close()
	}
	s.filter.Reset()
}

func (s *Stack) track(c io.Closer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.live[c] = true
}

func (s *Stack) untrack(c io.Closer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.live, c)
}

func (s *Stack) adbdUID() uint32 {
	if s.cfg.AdbdUID == nil {
		return identity.Shell
	}
	return s.cfg.AdbdUID()
}

// Proxy is the global HTTP proxy ("host:port") as ProxyTracker reads
// global:http_proxy: unset, "null", a port of 0 (":0" clears the proxy) or
// a malformed value mean none, with ErrNoProxy.
func (s *Stack) Proxy() (string, error) {
	raw, _ := s.cfg.Settings.Setting("global", "http_proxy")
	host, port, err := net.SplitHostPort(raw)
	if raw == "" || raw == "null" || err != nil || port == "" || port == "0" {
		return "", fmt.Errorf("%w (%q): set one with `settings put global http_proxy HOST:PORT`", ErrNoProxy, raw)
	}
	return net.JoinHostPort(host, port), nil
}

// Route is which way the stack sent a connection.
type Route string

const (
	// RouteLoopback: to a port on the phone, addressed as such (a
	// listener there, or adbd's end of an adb reverse rule).
	RouteLoopback Route = "loopback"
	// RouteRedirected: to a remote address, which a nat REDIRECT rule sent
	// to a port on the phone instead.
	RouteRedirected Route = "redirected"
	// RouteOutside: to a remote address, which is the modeled outside:
	// accepted, never captured.
	RouteOutside Route = "outside"
)

// RouteOf says which way a connection from DialAs went; false for any
// other net.Conn (wrap nothing around it before asking).
func RouteOf(c net.Conn) (Route, bool) {
	r, ok := c.(interface{ route() Route })
	if !ok {
		return "", false
	}
	return r.route(), true
}

// DialAs connects a socket owned by uid to addr ("host:port"). network is
// "tcp" or "udp" for Java's dual-stack sockets, "tcp4" / "udp4" for a
// native IPv4 socket, "tcp6" / "udp6" for a native IPv6 one. The
// connection's first packet runs through the OUTPUT chains: DROP leaves a
// TCP connect in SYN_SENT until ctx ends (or the kernel gives up after its
// SYN retries), REJECT refuses it, REDIRECT sends it to a port on the
// phone's loopback. A loopback port answers when a listener on the phone
// or an adb reverse rule holds it; anything else is the modeled outside.
// Errors are a real socket's: *net.OpError wrapping a syscall.Errno
// (ECONNREFUSED, ENETUNREACH, ETIMEDOUT).
func (s *Stack) DialAs(ctx context.Context, uid uint32, network, addr string) (net.Conn, error) {
	proto, v6sock, err := parseNetwork(network)
	if err != nil {
		return nil, err
	}
	host, portText, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, &net.OpError{Op: "dial", Net: network, Err: err}
	}
	port, err := strconv.ParseUint(portText, 10, 16)
	if err != nil {
		return nil, &net.OpError{Op: "dial", Net: network, Err: &net.AddrError{Err: "invalid port", Addr: addr}}
	}
	dst, err := s.lookup(ctx, host)
	if err != nil {
		return nil, &net.OpError{Op: "dial", Net: network, Err: err}
	}
	if network == "tcp4" || network == "udp4" {
		if !dst.Is4() {
			return nil, &net.OpError{Op: "dial", Net: network, Err: &net.AddrError{Err: "no suitable address found", Addr: addr}}
		}
	} else if (network == "tcp6" || network == "udp6") && dst.Is4() {
		dst = netip.AddrFrom16(dst.As16()) // an IPv6 socket reaches IPv4 only as ::ffff:a.b.c.d
	}
	dst = dst.Unmap() // the kernel routes a mapped address as IPv4
	fail := func(errno syscall.Errno) error {
		return &net.OpError{Op: "dial", Net: network, Addr: &net.TCPAddr{IP: dst.AsSlice(), Port: int(port)},
			Err: os.NewSyscallError("connect", errno)}
	}
	iface, src, ok := s.route(dst)
	if !ok {
		return nil, fail(syscall.ENETUNREACH)
	}
	s.mu.Lock()
	sport := s.ephemeralPort()
	s.mu.Unlock()
	fam := netfilter.IPv4
	if dst.Is6() {
		fam = netfilter.IPv6
	}
	pkt := netfilter.Packet{Proto: proto, Src: src, Dst: dst, Sport: sport, Dport: uint16(port), UID: uid, Out: iface}
	me := &sock{proto: proto, v6: v6sock, local: sockAddr(src, sport, v6sock),
		remote: sockAddr(dst, uint16(port), v6sock), state: stEstablished, uid: uid}
	if proto == "udp" {
		return s.dialUDP(me, fam, pkt), nil
	}
	v := s.filter.Output(fam, pkt)
	switch {
	case v.Drop && v.Reject == "":
		return nil, s.synSent(ctx, me, fail)
	case v.Drop:
		return nil, fail(rejectErrno(v.Reject))
	}
	target, route := netip.AddrPortFrom(dst, uint16(port)), RouteOutside
	switch {
	case v.Redirect != 0:
		target, route = netip.AddrPortFrom(netfilter.Loopback(fam), v.Redirect), RouteRedirected
	case dst.IsUnspecified(): // connect(2) to 0.0.0.0 reaches the phone itself
		target, route = netip.AddrPortFrom(src, uint16(port)), RouteLoopback
	case dst.IsLoopback():
		target, route = netip.AddrPortFrom(dst, uint16(port)), RouteLoopback
	}
	if route == RouteOutside {
		a, server := newPipe(tcpAddr(me.local), tcpAddr(me.remote))
		go serveOutside(server)
		s.mu.Lock()
		s.addSock(me)
		s.mu.Unlock()
		return s.newConn(a, me, nil, route, false), nil
	}
	c, err := s.connectLocal(ctx, me, target, netip.AddrPortFrom(src, sport), route)
	if errors.Is(err, syscall.ECONNREFUSED) {
		return nil, fmt.Errorf("%w (nothing listens on tcp:%d on the phone and no adb reverse rule carries it)",
			fail(syscall.ECONNREFUSED), target.Port())
	}
	return c, err
}

// parseNetwork reads a network name: the protocol, and whether the socket
// is AF_INET6.
func parseNetwork(network string) (proto string, v6 bool, err error) {
	switch network {
	case "tcp", "tcp6":
		return "tcp", true, nil
	case "udp", "udp6":
		return "udp", true, nil
	case "tcp4":
		return "tcp", false, nil
	case "udp4":
		return "udp", false, nil
	}
	return "", false, net.UnknownNetworkError(network)
}

// rejectErrno is what connect(2) reports for a REJECT's ICMP answer
// (net/ipv4/icmp.c icmp_err_convert; a tcp-reset is a refusal too).
func rejectErrno(with string) syscall.Errno {
	switch with {
	case "icmp-net-unreachable", "icmp-net-prohibited", "icmp6-no-route":
		return syscall.ENETUNREACH
	case "icmp-host-unreachable", "icmp-host-prohibited", "icmp-admin-prohibited",
		"icmp6-adm-prohibited", "icmp6-addr-unreachable":
		return syscall.EHOSTUNREACH
	case "icmp-proto-unreachable":
		return syscall.ENOPROTOOPT
	}
	return syscall.ECONNREFUSED
}

// synRetryTime is how long connect(2) waits when its SYNs are dropped:
// tcp_syn_retries (6) with the initial 1 s timeout doubling, 127 s.
const synRetryTime = 127 * time.Second

// synSent is a connect whose SYN a DROP rule swallowed: the socket sits in
// SYN_SENT until ctx ends or the kernel gives up.
func (s *Stack) synSent(ctx context.Context, me *sock, fail func(syscall.Errno) error) error {
	me.state = stSynSent
	s.mu.Lock()
	s.addSock(me)
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.dropSock(me)
		s.mu.Unlock()
	}()
	t := s.cfg.Clock.NewTimer(synRetryTime)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return fmt.Errorf("%w: %w", fail(syscall.ETIMEDOUT), ctx.Err())
	case <-t.C():
		return fail(syscall.ETIMEDOUT)
	}
}

// connectLocal connects me to target on the phone's loopback: a listener
// there, or adbd's listener for an adb reverse rule, whose accepted socket
// (adbd's uid) carries the connection to the host. from is the address the
// connection comes from as the accepting side sees it.
func (s *Stack) connectLocal(ctx context.Context, me *sock, target, from netip.AddrPort, route Route) (net.Conn, error) {
	s.mu.Lock()
	var l *listener
	for _, o := range s.listeners {
		if o.accepts(target) {
			l = o
			break
		}
	}
	t := s.tunnel
	s.mu.Unlock()
	if l != nil {
		return s.deliver(l, me, target, from, route)
	}
	if t == nil || !target.Addr().Is4() || target.Addr() != loopback4 {
		return nil, syscall.ECONNREFUSED // adbd's reverse listeners are on 127.0.0.1 (modeled)
	}
	stream, err := t.DialReverse(ctx, "tcp:"+strconv.Itoa(int(target.Port())))
	if errors.Is(err, adbd.ErrNoReverse) {
		return nil, syscall.ECONNREFUSED
	}
	if err != nil {
		return nil, fmt.Errorf("adb reverse tcp:%d: %w", target.Port(), err)
	}
	adbdSide := &sock{proto: "tcp", local: target, remote: from, state: stEstablished, uid: s.adbdUID()}
	s.mu.Lock()
	s.addSock(me)
	s.addSock(adbdSide)
	s.mu.Unlock()
	return s.newConn(stream, me, adbdSide, route, true), nil
}

// newConn wraps a connection's transport as me's socket.
func (s *Stack) newConn(transport net.Conn, me, peer *sock, route Route, viaAdbd bool) *tcpConn {
	c := &tcpConn{Conn: transport, s: s, me: me, peer: peer, via: route, viaAdbd: viaAdbd,
		local: tcpAddr(me.local), remote: tcpAddr(me.remote)}
	s.track(c)
	return c
}

// tcpConn is an app's end of a TCP connection: it keeps the socket
// tables in step with who closes first.
type tcpConn struct {
	net.Conn
	s             *Stack
	me, peer      *sock // peer: the other end's socket on the phone; nil for the outside
	via           Route
	viaAdbd       bool // the far end is the host, through adbd's accepted socket
	local, remote net.Addr
	once          sync.Once
}

func (c *tcpConn) route() Route         { return c.via }
func (c *tcpConn) LocalAddr() net.Addr  { return c.local }
func (c *tcpConn) RemoteAddr() net.Addr { return c.remote }

// Read sees the end of the stream; through adbd that means the host closed,
// so adbd closed its socket first.
func (c *tcpConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if err == io.EOF && c.viaAdbd {
		c.s.closeEnd(c.peer, c.me)
	}
	return n, err
}

// CloseWrite is shutdown(SHUT_WR), where the transport has it.
func (c *tcpConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

func (c *tcpConn) Close() error {
	c.once.Do(func() {
		c.s.closeEnd(c.me, c.peer)
		if c.viaAdbd {
			c.s.closeEnd(c.peer, c.me) // adbd sees the FIN and closes its side
		}
		c.s.untrack(c)
	})
	return c.Conn.Close()
}

// DialSocket implements adbd.Sockets: `adb forward tcp:H tcp:D` (or
// tcp:HOST:PORT) makes adbd connect, as its own uid, to D on the phone.
// Local sockets (localabstract: ...) are not modeled: nothing listens.
func (s *Stack) DialSocket(ctx context.Context, spec string) (net.Conn, error) {
	rest, ok := strings.CutPrefix(spec, "tcp:")
	if !ok {
		return nil, fmt.Errorf("%s: %w (the simulated phone has no local sockets)", spec, syscall.ECONNREFUSED)
	}
	addr := net.JoinHostPort("127.0.0.1", rest)
	if strings.Contains(rest, ":") {
		addr = rest
	}
	return s.DialAs(ctx, s.adbdUID(), "tcp4", addr)
}

var _ adbd.Sockets = (*Stack)(nil)

// Applets are the network tools that are toybox applets: nc.
func (s *Stack) Applets() map[string]shell.Func { return map[string]shell.Func{"nc": s.nc} }

// Commands are the network tools: nc, and iptables and ip6tables (binaries
// of their own, not toybox's).
func (s *Stack) Commands() map[string]shell.Func {
	v := netfilter.Version(s.cfg.SDK)
	return map[string]shell.Func{
		"nc":        s.nc,
		"iptables":  netfilter.Tool{Tables: s.filter, Family: netfilter.IPv4, Version: v}.Run,
		"ip6tables": netfilter.Tool{Tables: s.filter, Family: netfilter.IPv6, Version: v}.Run,
	}
}
