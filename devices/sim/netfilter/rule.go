package netfilter

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"telltale.dev/devices/sim/identity"
)

// Rule is one rule of a chain: the IP part (protocol, addresses,
// interfaces), the matches loaded with -m (or implicitly by -p), and the
// target with its options.
type Rule struct {
	Proto    string // "" for all; "tcp", "udp", "icmp", "icmpv6"
	InvProto bool
	Src, Dst netip.Prefix // invalid: any
	InvSrc   bool
	InvDst   bool
	In, Out  string // interface names; "" for any
	InvIn    bool
	InvOut   bool

	Matches []Match

	// Target is ACCEPT, DROP, RETURN, REJECT, REDIRECT, a user chain, or
	// "" for a rule that only counts.
	Target string
	Goto   bool   // -g: continue in Target without returning here
	Reject string // REJECT --reject-with, in its canonical name
	// Ports is REDIRECT --to-ports: first and last; 0 keeps the packet's port.
	Ports [2]uint16
	// Random is REDIRECT --random.
	Random bool

	// Packets counts the packets (first packets of connections) the rule matched.
	Packets uint64
}

// Match is a -m extension in a rule.
type Match struct {
	Name string // "owner", "tcp", "udp", "comment"

	// owner: --uid-owner MIN[-MAX]
	UIDs   [2]uint32
	InvUID bool

	// tcp, udp: --sport / --dport FIRST[:LAST]; HasSport/HasDport say given.
	Sport, Dport       [2]uint16
	HasSport, HasDport bool
	InvSport, InvDport bool

	// comment: --comment TEXT
	Comment string
}

// Packet is what the rules look at: the first packet of a connection (or a
// datagram) a socket on the phone sends.
type Packet struct {
	Proto        string // "tcp" or "udp"
	Src, Dst     netip.Addr
	Sport, Dport uint16
	UID          uint32
	In, Out      string
}

// matches applies the rule's IP part and matches to p.
func (r *Rule) matches(p Packet) bool {
	if r.Proto != "" && (r.Proto == p.Proto) == r.InvProto {
		return false
	}
	if !prefixMatch(r.Src, r.InvSrc, p.Src) || !prefixMatch(r.Dst, r.InvDst, p.Dst) {
		return false
	}
	if !ifaceMatch(r.In, r.InvIn, p.In) || !ifaceMatch(r.Out, r.InvOut, p.Out) {
		return false
	}
	for _, m := range r.Matches {
		if !m.matches(p) {
			return false
		}
	}
	return true
}

func prefixMatch(pfx netip.Prefix, inv bool, a netip.Addr) bool {
	if !pfx.IsValid() {
		return !inv
	}
	return pfx.Contains(a) != inv
}

// ifaceMatch is the kernel's interface match: a trailing "+" matches any
// name with that prefix (iptables(8), -o).
func ifaceMatch(want string, inv bool, got string) bool {
	if want == "" {
		return true
	}
	ok := want == got
	if prefix, plus := strings.CutSuffix(want, "+"); plus {
		ok = strings.HasPrefix(got, prefix)
	}
	return ok != inv
}

func (m *Match) matches(p Packet) bool {
	switch m.Name {
	case "owner":
		return (p.UID >= m.UIDs[0] && p.UID <= m.UIDs[1]) != m.InvUID
	case "tcp", "udp":
		if p.Proto != m.Name {
			return false
		}
		if m.HasSport && inRange(p.Sport, m.Sport) == m.InvSport {
			return false
		}
		if m.HasDport && inRange(p.Dport, m.Dport) == m.InvDport {
			return false
		}
	}
	return true // comment
}

func inRange(port uint16, r [2]uint16) bool { return port >= r[0] && port <= r[1] }

// save writes the rule as iptables -S prints it (iptables.c print_rule4 and
// the extensions' save functions, iptables 1.8): addresses, interfaces and
// protocol first, then each match with -m, the counters with -v, then the
// target.
func (r *Rule) save(b *strings.Builder, fam Family, counters bool) {
	saveAddr(b, 's', r.Src, r.InvSrc, fam)
	saveAddr(b, 'd', r.Dst, r.InvDst, fam)
	saveIface(b, 'i', r.In, r.InvIn)
	saveIface(b, 'o', r.Out, r.InvOut)
	if r.Proto != "" {
		if r.InvProto {
			b.WriteString(" !")
		}
		b.WriteString(" -p " + r.Proto)
	}
	for _, m := range r.Matches {
		b.WriteString(" -m " + m.Name)
		m.save(b)
	}
	if counters {
		fmt.Fprintf(b, " -c %d 0", r.Packets)
	}
	switch {
	case r.Target == "":
	case r.Goto:
		b.WriteString(" -g " + r.Target)
	default:
		b.WriteString(" -j " + r.Target)
	}
	r.saveTarget(b)
}

// saveAddr prints -s/-d in canonical form ("127.0.0.0/8"); a rule for any
// address prints nothing (xshared.c save_ipv4_addr).
func saveAddr(b *strings.Builder, letter byte, p netip.Prefix, inv bool, fam Family) {
	if !p.IsValid() {
		if inv {
			fmt.Fprintf(b, " ! -%c %s", letter, anyPrefix(fam))
		}
		return
	}
	if inv {
		b.WriteString(" !")
	}
	fmt.Fprintf(b, " -%c %s", letter, p.Masked())
}

func anyPrefix(fam Family) string {
	if fam == IPv6 {
		return "::/0"
	}
	return "0.0.0.0/0"
}

func saveIface(b *strings.Builder, letter byte, name string, inv bool) {
	if name == "" {
		return
	}
	if inv {
		b.WriteString(" !")
	}
	fmt.Fprintf(b, " -%c %s", letter, name)
}

func (m *Match) save(b *strings.Builder) {
	switch m.Name {
	case "owner":
		// libxt_owner.c owner_mt_save: " ! --uid-owner MIN[-MAX]".
		if m.InvUID {
			b.WriteString(" !")
		}
		b.WriteString(" --uid-owner " + uidRange(m.UIDs, "-"))
	case "tcp", "udp":
		// libxt_tcp.c / libxt_udp.c save: source port before destination.
		if m.HasSport {
			if m.InvSport {
				b.WriteString(" !")
			}
			b.WriteString(" --sport " + portRange(m.Sport))
		}
		if m.HasDport {
			if m.InvDport {
				b.WriteString(" !")
			}
			b.WriteString(" --dport " + portRange(m.Dport))
		}
	case "comment":
		b.WriteString(" --comment")
		saveString(b, m.Comment)
	}
}

func uidRange(r [2]uint32, sep string) string {
	if r[0] == r[1] {
		return strconv.FormatUint(uint64(r[0]), 10)
	}
	return strconv.FormatUint(uint64(r[0]), 10) + sep + strconv.FormatUint(uint64(r[1]), 10)
}

func portRange(r [2]uint16) string {
	if r[0] == r[1] {
		return strconv.Itoa(int(r[0]))
	}
	return strconv.Itoa(int(r[0])) + ":" + strconv.Itoa(int(r[1]))
}

// saveString is libxtables' xtables_save_string: a word of safe characters
// as it is, anything else in double quotes with ", \ and ' escaped.
func saveString(b *strings.Builder, s string) {
	const safe = "_-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	if s != "" && strings.Trim(s, safe) == "" {
		b.WriteString(" " + s)
		return
	}
	b.WriteString(` "`)
	for _, c := range s {
		if strings.ContainsRune(`"\'`, c) {
			b.WriteByte('\\')
		}
		b.WriteRune(c)
	}
	b.WriteByte('"')
}

func (r *Rule) saveTarget(b *strings.Builder) {
	switch r.Target {
	case "REJECT":
		b.WriteString(" --reject-with " + r.Reject)
	case "REDIRECT":
		// libxt_REDIRECT.c REDIRECT_save.
		if r.Ports[0] != 0 {
			b.WriteString(" --to-ports " + strconv.Itoa(int(r.Ports[0])))
			if r.Ports[1] != r.Ports[0] {
				b.WriteString("-" + strconv.Itoa(int(r.Ports[1])))
			}
		}
		if r.Random {
			b.WriteString(" --random")
		}
	}
}

// print writes what -L shows after the addresses: each match's and the
// target's own words, each with a leading space (the extensions' print
// functions). numeric is -n: numbers for users and ports.
func (r *Rule) print(b *strings.Builder, numeric bool) {
	for _, m := range r.Matches {
		m.print(b, numeric)
	}
	switch r.Target {
	case "REJECT":
		b.WriteString(" reject-with " + r.Reject)
	case "REDIRECT":
		if r.Ports[0] != 0 {
			b.WriteString(" redir ports " + strconv.Itoa(int(r.Ports[0])))
			if r.Ports[1] != r.Ports[0] {
				b.WriteString("-" + strconv.Itoa(int(r.Ports[1])))
			}
		}
		if r.Random {
			b.WriteString(" random")
		}
	}
}

func (m *Match) print(b *strings.Builder, numeric bool) {
	switch m.Name {
	case "owner":
		// libxt_owner.c owner_mt_print: a name from getpwuid unless -n;
		// bionic names app uids u0_aN.
		b.WriteString(" owner UID match")
		if m.InvUID {
			b.WriteString(" !")
		}
		if m.UIDs[0] == m.UIDs[1] && !numeric {
			b.WriteString(" " + identity.Name(m.UIDs[0]))
		} else {
			b.WriteString(" " + uidRange(m.UIDs, "-"))
		}
	case "tcp", "udp":
		// libxt_tcp.c print_ports: "spt:" / "dpt:" for one port, "spts:" /
		// "dpts:" for a range, "!" after the colon when inverted, service
		// names unless -n.
		b.WriteString(" " + m.Name)
		if m.HasSport {
			printPorts(b, "spt", m.Sport, m.InvSport, numeric)
		}
		if m.HasDport {
			printPorts(b, "dpt", m.Dport, m.InvDport, numeric)
		}
	case "comment":
		b.WriteString(" /* " + m.Comment + " */")
	}
}

func printPorts(b *strings.Builder, name string, r [2]uint16, inv, numeric bool) {
	bang := ""
	if inv {
		bang = "!"
	}
	if r[0] == r[1] {
		fmt.Fprintf(b, " %s:%s%s", name, bang, service(r[0], numeric))
		return
	}
	fmt.Fprintf(b, " %ss:%s%s:%s", name, bang, service(r[0], numeric), service(r[1], numeric))
}

// services are the names bionic's getservbyport gives the ports the
// harness uses (bionic/libc/dns/net/services.h).
var services = map[uint16]string{53: "domain", 80: "http", 443: "https"}

func service(port uint16, numeric bool) string {
	if name, ok := services[port]; ok && !numeric {
		return name
	}
	return strconv.Itoa(int(port))
}
