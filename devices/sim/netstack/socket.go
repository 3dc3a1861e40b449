package netstack

import (
	"net/netip"
	"time"

	"telltale.dev/devices/sim/clock"
)

// TCP states as the kernel numbers them (include/net/tcp_states.h) and
// /proc/net/tcp prints them in the st column. A UDP socket is CLOSE
// until connected, then ESTABLISHED.
const (
	stEstablished byte = 0x01
	stSynSent     byte = 0x02
	stTimeWait    byte = 0x06
	stClose       byte = 0x07
	stCloseWait   byte = 0x08
	stListen      byte = 0x0A
)

// timeWait is how long a connection stays in TIME_WAIT after the side
// that closed it first has closed (include/net/tcp.h TCP_TIMEWAIT_LEN,
// 60 s).
const timeWait = 60 * time.Second

// sock is one socket in the kernel's tables, as /proc/net shows it.
type sock struct {
	proto string // "tcp" or "udp"
	// v6 is an AF_INET6 socket: Java's (dual-stack, IPv4 peers as
	// ::ffff:a.b.c.d) or one bound to an IPv6 address.
	v6            bool
	local, remote netip.AddrPort
	state         byte
	uid           uint32
	inode         uint64
	seq           uint64 // creation order, which the listing follows

	closed bool      // its owner closed it
	until  time.Time // end of TIME_WAIT, on the phone's clock
	timer  clock.Timer
}

// addSock registers a socket; s.mu is held.
func (s *Stack) addSock(k *sock) *sock {
	s.seq++
	s.inode++
	k.seq, k.inode = s.seq, s.inode
	s.socks = append(s.socks, k)
	return k
}

// dropSock forgets a socket; s.mu is held.
func (s *Stack) dropSock(k *sock) {
	if k.timer != nil {
		k.timer.Stop()
	}
	for i, o := range s.socks {
		if o == k {
			s.socks = append(s.socks[:i:i], s.socks[i+1:]...)
			return
		}
	}
}

// closeEnd is me's owner closing it; peer is the socket at the other end
// when it is on the phone too (nil for the outside). The side that closes
// first waits in TIME_WAIT and leaves its peer in CLOSE_WAIT; the side that
// closes second is gone once its FIN is acknowledged (RFC 793's state
// diagram; modeled: no FIN_WAIT or LAST_ACK step is shown).
func (s *Stack) closeEnd(me, peer *sock) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if me.closed {
		return
	}
	me.closed = true
	if peer != nil && peer.closed {
		s.dropSock(me)
		return
	}
	if peer != nil {
		peer.state = stCloseWait
	}
	me.state = stTimeWait
	me.until = s.cfg.Clock.Now().Add(timeWait)
	me.timer = s.cfg.Clock.AfterFunc(timeWait, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.dropSock(me)
	})
}

// ephemeralPort picks a local port for a connection from Linux's default
// ip_local_port_range, 32768-60999 (net/ipv4/af_inet.c), skipping ports in
// use; s.mu is held.
func (s *Stack) ephemeralPort() uint16 {
	const lo, hi = 32768, 60999
	for range hi - lo + 1 {
		s.nextPort++
		if s.nextPort < lo || s.nextPort > hi {
			s.nextPort = lo
		}
		p := uint16(s.nextPort)
		if !s.portInUse(p) {
			return p
		}
	}
	return 0
}

func (s *Stack) portInUse(p uint16) bool {
	for _, k := range s.socks {
		if k.local.Port() == p {
			return true
		}
	}
	return false
}
