package netfilter_test

import (
	"context"
	"net/netip"
	"strings"
	"testing"

	"telltale.dev/devices/sim/internal/cmdtest"
	"telltale.dev/devices/sim/netfilter"
	"telltale.dev/devices/sim/shell"
)

var root = shell.WithUID(context.Background(), 0)

type tools struct {
	t      *testing.T
	tables *netfilter.Tables
	v4, v6 netfilter.Tool
}

func newTools(t *testing.T) *tools {
	tb := netfilter.New()
	return &tools{t: t, tables: tb,
		v4: netfilter.Tool{Tables: tb, Family: netfilter.IPv4, Version: "1.8.4"},
		v6: netfilter.Tool{Tables: tb, Family: netfilter.IPv6, Version: "1.8.4"}}
}

// run runs iptables (or ip6tables) as root.
func (x *tools) run(tool netfilter.Tool, line string) cmdtest.Result {
	x.t.Helper()
	name := "iptables"
	if tool.Family == netfilter.IPv6 {
		name = "ip6tables"
	}
	return cmdtest.Run(root, tool.Run, append([]string{name}, strings.Fields(line)...)...)
}

func (x *tools) must(tool netfilter.Tool, line string) string {
	x.t.Helper()
	r := x.run(tool, line)
	if r.Code != 0 {
		x.t.Fatalf("%s: exit %d: %s", line, r.Code, r.Err)
	}
	return r.Out
}

// The nat table as netd leaves it at boot (Controllers.cpp NAT_PREROUTING,
// NAT_POSTROUTING; IPv4 only), in iptables -S's order.
const bootNat = `-P PREROUTING ACCEPT
-P INPUT ACCEPT
-P OUTPUT ACCEPT
-P POSTROUTING ACCEPT
-N oem_nat_pre
-N tetherctrl_nat_POSTROUTING
-A PREROUTING -j oem_nat_pre
-A POSTROUTING -j tetherctrl_nat_POSTROUTING
`

func TestBootTablesAreNetds(t *testing.T) {
	x := newTools(t)
	if got := x.must(x.v4, "-t nat -S"); got != bootNat {
		t.Errorf("iptables -t nat -S:\n%s", got)
	}
	if got := x.must(x.v6, "-t nat -S"); got != "-P PREROUTING ACCEPT\n-P INPUT ACCEPT\n-P OUTPUT ACCEPT\n-P POSTROUTING ACCEPT\n" {
		t.Errorf("ip6tables -t nat -S (netd makes no IPv6 nat chains):\n%s", got)
	}
	out := x.must(x.v4, "-S OUTPUT")
	if out != "-P OUTPUT ACCEPT\n-A OUTPUT -j oem_out\n-A OUTPUT -j fw_OUTPUT\n-A OUTPUT -j st_OUTPUT\n-A OUTPUT -j bw_OUTPUT\n" {
		t.Errorf("iptables -S OUTPUT:\n%s", out)
	}
}

func TestRedirectRuleListedAndRemoved(t *testing.T) {
	x := newTools(t)
	rule := "-t nat -A OUTPUT -p tcp ! -d 127.0.0.1/8 -m owner --uid-owner 10057 -j REDIRECT --to-ports 8080"
	x.must(x.v4, rule)
	x.must(x.v4, "-t nat -I OUTPUT 1 -p tcp -o lo -j RETURN")
	want := "-P OUTPUT ACCEPT\n-A OUTPUT -o lo -p tcp -j RETURN\n" +
		"-A OUTPUT ! -d 127.0.0.0/8 -p tcp -m owner --uid-owner 10057 -j REDIRECT --to-ports 8080\n"
	if got := x.must(x.v4, "-t nat -S OUTPUT"); got != want {
		t.Errorf("-S OUTPUT:\n%s\nwant:\n%s", got, want)
	}
	list := x.must(x.v4, "-t nat -n -L OUTPUT --line-numbers")
	wantList := "Chain OUTPUT (policy ACCEPT)\n" +
		"num  target     prot opt source               destination         \n" +
		"1    RETURN     tcp  --  0.0.0.0/0            0.0.0.0/0           \n" +
		"2    REDIRECT   tcp  --  0.0.0.0/0           !127.0.0.0/8          owner UID match 10057 redir ports 8080\n"
	if list != wantList {
		t.Errorf("-n -L OUTPUT:\n%q\nwant:\n%q", list, wantList)
	}
	if got := x.must(x.v4, "-t nat -L OUTPUT"); !strings.Contains(got, "anywhere            !127.0.0.0/8          owner UID match u0_a57 redir ports 8080") {
		t.Errorf("-L without -n names the uid as bionic does:\n%s", got)
	}
	// -D takes the same rule spelled differently (a host bit in the
	// address, the long option names).
	x.must(x.v4, "-t nat --delete OUTPUT -p tcp ! -d 127.0.0.0/8 -m owner --uid-owner 10057 -j REDIRECT --to-ports=8080")
	x.must(x.v4, "-t nat -D OUTPUT 1")
	if got := x.must(x.v4, "-t nat -S"); got != bootNat {
		t.Errorf("after removal:\n%s", got)
	}
	if r := x.run(x.v4, "-t nat -D OUTPUT -p tcp -j RETURN"); r.Code != 1 || r.Err != "iptables: Bad rule (does a matching rule exist in that chain?).\n" {
		t.Errorf("deleting a missing rule: %+v", r)
	}
}

func TestOutputVerdicts(t *testing.T) {
	x := newTools(t)
	x.must(x.v4, "-t nat -N TT_OUT")
	x.must(x.v4, "-t nat -A OUTPUT -j TT_OUT")
	x.must(x.v4, "-t nat -A TT_OUT -d 127.0.0.0/8 -j RETURN")
	x.must(x.v4, "-t nat -A TT_OUT -p tcp -m owner --uid-owner 10050-10060 -j REDIRECT --to-ports 9001")
	x.must(x.v4, "-A OUTPUT -p udp --dport 443 -j REJECT")
	x.must(x.v6, "-A OUTPUT -p udp -m udp --dport 443 -j REJECT --reject-with icmp6-adm-prohibited")
	remote := netip.MustParseAddr("198.18.0.7")
	cases := []struct {
		name string
		fam  netfilter.Family
		p    netfilter.Packet
		want netfilter.Verdict
	}{
		{"app in range", netfilter.IPv4, netfilter.Packet{Proto: "tcp", Dst: remote, Dport: 443, UID: 10057, Out: "wlan0"}, netfilter.Verdict{Redirect: 9001}},
		{"other app", netfilter.IPv4, netfilter.Packet{Proto: "tcp", Dst: remote, Dport: 443, UID: 10061, Out: "wlan0"}, netfilter.Verdict{}},
		{"loopback", netfilter.IPv4, netfilter.Packet{Proto: "tcp", Dst: netip.MustParseAddr("127.0.0.1"), Dport: 8080, UID: 10057, Out: "lo"}, netfilter.Verdict{}},
		{"quic", netfilter.IPv4, netfilter.Packet{Proto: "udp", Dst: remote, Dport: 443, UID: 10057, Out: "wlan0"}, netfilter.Verdict{Drop: true, Reject: "icmp-port-unreachable"}},
		{"dns", netfilter.IPv4, netfilter.Packet{Proto: "udp", Dst: remote, Dport: 53, UID: 10057, Out: "wlan0"}, netfilter.Verdict{}},
		{"quic6", netfilter.IPv6, netfilter.Packet{Proto: "udp", Dst: netip.MustParseAddr("2001:db8::1"), Dport: 443, UID: 10057, Out: "wlan0"}, netfilter.Verdict{Drop: true, Reject: "icmp6-adm-prohibited"}},
		{"tcp6 not redirected by iptables", netfilter.IPv6, netfilter.Packet{Proto: "tcp", Dst: netip.MustParseAddr("2001:db8::1"), Dport: 443, UID: 10057, Out: "wlan0"}, netfilter.Verdict{}},
	}
	for _, c := range cases {
		if got := x.tables.Output(c.fam, c.p); got != c.want {
			t.Errorf("%s: %+v, want %+v", c.name, got, c.want)
		}
	}
	// The filter table sees the redirected destination: a REJECT for the
	// proxy's port on lo refuses the redirected connection.
	x.must(x.v4, "-A OUTPUT -o lo -p tcp --dport 9001 -j REJECT --reject-with tcp-reset")
	got := x.tables.Output(netfilter.IPv4, netfilter.Packet{Proto: "tcp", Dst: remote, Dport: 443, UID: 10057, Out: "wlan0"})
	if !got.Drop || got.Reject != "tcp-reset" {
		t.Errorf("filter after REDIRECT: %+v", got)
	}
	if out := x.must(x.v4, "-t nat -v -S TT_OUT"); !strings.Contains(out, "--uid-owner 10050-10060 -c 2 0 -j REDIRECT --to-ports 9001") {
		t.Errorf("counters:\n%s", out)
	}
}

func TestRefusalsAndErrors(t *testing.T) {
	x := newTools(t)
	shellUID := context.Background() // adb shell runs as uid 2000
	r := cmdtest.Run(shellUID, x.v4.Run, "iptables", "-t", "nat", "-S")
	if r.Code != 3 || r.Out != "" || r.Err != "iptables v1.8.4 (legacy): can't initialize iptables table `nat': Permission denied (you must be root)\nPerhaps iptables or your kernel needs to be upgraded.\n" {
		t.Errorf("iptables as the shell: %+v", r)
	}
	r = cmdtest.Run(shellUID, x.v6.Run, "ip6tables", "-S")
	if r.Code != 3 || !strings.HasPrefix(r.Err, "ip6tables v1.8.4 (legacy): can't initialize ip6tables table `filter': Permission denied (you must be root)\nPerhaps ip6tables") {
		t.Errorf("ip6tables as the shell: %+v", r)
	}
	// The command line is checked before the kernel is asked.
	r = cmdtest.Run(shellUID, x.v4.Run, "iptables", "-A", "OUTPUT", "--dport", "443")
	if r.Code != 2 || r.Err != "iptables v1.8.4 (legacy): unknown option \"--dport\"\nTry `iptables -h' or 'iptables --help' for more information.\n" {
		t.Errorf("bad option as the shell: %+v", r)
	}
	for _, c := range []struct {
		line, err string
		code      int
	}{
		{"-N bw_INPUT", "iptables: Chain already exists.\n", 1},
		{"-X bw_INPUT", "iptables: Too many links.\n", 1},
		{"-F nope", "iptables: No chain/target/match by that name.\n", 1},
		{"-A nope -j ACCEPT", "iptables: No chain/target/match by that name.\n", 1},
		{"-A OUTPUT -j nope", "iptables v1.8.4 (legacy): Couldn't load target `nope':No such file or directory\n\nTry `iptables -h' or 'iptables --help' for more information.\n", 2},
		{"-A OUTPUT -p tcp -j REDIRECT --to-ports 8080", "iptables: Invalid argument. Run `dmesg' for more information.\n", 1},
		{"-t nat -A POSTROUTING -m owner --uid-owner 0 -j RETURN", "", 0},
		{"-t nat -A PREROUTING -m owner --uid-owner 0 -j RETURN", "iptables: Invalid argument. Run `dmesg' for more information.\n", 1},
		{"-t nat -A OUTPUT -j DROP", "iptables v1.8.4 (legacy): \nThe \"nat\" table is not intended for filtering, the use of DROP is therefore inhibited.\n\n\nTry `iptables -h' or 'iptables --help' for more information.\n", 2},
		{"-t broute -S", "iptables v1.8.4 (legacy): can't initialize iptables table `broute': Table does not exist (do you need to insmod?)\nPerhaps iptables or your kernel needs to be upgraded.\n", 3},
		{"-D OUTPUT 9", "iptables: Index of deletion too big.\n", 1},
		{"-I OUTPUT 9 -j ACCEPT", "iptables: Index of insertion too big.\n", 1},
		{"-p sctp -A OUTPUT", "iptables v1.8.4 (legacy): unknown protocol \"sctp\" specified\nTry `iptables -h' or 'iptables --help' for more information.\n", 2},
		{"-P oem_out DROP", "iptables: Bad built-in chain name.\n", 1},
		{"-A OUTPUT -j DNAT", "iptables v1.8.4 (legacy): the simulated phone does not model target `DNAT'\nTry `iptables -h' or 'iptables --help' for more information.\n", 2},
	} {
		if r := x.run(x.v4, c.line); r.Code != c.code || r.Err != c.err {
			t.Errorf("iptables %s: exit %d %q, want %d %q", c.line, r.Code, r.Err, c.code, c.err)
		}
	}
	// A chain with rules cannot go; emptied and unreferenced, it can.
	x.must(x.v4, "-N TT")
	x.must(x.v4, "-A TT -j RETURN")
	if r := x.run(x.v4, "-X TT"); r.Code != 1 || r.Err != "iptables: Directory not empty.\n" {
		t.Errorf("-X of a chain with rules: %+v", r)
	}
	x.must(x.v4, "-F TT")
	x.must(x.v4, "-X TT")
	// Loops are the kernel's ELOOP.
	x.must(x.v4, "-N A")
	x.must(x.v4, "-N B")
	x.must(x.v4, "-A OUTPUT -j A")
	x.must(x.v4, "-A A -j B")
	if r := x.run(x.v4, "-A B -j A"); r.Code != 1 || r.Err != "iptables: Too many levels of symbolic links.\n" {
		t.Errorf("a loop: %+v", r)
	}
}

func TestListLayout(t *testing.T) {
	x := newTools(t)
	x.must(x.v4, "-A oem_out -p udp -m comment --comment telltale -m udp --dport 443 -j REJECT")
	got := x.must(x.v4, "-L oem_out")
	want := "Chain oem_out (1 references)\n" +
		"target     prot opt source               destination         \n" +
		"REJECT     udp  --  anywhere             anywhere             /* telltale */ udp dpt:https reject-with icmp-port-unreachable\n"
	if got != want {
		t.Errorf("-L oem_out:\n%q\nwant\n%q", got, want)
	}
	if s := x.must(x.v4, "-S oem_out"); s != "-N oem_out\n-A oem_out -p udp -m comment --comment telltale -m udp --dport 443 -j REJECT --reject-with icmp-port-unreachable\n" {
		t.Errorf("-S oem_out: %q", s)
	}
	x.must(x.v6, "-A OUTPUT -d ::1 -j ACCEPT")
	if got := x.must(x.v6, "-nvL OUTPUT"); !strings.Contains(got, "    0     0 ACCEPT     all      *      *       ::/0                 ::1                 \n") {
		t.Errorf("ip6tables -nvL OUTPUT:\n%q", got)
	}
	all := x.must(x.v4, "-L")
	if !strings.HasPrefix(all, "Chain INPUT (policy ACCEPT)\n") || !strings.Contains(all, "\n\nChain FORWARD (policy ACCEPT)\n") {
		t.Errorf("iptables -L:\n%s", all)
	}
}
