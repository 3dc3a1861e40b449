// Package bypass notices connections that did not go through the proxy: it
// samples the phone's sockets (/proc/net/tcp, tcp6, udp, udp6, which the
// adb shell can read, each socket with its owner's uid) while an action's
// window is open, and reports the ones to the outside that the proxy could
// not have seen, with their app. On a phone without root nothing can make
// such an app use the proxy, but "no leak" must not be said where the
// traffic was never seen.
package bypass

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Socket is one line of /proc/net/{tcp,tcp6,udp,udp6}.
type Socket struct {
	Proto  string // "tcp" or "udp"
	Local  netip.AddrPort
	Remote netip.AddrPort
	State  string // "ESTABLISHED", "SYN_SENT", ... (the kernel's TCP states; UDP uses ESTABLISHED for a connected socket)
	UID    int
	Inode  uint64
}

// states are the kernel's TCP states by their number in the st column
// (include/net/tcp_states.h).
var states = map[uint64]string{
	1: "ESTABLISHED", 2: "SYN_SENT", 3: "SYN_RECV", 4: "FIN_WAIT1", 5: "FIN_WAIT2", 6: "TIME_WAIT",
	7: "CLOSE", 8: "CLOSE_WAIT", 9: "LAST_ACK", 10: "LISTEN", 11: "CLOSING", 12: "NEW_SYN_RECV",
}

// ParseProcNet reads one /proc/net table of proto ("tcp" or "udp"; the
// IPv6 tables have the same columns, with longer addresses). The header
// line is skipped; a line that does not parse is an error naming it.
func ParseProcNet(text, proto string) ([]Socket, error) {
	var out []Socket
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for n := 1; sc.Scan(); n++ {
		f := strings.Fields(sc.Text())
		if len(f) == 0 || f[0] == "sl" {
			continue
		}
		s, err := parseLine(f, proto)
		if err != nil {
			return out, fmt.Errorf("bypass: /proc/net/%s line %d %q: %w", proto, n, sc.Text(), err)
		}
		out = append(out, s)
	}
	return out, sc.Err()
}

func parseLine(f []string, proto string) (Socket, error) {
	// sl local rem st tx:rx tr:when retrnsmt uid timeout inode ...
	if len(f) < 10 || !strings.HasSuffix(f[0], ":") {
		return Socket{}, fmt.Errorf("want at least 10 columns, the first ending in ':'")
	}
	local, err := parseAddr(f[1])
	if err != nil {
		return Socket{}, fmt.Errorf("local address: %w", err)
	}
	remote, err := parseAddr(f[2])
	if err != nil {
		return Socket{}, fmt.Errorf("remote address: %w", err)
	}
	st, err := strconv.ParseUint(f[3], 16, 8)
	if err != nil || states[st] == "" {
		return Socket{}, fmt.Errorf("state %q", f[3])
	}
	uid, err := strconv.Atoi(f[7])
	if err != nil || uid < 0 {
		return Socket{}, fmt.Errorf("uid %q", f[7])
	}
	inode, err := strconv.ParseUint(f[9], 10, 64)
	if err != nil {
		return Socket{}, fmt.Errorf("inode %q", f[9])
	}
	return Socket{Proto: proto, Local: local, Remote: remote, State: states[st], UID: uid, Inode: inode}, nil
}

// parseAddr reads "0100007F:1F90": the address as the kernel prints it,
// each 32-bit word in the machine's byte order (little-endian on the ARM
// and x86 phones Android runs on), and the port in hex.
func parseAddr(s string) (netip.AddrPort, error) {
	a, p, ok := strings.Cut(s, ":")
	if !ok {
		return netip.AddrPort{}, fmt.Errorf("%q has no port", s)
	}
	port, err := strconv.ParseUint(p, 16, 16)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("port %q", p)
	}
	raw, err := hex.DecodeString(a)
	if err != nil || len(raw) != 4 && len(raw) != 16 {
		return netip.AddrPort{}, fmt.Errorf("address %q: want 8 or 32 hex digits", a)
	}
	for i := 0; i < len(raw); i += 4 {
		binary.BigEndian.PutUint32(raw[i:], binary.LittleEndian.Uint32(raw[i:]))
	}
	addr, _ := netip.AddrFromSlice(raw)
	return netip.AddrPortFrom(addr.Unmap(), uint16(port)), nil
}
