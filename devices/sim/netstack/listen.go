package netstack

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// backlog is how many connections wait for accept (SOMAXCONN, 128 on
// the 4.x kernels of Android 10 and 11).
const backlog = 128

// listener is a listening TCP socket on the phone.
type listener struct {
	s       *Stack
	sock    *sock
	bound   netip.AddrPort
	pending chan net.Conn
	done    chan struct{}
	once    sync.Once
}

// Listen opens a listening socket owned by uid, as a program on the phone
// does (nc -l, an app's server). network is "tcp" (an AF_INET6 socket,
// which also takes IPv4 connections), "tcp4" or "tcp6"; addr is
// "[host]:port", port 0 picking a free one. A port adbd holds for an adb
// reverse rule is in use.
func (s *Stack) Listen(uid uint32, network, addr string) (net.Listener, error) {
	proto, v6, err := parseNetwork(network)
	if err != nil || proto != "tcp" {
		return nil, &net.OpError{Op: "listen", Net: network, Err: net.UnknownNetworkError(network)}
	}
	host, portText, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, &net.OpError{Op: "listen", Net: network, Err: err}
	}
	port, err := strconv.ParseUint(portText, 10, 16)
	if err != nil {
		return nil, &net.OpError{Op: "listen", Net: network, Err: &net.AddrError{Err: "invalid port", Addr: addr}}
	}
	var a netip.Addr
	switch {
	case host == "" && v6:
		a = netip.IPv6Unspecified()
	case host == "":
		a = netip.IPv4Unspecified()
	default:
		if a, err = netip.ParseAddr(host); err != nil || (a.Is4() && network == "tcp6") || (a.Is6() && !v6) {
			return nil, &net.OpError{Op: "listen", Net: network, Err: &net.AddrError{Err: "cannot bind", Addr: addr}}
		}
	}
	reverse := s.reversePorts()
	s.mu.Lock()
	defer s.mu.Unlock()
	if port == 0 {
		port = uint64(s.ephemeralPort())
	}
	for _, l := range s.listeners {
		if l.bound.Port() == uint16(port) {
			return nil, bindError(network, addr)
		}
	}
	if reverse[uint16(port)] {
		return nil, bindError(network, addr)
	}
	bound := sockAddr(a, uint16(port), v6)
	l := &listener{s: s, bound: bound, pending: make(chan net.Conn, backlog), done: make(chan struct{})}
	l.sock = s.addSock(&sock{proto: "tcp", v6: v6, local: bound, remote: netip.AddrPortFrom(unspecified(v6), 0),
		state: stListen, uid: uid})
	s.listeners = append(s.listeners, l)
	s.live[l] = true
	return l, nil
}

func bindError(network, addr string) error {
	return fmt.Errorf("listen %s %s: %w", network, addr, os.NewSyscallError("bind", syscall.EADDRINUSE))
}

func unspecified(v6 bool) netip.Addr {
	if v6 {
		return netip.IPv6Unspecified()
	}
	return netip.IPv4Unspecified()
}

// accepts says whether a connection to target reaches l: its port, and an
// address it is bound to (a wildcard takes every local address; an IPv4
// wildcard only IPv4).
func (l *listener) accepts(target netip.AddrPort) bool {
	if target.Port() != l.bound.Port() {
		return false
	}
	b := l.bound.Addr().Unmap()
	switch {
	case b == netip.IPv6Unspecified():
		return true
	case b.IsUnspecified():
		return target.Addr().Is4()
	}
	return b == target.Addr().Unmap()
}

// deliver puts a connection from me to target into l's accept queue: the
// kernel completes the handshake before accept(2), so both sockets are
// ESTABLISHED at once. The accepted socket belongs to the listener's uid.
func (s *Stack) deliver(l *listener, me *sock, target, from netip.AddrPort, route Route) (net.Conn, error) {
	v6 := l.sock.v6
	acc := &sock{proto: "tcp", v6: v6, local: sockAddr(target.Addr(), target.Port(), v6),
		remote: sockAddr(from.Addr(), from.Port(), v6), state: stEstablished, uid: l.sock.uid}
	a, b := newPipe(tcpAddr(me.local), tcpAddr(me.remote))
	b.local, b.remote = tcpAddr(acc.local), tcpAddr(acc.remote)
	s.mu.Lock()
	s.addSock(me)
	s.addSock(acc)
	s.mu.Unlock()
	accepted := s.newConn(b, acc, me, RouteLoopback, false)
	select {
	case l.pending <- accepted:
	case <-l.done:
		accepted.Close()
		return nil, syscall.ECONNREFUSED
	default:
		accepted.Close() // the backlog is full: the SYN is dropped (modeled as refused)
		return nil, syscall.ECONNREFUSED
	}
	return s.newConn(a, me, acc, route, false), nil
}

func (l *listener) Accept() (net.Conn, error) {
	select {
	case c := <-l.pending:
		return c, nil
	case <-l.done:
		return nil, &net.OpError{Op: "accept", Net: "tcp", Addr: l.Addr(), Err: net.ErrClosed}
	}
}

// Close stops listening; connections not yet accepted are reset.
func (l *listener) Close() error {
	l.once.Do(func() {
		s := l.s
		s.mu.Lock()
		s.dropSock(l.sock)
		for i, o := range s.listeners {
			if o == l {
				s.listeners = append(s.listeners[:i:i], s.listeners[i+1:]...)
				break
			}
		}
		delete(s.live, l)
		s.mu.Unlock()
		close(l.done)
		for {
			select {
			case c := <-l.pending:
				c.Close()
			default:
				return
			}
		}
	})
	return nil
}

func (l *listener) Addr() net.Addr { return tcpAddr(l.bound) }

// reversePorts are the ports adbd listens on for adb reverse rules.
func (s *Stack) reversePorts() map[uint16]bool {
	s.mu.Lock()
	t := s.tunnel
	s.mu.Unlock()
	out := map[uint16]bool{}
	r, ok := t.(interface{ ReverseLocals() []string })
	if !ok {
		return out
	}
	for _, local := range r.ReverseLocals() {
		if p, ok := strings.CutPrefix(local, "tcp:"); ok {
			if n, err := strconv.ParseUint(p, 10, 16); err == nil {
				out[uint16(n)] = true
			}
		}
	}
	return out
}
