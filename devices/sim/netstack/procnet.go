package netstack

import (
	"encoding/binary"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"time"

	"telltale.dev/devices/sim/vfs"
)

// ProcNetDir is where the kernel lists sockets.
const ProcNetDir = "/proc/net"

// PublishProc puts /proc/net/tcp, tcp6, udp and udp6 in the phone's file
// system (0444 root, readable by the shell as on Android, whose apps
// lost that access in Android 10 while adb's shell kept it).
func (s *Stack) PublishProc() error {
	if err := s.cfg.Files.MkdirAll(ProcNetDir, 0o555, vfs.RootUID); err != nil {
		return fmt.Errorf("netstack: %s: %w", ProcNetDir, err)
	}
	for _, f := range []struct {
		name   string
		proto  string
		family int
	}{{"tcp", "tcp", 4}, {"tcp6", "tcp", 6}, {"udp", "udp", 4}, {"udp6", "udp", 6}} {
		gen := func() []byte { return s.procTable(f.proto, f.family == 6) }
		if err := s.cfg.Files.Generated(ProcNetDir+"/"+f.name, 0o444, vfs.RootUID, gen); err != nil {
			return fmt.Errorf("netstack: %s/%s: %w", ProcNetDir, f.name, err)
		}
	}
	return nil
}

// The headers, as the 4.14 and 4.19 kernels of Android 10 and 11 print
// them: tcp4_seq_show and udp4_seq_show pad theirs and every line to a
// fixed width (seq_setwidth: 149 and 127 characters); the IPv6 files are
// not padded (tcp6_seq_show, IPV6_SEQ_DGRAM_HEADER).
const (
	tcpHeader  = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode"
	udpHeader  = "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops"
	tcp6Header = "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode"
	udp6Header = "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops"
	tcpWidth   = 149
	udpWidth   = 127
)

// kptr is %pK with kptr_restrict set, as on Android: kernel pointers print
// as zeros.
const kptr = "0000000000000000"

// procTable is one /proc/net file as the kernel prints it now.
func (s *Stack) procTable(proto string, v6 bool) []byte {
	now := s.cfg.Clock.Now()
	rows := s.procRows(proto, v6)
	var b strings.Builder
	width := 0
	switch {
	case proto == "tcp" && !v6:
		b.WriteString(pad(tcpHeader, tcpWidth))
		width = tcpWidth
	case proto == "tcp":
		b.WriteString(tcp6Header + "\n")
	case !v6:
		b.WriteString(pad(udpHeader, udpWidth))
		width = udpWidth
	default:
		b.WriteString(udp6Header + "\n")
	}
	for i, k := range rows {
		line := ""
		if proto == "tcp" {
			line = tcpLine(i, k, now)
		} else {
			line = udpLine(k)
		}
		if width > 0 {
			line = pad(line, width)
		} else {
			line += "\n"
		}
		b.WriteString(line)
	}
	return []byte(b.String())
}

func pad(line string, width int) string { return fmt.Sprintf("%-*s\n", width, line) }

// procRows are the sockets of a file in the kernel's order: for TCP the
// listening hash first, then established and TIME_WAIT ones; for UDP by
// hash slot. Modeled: within each, in creation order.
func (s *Stack) procRows(proto string, v6 bool) []*sock {
	reverse := s.reversePorts()
	s.mu.Lock()
	defer s.mu.Unlock()
	var rows []*sock
	if proto == "tcp" && !v6 {
		// adbd listens on 127.0.0.1 for each adb reverse rule (adb's
		// network_loopback_server; IPv4 only, modeled).
		for _, p := range slices.Sorted(maps.Keys(reverse)) {
			ino, ok := s.reverseInodes[p]
			if !ok {
				s.inode++
				ino = s.inode
				s.reverseInodes[p] = ino
			}
			rows = append(rows, &sock{proto: "tcp", local: netip.AddrPortFrom(loopback4, p),
				remote: netip.AddrPortFrom(netip.IPv4Unspecified(), 0), state: stListen, uid: s.adbdUID(), inode: ino})
		}
	}
	var rest []*sock
	for _, k := range s.socks {
		if k.proto != proto || k.v6 != v6 {
			continue
		}
		if k.state == stListen {
			rows = append(rows, k)
		} else {
			rest = append(rest, k)
		}
	}
	if proto == "udp" {
		slices.SortStableFunc(rest, func(a, b *sock) int { return int(udpSlot(a)) - int(udpSlot(b)) })
	}
	return append(rows, rest...)
}

// udpSlot is the hash slot udp4_seq_show prints in sl. Modeled: the
// local port in a 2048-slot table (the kernel adds a per-namespace mix and
// sizes the table by memory).
func udpSlot(k *sock) uint16 { return k.local.Port() & 2047 }

// hexAddr is an address as the kernel prints it: each 32-bit word of the
// network-order address printed with %08X as the CPU (little-endian on
// arm64 and x86_64) holds it, so 127.0.0.1 is 0100007F.
func hexAddr(a netip.Addr) string {
	if a.Is4() {
		b := a.As4()
		return fmt.Sprintf("%08X", binary.LittleEndian.Uint32(b[:]))
	}
	b := a.As16()
	var out strings.Builder
	for i := 0; i < 16; i += 4 {
		fmt.Fprintf(&out, "%08X", binary.LittleEndian.Uint32(b[i:i+4]))
	}
	return out.String()
}

func endpoint(ap netip.AddrPort) string { return fmt.Sprintf("%s:%04X", hexAddr(ap.Addr()), ap.Port()) }

// tcpLine is one TCP socket (net/ipv4/tcp_ipv4.c get_tcp4_sock and
// get_timewait4_sock; tcp_ipv6.c for tcp6). A TIME_WAIT entry is the
// kernel's timewait sock, which keeps no uid or inode (both print 0) and
// shows its timer (tr 3) counting down in clock ticks (USER_HZ 100).
// Queues are empty and timers idle (modeled).
func tcpLine(i int, k *sock, now time.Time) string {
	sl := fmt.Sprintf("%4d: %s %s %02X", i, endpoint(k.local), endpoint(k.remote), k.state)
	if k.state == stTimeWait {
		left := max(k.until.Sub(now), 0)
		return fmt.Sprintf("%s %08X:%08X %02X:%08X %08X %5d %8d %d %d %s",
			sl, 0, 0, 3, int64(left/(10*time.Millisecond)), 0, 0, 0, 0, 3, kptr)
	}
	// rto, ato, quick/pingpong, cwnd, ssthresh: a listener's initial RTO
	// (TCP_TIMEOUT_INIT, 1 s) and its fastopen queue (0); a connection's
	// minimum RTO (200 ms), delayed-ACK timeout (40 ms), initial window
	// of 10 and ssthresh still unset (-1).
	tr, when, tail := 0, 0, "2 "+kptr+" 20 4 30 10 -1"
	switch k.state {
	case stListen:
		tail = "1 " + kptr + " 100 0 0 10 0"
	case stSynSent:
		tr, when, tail = 1, 100, "2 "+kptr+" 100 0 0 10 -1" // the SYN's retransmit timer
	}
	return fmt.Sprintf("%s %08X:%08X %02X:%08X %08X %5d %8d %d %s",
		sl, 0, 0, tr, when, 0, k.uid, 0, k.inode, tail)
}

// udpLine is one UDP socket (udp4_format_sock; __ip6_dgram_sock_seq_show):
// sl is the hash slot, st 07 until connected, then 01.
func udpLine(k *sock) string {
	return fmt.Sprintf("%5d: %s %s %02X %08X:%08X %02X:%08X %08X %5d %8d %d %d %s %d",
		udpSlot(k), endpoint(k.local), endpoint(k.remote), k.state, 0, 0, 0, 0, 0, k.uid, 0, k.inode, 2, kptr, 0)
}
