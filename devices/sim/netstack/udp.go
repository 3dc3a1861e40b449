package netstack

import (
	"crypto/rand"
	"net"
	"os"
	"sync"
	"syscall"
	"time"

	"telltale.dev/devices/sim/netfilter"
)

// udpConn is a connected UDP socket. Each datagram runs through the OUTPUT
// chains when it is sent: a DROP or REJECT makes sendmsg(2) fail with
// EPERM at once (ip_local_out's NF_DROP), and a REJECT's ICMP error then
// waits on the socket, so the next send or receive fails with it
// (ECONNREFUSED for port-unreachable), as Linux reports errors on
// connected UDP sockets.
type udpConn struct {
	s   *Stack
	me  *sock
	fam netfilter.Family
	pkt netfilter.Packet

	mu      sync.Mutex
	via     Route
	inbox   [][]byte
	pending syscall.Errno
	closed  bool
	changed chan struct{}
	rd      time.Time
	moved   chan struct{}
}

func (s *Stack) dialUDP(me *sock, fam netfilter.Family, pkt netfilter.Packet) *udpConn {
	via := RouteOutside
	if pkt.Dst.IsLoopback() {
		via = RouteLoopback
	}
	s.mu.Lock()
	s.addSock(me)
	s.mu.Unlock()
	c := &udpConn{s: s, me: me, fam: fam, pkt: pkt, via: via, changed: make(chan struct{}), moved: make(chan struct{})}
	s.track(c)
	return c
}

func (c *udpConn) route() Route {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.via
}

func (c *udpConn) LocalAddr() net.Addr  { return udpAddr(c.me.local) }
func (c *udpConn) RemoteAddr() net.Addr { return udpAddr(c.me.remote) }

func (c *udpConn) opErr(op string, errno syscall.Errno) error {
	return &net.OpError{Op: op, Net: "udp", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: os.NewSyscallError(op, errno)}
}

// wake tells readers to look again; c.mu is held.
func (c *udpConn) wake() {
	close(c.changed)
	c.changed = make(chan struct{})
}

func (c *udpConn) Write(b []byte) (int, error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return 0, net.ErrClosed
	}
	if e := c.pending; e != 0 {
		c.pending = 0
		c.mu.Unlock()
		return 0, c.opErr("write", e)
	}
	c.mu.Unlock()
	v := c.s.filter.Output(c.fam, c.pkt)
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case v.Drop:
		if v.Reject != "" {
			c.pending = rejectErrno(v.Reject)
			c.wake()
		}
		return 0, c.opErr("write", syscall.EPERM)
	case v.Redirect != 0 || c.via == RouteLoopback:
		// No UDP socket on the phone listens (modeled): the loopback's
		// port-unreachable comes back as ECONNREFUSED.
		if v.Redirect != 0 {
			c.via = RouteRedirected
		}
		c.pending = syscall.ECONNREFUSED
		c.wake()
	case c.pkt.Dport == 443 && quicInitial(b):
		c.inbox = append(c.inbox, quicServerInitial())
		c.wake()
	}
	return len(b), nil
}

func (c *udpConn) Read(b []byte) (int, error) {
	for {
		c.mu.Lock()
		switch {
		case c.closed:
			c.mu.Unlock()
			return 0, net.ErrClosed
		case c.pending != 0:
			e := c.pending
			c.pending = 0
			c.mu.Unlock()
			return 0, c.opErr("read", e)
		case len(c.inbox) > 0:
			n := copy(b, c.inbox[0])
			c.inbox = c.inbox[1:]
			c.mu.Unlock()
			return n, nil
		}
		changed, moved, dl := c.changed, c.moved, c.rd
		c.mu.Unlock()
		if err := await(changed, moved, dl); err != nil {
			return 0, err
		}
	}
}

func (c *udpConn) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return net.ErrClosed
	}
	c.closed = true
	c.wake()
	c.mu.Unlock()
	c.s.mu.Lock()
	c.s.dropSock(c.me)
	c.s.mu.Unlock()
	c.s.untrack(c)
	return nil
}

func (c *udpConn) SetDeadline(t time.Time) error    { return c.SetReadDeadline(t) }
func (c *udpConn) SetWriteDeadline(time.Time) error { return nil } // sends never wait
func (c *udpConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rd = t
	close(c.moved)
	c.moved = make(chan struct{})
	return nil
}

// quicInitial says whether a datagram is a QUIC version 1 Initial packet:
// long header and fixed bit set, type 0, version 0x00000001 (RFC 9000
// section 17.2).
func quicInitial(b []byte) bool {
	return len(b) >= 5 && b[0]&0xF0 == 0xC0 && b[1] == 0 && b[2] == 0 && b[3] == 0 && b[4] == 1
}

// quicServerInitial is the modeled outside's answer to a QUIC Initial: a
// server's Initial, opaque after its header (its keys are the server's).
// Modeled: the outside accepts QUIC, as the real servers apps hint QUIC
// for do.
func quicServerInitial() []byte {
	b := make([]byte, 1200) // a server pads its first flight too (RFC 9000 section 14.1)
	_, _ = rand.Read(b)
	b[0] = 0xC0 | b[0]&0x0F
	copy(b[1:5], []byte{0, 0, 0, 1})
	return b
}

// QUICInitial is a client's first QUIC v1 packet for the simulated apps:
// long header, Initial, version 1, random connection ID, padded to 1200
// bytes (RFC 9000 section 14.1); its protected payload is opaque.
func QUICInitial() []byte {
	b := make([]byte, 1200)
	_, _ = rand.Read(b)
	b[0] = 0xC3 // Initial, 4-byte packet number
	copy(b[1:5], []byte{0, 0, 0, 1})
	b[5] = 8 // destination connection ID length
	return b
}
