package netstack_test

import (
	"context"
	"io"
	"net/netip"
	"strconv"
	"testing"

	"telltale.dev/devices/sim/netfilter"
)

// BenchmarkInPhoneConnection is the throughput of a connection between two
// sockets on the phone (an app and a listener): what a redirected or
// forwarded connection costs before adb carries it.
func BenchmarkInPhoneConnection(b *testing.B) {
	r := newRig(b, "")
	l, err := r.stack.Listen(10060, "tcp4", ":7000")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	c, err := r.stack.DialAs(context.Background(), 10061, "tcp4", "127.0.0.1:7000")
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	srv, err := l.Accept()
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan int64)
	go func() {
		n, _ := io.Copy(io.Discard, srv)
		done <- n
	}()
	chunk := make([]byte, 64<<10)
	b.SetBytes(int64(len(chunk)))
	b.ResetTimer()
	for range b.N {
		if _, err := c.Write(chunk); err != nil {
			b.Fatal(err)
		}
	}
	c.Close()
	<-done
}

// BenchmarkOutputVerdict is one connection's first packet through a nat
// table holding a transparent capture's rules for 50 apps (one REDIRECT
// per uid), the last of which matches.
func BenchmarkOutputVerdict(b *testing.B) {
	tb := netfilter.New()
	tool := netfilter.Tool{Tables: tb, Family: netfilter.IPv4, Version: "1.8.4"}
	for i := range 50 {
		uid := strconv.Itoa(10000 + i)
		args := []string{"iptables", "-t", "nat", "-A", "OUTPUT", "-p", "tcp", "!", "-d", "127.0.0.0/8",
			"-m", "owner", "--uid-owner", uid, "-j", "REDIRECT", "--to-ports", strconv.Itoa(18100 + i)}
		if code := tool.Run(root(), discard(), args); code != 0 {
			b.Fatalf("rule %d: exit %d", i, code)
		}
	}
	p := netfilter.Packet{Proto: "tcp", Src: netip.MustParseAddr("192.168.1.100"), Dst: netip.MustParseAddr("198.18.0.7"),
		Sport: 40000, Dport: 443, UID: 10049, Out: "wlan0"}
	b.ResetTimer()
	for range b.N {
		if v := tb.Output(netfilter.IPv4, p); v.Redirect != 18149 {
			b.Fatalf("verdict %+v", v)
		}
	}
}
