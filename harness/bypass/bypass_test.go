package bypass_test

import (
	"context"
	"net"
	"net/netip"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"telltale.dev/harness/bypass"
	"telltale.dev/harness/redirect/netnstest"
)

// Lines as a phone's kernel prints them (Android 10, arm64): a listener on
// loopback, an app's connection to the outside, a TIME_WAIT left by one, and
// an IPv4-mapped IPv6 connection.
const tcp = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  2000        0 41357 1 0000000000000000 100 0 0 10 0
   1: 0F02000A:A2C4 2271B85D:01BB 01 00000000:00000000 02:000A7D4A 00000000 10187        0 52201 2 0000000000000000 20 4 30 10 -1
   2: 0F02000A:A2C6 2271B85D:01BB 06 00000000:00000000 03:00000F2B 00000000     0        0 0 3 0000000000000000
`
const tcp6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0000000000000000FFFF00000F02000A:B3E0 0000000000000000FFFF00002271B85D:01BB 02 00000001:00000000 01:00000165 00000002 10211        0 53312 2 0000000000000000 400 0 0 10 -1
   1: B80D0120000000000000000002000000:9E10 B80D0120000000000000000001000000:0050 01 00000000:00000000 00:00000000 00000000 10211        0 53313 1 0000000000000000 20 0 0 10 -1
`

func TestParseProcNetReadsTheKernelsFormat(t *testing.T) {
	socks, err := bypass.ParseProcNet(tcp, "tcp")
	if err != nil {
		t.Fatal(err)
	}
	six, err := bypass.ParseProcNet(tcp6, "tcp")
	if err != nil {
		t.Fatal(err)
	}
	socks = append(socks, six...)
	want := []bypass.Socket{
		{Proto: "tcp", Local: ap("127.0.0.1:8080"), Remote: ap("0.0.0.0:0"), State: "LISTEN", UID: 2000, Inode: 41357},
		{Proto: "tcp", Local: ap("10.0.2.15:41668"), Remote: ap("93.184.113.34:443"), State: "ESTABLISHED", UID: 10187, Inode: 52201},
		{Proto: "tcp", Local: ap("10.0.2.15:41670"), Remote: ap("93.184.113.34:443"), State: "TIME_WAIT", UID: 0, Inode: 0},
		{Proto: "tcp", Local: ap("10.0.2.15:46048"), Remote: ap("93.184.113.34:443"), State: "SYN_SENT", UID: 10211, Inode: 53312},
		{Proto: "tcp", Local: ap("[2001:db8::2]:40464"), Remote: ap("[2001:db8::1]:80"), State: "ESTABLISHED", UID: 10211, Inode: 53313},
	}
	if !slices.Equal(socks, want) {
		t.Errorf("parsed\n%+v\nwant\n%+v", socks, want)
	}
	for _, bad := range []string{"   0: 0100007F 00000000:0000 0A 0 0 0 2000 0 1\n", "   0: 0100007F:1F90 00000000:0000 ZZ 0 0 0 2000 0 1\n", "   0: 0100007F:1F90\n"} {
		if _, err := bypass.ParseProcNet(bad, "tcp"); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

func ap(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

const (
	flutterUID = 10187
	quicUID    = 10211
)

var apps = map[int]string{flutterUID: "com.example.flutter", quicUID: "com.example.quic"}

// In a namespace of the real kernel: an app's connection to the outside
// opened during the window is reported with its app and remote address;
// one through the proxy's loopback port, one open before the window, the
// proxy's accepted side and name resolution are not; with the phone's TCP
// redirected, only UDP other than QUIC's counts.
func TestWatchReportsConnectionsAroundTheProxy(t *testing.T) {
	ctx := t.Context()
	ns := netnstest.New(t)
	proxy := ns.Listen("tcp", "127.0.0.1:8080")
	go func() {
		for {
			c, err := proxy.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
		}
	}()
	read := reader(ns)
	early := hold(ctx, t, ns, flutterUID, "http://"+netnstest.Remote+":8000/")
	waitFor(t, read, "192.0.2.1:8000")

	for _, redirected := range []bool{false, true} {
		w, err := bypass.Start(ctx, read, bypass.Rules{Redirected: redirected, Apps: apps}, 50*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		if !redirected {
			hold(ctx, t, ns, flutterUID, "https://"+netnstest.Remote+"/collect")
			hold(ctx, t, ns, quicUID, "-x", "127.0.0.1:8080", "http://via.proxy.test/")
			udp(t, ns, "443")
			udp(t, ns, "53")
			waitFor(t, read, "192.0.2.1:443", "127.0.0.1:8080 ESTABLISHED", "192.0.2.1:53")
		} else {
			udp(t, ns, "5353")
			waitFor(t, read, "192.0.2.1:5353")
		}
		got, err := w.Stop(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var lines []string
		for _, b := range got {
			lines = append(lines, b.String())
		}
		slices.Sort(lines)
		want := []string{"com.example.flutter (uid 10187) -> 192.0.2.1:443/tcp", "uid 0 -> 192.0.2.1:443/udp"}
		if redirected {
			want = []string{"uid 0 -> 192.0.2.1:5353/udp"}
		}
		if !slices.Equal(lines, want) {
			t.Errorf("redirected=%v: bypasses\n%s\nwant\n%s", redirected, strings.Join(lines, "\n"), strings.Join(want, "\n"))
		}
	}
	early.Process.Kill()
}

func TestSampleFailsWhereTheShellCannotRead(t *testing.T) {
	_, err := bypass.Sample(t.Context(), func(context.Context, string) (string, error) { return "## tcp\n## tcp6\n## udp\n## udp6\n", nil })
	if err == nil || !strings.Contains(err.Error(), "cannot read /proc/net/tcp") {
		t.Errorf("Sample of an unreadable /proc/net: %v", err)
	}
}

// reader reads the namespace's /proc/net as the phone's shell would.
func reader(ns *netnstest.NS) bypass.Reader { return ns.Run }

// hold starts curl as uid inside the namespace, left running until the test
// ends: a connection to 192.0.2.1 stays in SYN_SENT (nothing answers), one
// to the proxy's port stays open.
func hold(ctx context.Context, t *testing.T, ns *netnstest.NS, uid int, args ...string) *exec.Cmd {
	t.Helper()
	cmd := ns.Command(ctx, uid, append([]string{"curl", "-s", "-m", "120", "--noproxy", ""}, args...)...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd
}

// udp connects a UDP socket inside the namespace (as root) to 192.0.2.1 and
// sends one datagram, as a QUIC client or a resolver does.
func udp(t *testing.T, ns *netnstest.NS, port string) {
	t.Helper()
	var c net.Conn
	if err := ns.Do(func() (err error) {
		c, err = net.Dial("udp", net.JoinHostPort(netnstest.Remote, port))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	c.Write([]byte("hello"))
	t.Cleanup(func() { c.Close() })
}

// waitFor samples until every wanted remote (or "remote STATE") shows.
func waitFor(t *testing.T, read bypass.Reader, wants ...string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		socks, err := bypass.Sample(t.Context(), read)
		if err != nil {
			t.Fatal(err)
		}
		missing := slices.DeleteFunc(slices.Clone(wants), func(w string) bool {
			return slices.ContainsFunc(socks, func(s bypass.Socket) bool {
				return s.Remote.String() == w || s.Remote.String()+" "+s.State == w
			})
		})
		if len(missing) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("sockets to %v never showed in /proc/net", missing)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
