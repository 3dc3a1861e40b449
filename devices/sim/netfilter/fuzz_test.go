package netfilter_test

import (
	"io"
	"strings"
	"testing"

	"telltale.dev/devices/sim/netfilter"
	"telltale.dev/devices/sim/shell"
)

// FuzzIptables runs any command line through iptables and ip6tables as
// root: whatever it is, the tool answers with one of iptables' exit
// statuses and leaves tables that still list and still judge packets.
func FuzzIptables(f *testing.F) {
	for _, seed := range []string{
		"-t nat -A OUTPUT -p tcp ! -d 127.0.0.0/8 -m owner --uid-owner 10057 -j REDIRECT --to-ports 8080",
		"-A OUTPUT -p udp --dport 443 -j REJECT --reject-with icmp-port-unreachable",
		"-N a -A a -j a", "-nvL --line-numbers", "-t nat -D OUTPUT 1", "-X", "-F", "-S OUTPUT",
		"-I OUTPUT 1 -m comment --comment \"x y\" -j RETURN", "! ! -p", "-w 5 -t mangle -S",
	} {
		f.Add(seed, false)
		f.Add(seed, true)
	}
	f.Fuzz(func(t *testing.T, line string, v6 bool) {
		tb := netfilter.New()
		fam := netfilter.IPv4
		if v6 {
			fam = netfilter.IPv6
		}
		tool := netfilter.Tool{Tables: tb, Family: fam, Version: "1.8.4"}
		sio := shell.IO{Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: io.Discard}
		if code := tool.Run(root, sio, append([]string{"iptables"}, strings.Fields(line)...)); code < 0 || code > 3 {
			t.Fatalf("%q: exit %d", line, code)
		}
		if code := tool.Run(root, sio, []string{"iptables", "-S"}); code != 0 {
			t.Fatalf("after %q, -S exits %d", line, code)
		}
		tb.Output(fam, netfilter.Packet{Proto: "tcp", Dport: 443, UID: 10057})
	})
}
