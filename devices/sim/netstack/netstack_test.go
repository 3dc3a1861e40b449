package netstack_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"telltale.dev/devices/sim/adbd"
	"telltale.dev/devices/sim/clock"
	"telltale.dev/devices/sim/event"
	"telltale.dev/devices/sim/internal/cmdtest"
	"telltale.dev/devices/sim/netstack"
	"telltale.dev/devices/sim/shell"
	"telltale.dev/devices/sim/vfs"
)

type settings map[string]string

func (s settings) Setting(ns, key string) (string, bool) {
	v, ok := s[ns+":"+key]
	return v, ok
}

// tunnel is adbd's reverse side: rules maps a device port ("tcp:9000") to
// the host end of each connection made through it, which the test reads.
type tunnel struct {
	mu    sync.Mutex
	rules map[string]chan net.Conn
	dials int
}

func (t *tunnel) DialReverse(_ context.Context, local string) (net.Conn, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.dials++
	peer, ok := t.rules[local]
	if !ok {
		return nil, adbd.ErrNoReverse
	}
	phone, host := net.Pipe()
	peer <- host
	return phone, nil
}

func (t *tunnel) ReverseLocals() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []string
	for l := range t.rules {
		out = append(out, l)
	}
	return out
}

func (t *tunnel) Disconnect(time.Duration) {}

type rig struct {
	t     testing.TB
	stack *netstack.Stack
	fs    *vfs.FS
	clk   *clock.Fake
	tun   *tunnel
	bus   *event.Bus
	cmds  map[string]shell.Func
}

// newRig is a stack whose adb connection carries reverse rules for the
// given device ports ("tcp:9000").
func newRig(t testing.TB, proxy string, reverse ...string) *rig {
	t.Helper()
	fs := vfs.New()
	if err := fs.MkdirAll("/proc", 0o555, vfs.RootUID); err != nil {
		t.Fatal(err)
	}
	clk := clock.NewFake(time.Unix(1_700_000_000, 0))
	bus := &event.Bus{}
	s := netstack.New(netstack.Config{Settings: settings{"global:http_proxy": proxy}, Files: fs, Clock: clk, SDK: 30, Bus: bus})
	if err := s.PublishProc(); err != nil {
		t.Fatal(err)
	}
	tun := &tunnel{rules: map[string]chan net.Conn{}}
	for _, local := range reverse {
		tun.rules[local] = make(chan net.Conn, 4)
	}
	s.SetTunnel(tun)
	return &rig{t: t, stack: s, fs: fs, clk: clk, tun: tun, bus: bus, cmds: s.Commands()}
}

// hostEnd is the host's end of the next connection through a reverse rule.
func (r *rig) hostEnd(t *testing.T, local string) net.Conn {
	t.Helper()
	select {
	case c := <-r.tun.rules[local]:
		return c
	case <-ctx(t).Done():
		t.Fatalf("no connection came through the reverse rule for %s", local)
		return nil
	}
}

func (r *rig) proc(name string) string {
	r.t.Helper()
	b, err := r.fs.ReadFile("/proc/net/" + name)
	if err != nil {
		r.t.Fatal(err)
	}
	return string(b)
}

func root() context.Context { return shell.WithUID(context.Background(), 0) }

func discard() shell.IO {
	return shell.IO{Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: io.Discard}
}

// asRoot runs a network command as root (su -c).
func (r *rig) asRoot(args ...string) string {
	r.t.Helper()
	res := cmdtest.Run(root(), r.cmds[args[0]], args...)
	if res.Code != 0 {
		r.t.Fatalf("%v: exit %d: %s", args, res.Code, res.Err)
	}
	return res.Out
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return c
}

func TestProxySetting(t *testing.T) {
	for raw, want := range map[string]string{"127.0.0.1:8080": "127.0.0.1:8080", "[::1]:3128": "[::1]:3128",
		"": "", "null": "", ":0": "", "127.0.0.1": "", "host:": ""} {
		got, err := newRig(t, raw).stack.Proxy()
		if want == "" {
			if !errors.Is(err, netstack.ErrNoProxy) {
				t.Errorf("%q: %q %v, want ErrNoProxy", raw, got, err)
			}
			continue
		}
		if err != nil || got != want {
			t.Errorf("%q: %q %v, want %q", raw, got, err, want)
		}
	}
}

// The one rule of the house: off the phone's loopback nothing is dialed;
// remote addresses are the modeled outside, which swallows what it gets.
func TestRemoteAddressesGoOutsideNeverToTheHost(t *testing.T) {
	r := newRig(t, "", "tcp:9000")
	for _, addr := range []string{"93.184.216.34:443", "tracking.intl.miui.com:443", "10.0.2.2:8080"} {
		c, err := r.stack.DialAs(ctx(t), 10057, "tcp4", addr)
		if err != nil {
			t.Fatalf("%s: %v", addr, err)
		}
		if route, _ := netstack.RouteOf(c); route != netstack.RouteOutside {
			t.Errorf("%s: route %s", addr, route)
		}
		if n, err := c.Write(bytes.Repeat([]byte("x"), 1<<20)); n != 1<<20 || err != nil {
			t.Errorf("%s: the outside took %d bytes: %v", addr, n, err)
		}
		c.Close()
	}
	if _, err := r.stack.DialAs(ctx(t), 10057, "tcp", "[2001:db8::1]:443"); !errors.Is(err, syscall.ENETUNREACH) {
		t.Errorf("IPv6 off the phone: %v, want ENETUNREACH (the modeled networks are IPv4-only)", err)
	}
	if r.tun.dials != 0 {
		t.Fatalf("%d dials through adb for remote addresses", r.tun.dials)
	}
	if _, err := r.stack.DialAs(ctx(t), 10057, "tcp4", "127.0.0.1:8080"); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("a loopback port without a listener or reverse rule: %v", err)
	}
	c, err := r.stack.DialAs(ctx(t), 10077, "tcp", "localhost:9000")
	if err != nil {
		t.Fatal(err)
	}
	host := r.hostEnd(t, "tcp:9000")
	if got := sockets(tcp6Line, r.proc("tcp6")); len(got) != 1 || got[0].uid != "10077" || got[0].remote != "0000000000000000FFFF00000100007F:2328" {
		t.Errorf("a Java socket of the uid: %+v", got)
	}
	go c.Write([]byte("ping"))
	buf := make([]byte, 4)
	if _, err := io.ReadFull(host, buf); err != nil || string(buf) != "ping" {
		t.Fatalf("through the reverse rule: %q %v", buf, err)
	}
	if route, _ := netstack.RouteOf(c); route != netstack.RouteLoopback {
		t.Errorf("route %s", route)
	}
	c.Close()
	host.Close()
}

var (
	tcpLine  = regexp.MustCompile(`(?m)^ +\d+: ([0-9A-F]{8}):([0-9A-F]{4}) ([0-9A-F]{8}):([0-9A-F]{4}) ([0-9A-F]{2}) 00000000:00000000 ([0-9A-F]{2}):([0-9A-F]{8}) 00000000 +(\d+) +0 (\d+) `)
	tcp6Line = regexp.MustCompile(`(?m)^ +\d+: ([0-9A-F]{32}):([0-9A-F]{4}) ([0-9A-F]{32}):([0-9A-F]{4}) ([0-9A-F]{2}) 00000000:00000000 ([0-9A-F]{2}):([0-9A-F]{8}) 00000000 +(\d+) +0 (\d+) `)
)

// socket is one parsed /proc/net line: remote "ADDR:PORT" in the kernel's
// hex, state, timer, uid and inode.
type socket struct{ local, remote, state, tr, uid, inode string }

func sockets(re *regexp.Regexp, table string) []socket {
	var out []socket
	for _, m := range re.FindAllStringSubmatch(table, -1) {
		out = append(out, socket{local: m[1] + ":" + m[2], remote: m[3] + ":" + m[4], state: m[5], tr: m[6], uid: m[8], inode: m[9]})
	}
	return out
}

func TestProcNetShowsSocketsWithUIDsAndLifetimes(t *testing.T) {
	r := newRig(t, "")
	tcp := r.proc("tcp")
	header := "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode"
	if tcp != header+strings.Repeat(" ", 149-len(header))+"\n" {
		t.Fatalf("header: %q", tcp)
	}
	// A native (Flutter) app's IPv4 socket to 198.51.100.7:443.
	native, err := r.stack.DialAs(ctx(t), 10123, "tcp4", "198.51.100.7:443")
	if err != nil {
		t.Fatal(err)
	}
	// A Java app's dual-stack socket to the same place.
	java, err := r.stack.DialAs(ctx(t), 10124, "tcp", "198.51.100.7:443")
	if err != nil {
		t.Fatal(err)
	}
	tcp = r.proc("tcp")
	for _, line := range strings.SplitAfter(tcp, "\n") {
		if line != "" && len(line) != 150 {
			t.Errorf("/proc/net/tcp lines are 149 characters and a newline: %d in %q", len(line), line)
		}
	}
	got := sockets(tcpLine, tcp)
	if len(got) != 1 || got[0].remote != "076433C6:01BB" || got[0].state != "01" || got[0].uid != "10123" || got[0].inode == "0" ||
		got[0].local[:8] != "6401A8C0" && got[0].local[:8] != "C930A50A" {
		t.Fatalf("native socket in /proc/net/tcp: %+v\n%s", got, tcp)
	}
	got6 := sockets(tcp6Line, r.proc("tcp6"))
	if len(got6) != 1 || got6[0].remote != "0000000000000000FFFF0000076433C6:01BB" || got6[0].uid != "10124" {
		t.Fatalf("Java socket in /proc/net/tcp6 (IPv4-mapped): %+v\n%s", got6, r.proc("tcp6"))
	}
	// Closed by the app first: TIME_WAIT for 60 s, with no uid or inode,
	// as the kernel's timewait socks print.
	native.Close()
	got = sockets(tcpLine, r.proc("tcp"))
	if len(got) != 1 || got[0].state != "06" || got[0].tr != "03" || got[0].uid != "0" || got[0].inode != "0" {
		t.Fatalf("after close: %+v", got)
	}
	if !strings.Contains(r.proc("tcp"), " 03:00001770 ") {
		t.Errorf("TIME_WAIT timer should show 60 s in clock ticks:\n%s", r.proc("tcp"))
	}
	r.clk.Advance(59 * time.Second)
	if got = sockets(tcpLine, r.proc("tcp")); len(got) != 1 {
		t.Fatalf("TIME_WAIT ended early: %+v", got)
	}
	r.clk.Advance(time.Second)
	if got = sockets(tcpLine, r.proc("tcp")); len(got) != 0 {
		t.Fatalf("TIME_WAIT outlived 60 s: %+v", got)
	}
	java.Close()
	// The kernel's files are not the shell's to change.
	if err := r.fs.WriteFile("/proc/net/tcp", nil, 0o644, vfs.RootUID, false); !errors.Is(err, syscall.EACCES) {
		t.Errorf("writing /proc/net/tcp as root: %v", err)
	}
	if err := r.fs.Remove("/proc/net/tcp", false, vfs.RootUID); !errors.Is(err, syscall.EPERM) {
		t.Errorf("removing /proc/net/tcp as root: %v", err)
	}
}

func TestRedirectedConnectionReachesTheReverseRule(t *testing.T) {
	r := newRig(t, "", "tcp:9000")
	r.asRoot("iptables", "-t", "nat", "-A", "OUTPUT", "-p", "tcp", "!", "-d", "127.0.0.0/8",
		"-m", "owner", "--uid-owner", "10123", "-j", "REDIRECT", "--to-ports", "9000")
	other, err := r.stack.DialAs(ctx(t), 10124, "tcp4", "api.flutternews.example:443")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if route, _ := netstack.RouteOf(other); route != netstack.RouteOutside {
		t.Errorf("another app's connection: %s", route)
	}
	c, err := r.stack.DialAs(ctx(t), 10123, "tcp4", "api.flutternews.example:443")
	if err != nil {
		t.Fatal(err)
	}
	host := r.hostEnd(t, "tcp:9000")
	if route, _ := netstack.RouteOf(c); route != netstack.RouteRedirected {
		t.Errorf("route %s", route)
	}
	go c.Write([]byte("\x16\x03\x01"))
	b := make([]byte, 3)
	if _, err := io.ReadFull(host, b); err != nil || b[0] != 0x16 {
		t.Fatalf("the proxy's end got %x %v", b, err)
	}
	got := sockets(tcpLine, r.proc("tcp"))
	// adbd's listener for the reverse rule, the app's socket (still to the
	// name's address), adbd's accepted socket on 127.0.0.1:9000, and the
	// other app's direct connection.
	var listen, app, adbdSide bool
	for _, s := range got {
		switch {
		case s.state == "0A" && s.local == "0100007F:2328" && s.uid == "2000":
			listen = true
		case s.uid == "10123" && s.remote[9:] == "01BB" && s.remote[:8] != "0100007F":
			app = true
		case s.uid == "2000" && s.local == "0100007F:2328" && s.state == "01":
			adbdSide = true
		}
	}
	if !listen || !app || !adbdSide {
		t.Errorf("listen %v app %v adbd %v in\n%s", listen, app, adbdSide, r.proc("tcp"))
	}
	// The host closes first: adbd's socket waits in TIME_WAIT, the app's
	// in CLOSE_WAIT until it closes too.
	host.Close()
	if _, err := c.Read(b); err != io.EOF {
		t.Fatalf("after the host closed: %v", err)
	}
	states := map[string]string{}
	for _, s := range sockets(tcpLine, r.proc("tcp")) {
		states[s.uid+"/"+s.state] = s.local
	}
	if _, ok := states["10123/08"]; !ok {
		t.Errorf("the app's socket should be CLOSE_WAIT: %v", states)
	}
	if _, ok := states["0/06"]; !ok {
		t.Errorf("adbd's socket should be in TIME_WAIT: %v", states)
	}
	c.Close()
	for _, s := range sockets(tcpLine, r.proc("tcp")) {
		if s.uid == "10123" {
			t.Errorf("the app's socket outlived its close after the peer's: %+v", s)
		}
	}
	r.asRoot("iptables", "-t", "nat", "-F", "OUTPUT")
}

func TestRejectedQUICFailsAtOnce(t *testing.T) {
	r := newRig(t, "")
	quic, err := r.stack.DialAs(ctx(t), 10125, "udp4", "log.cronetvideo.example:443")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := quic.Write(netstack.QUICInitial()); err != nil {
		t.Fatal(err)
	}
	reply := make([]byte, 1500)
	if n, err := quic.Read(reply); err != nil || n < 5 || reply[0]&0xC0 != 0xC0 {
		t.Fatalf("the outside answers QUIC: %d %v", n, err)
	}
	if !strings.Contains(r.proc("udp"), " 01 00000000:00000000 00:00000000 00000000 10125 ") {
		t.Errorf("a connected UDP socket with the app's uid:\n%s", r.proc("udp"))
	}
	quic.Close()
	r.asRoot("iptables", "-A", "OUTPUT", "-p", "udp", "--dport", "443", "-j", "REJECT")
	quic, err = r.stack.DialAs(ctx(t), 10125, "udp4", "log.cronetvideo.example:443")
	if err != nil {
		t.Fatal(err)
	}
	defer quic.Close()
	if _, err := quic.Write(netstack.QUICInitial()); !errors.Is(err, syscall.EPERM) {
		t.Errorf("sendmsg under REJECT: %v, want EPERM", err)
	}
	if _, err := quic.Read(reply); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("the ICMP error on the next call: %v, want ECONNREFUSED", err)
	}
}

func TestDroppedConnectWaitsInSynSent(t *testing.T) {
	r := newRig(t, "")
	r.asRoot("iptables", "-A", "OUTPUT", "-p", "tcp", "--dport", "443", "-j", "DROP")
	done := make(chan error, 1)
	go func() {
		_, err := r.stack.DialAs(context.Background(), 10126, "tcp4", "198.51.100.9:443")
		done <- err
	}()
	if err := r.clk.WaitTimers(ctx(t), 1); err != nil {
		t.Fatal(err)
	}
	if got := sockets(tcpLine, r.proc("tcp")); len(got) != 1 || got[0].state != "02" || got[0].uid != "10126" {
		t.Errorf("SYN_SENT: %+v", got)
	}
	r.clk.Advance(127 * time.Second)
	if err := <-done; !errors.Is(err, syscall.ETIMEDOUT) {
		t.Errorf("after the SYN retries: %v", err)
	}
}

func TestListenersForAppsNcAndAdbForward(t *testing.T) {
	r := newRig(t, "", "tcp:9000")
	l, err := r.stack.Listen(10060, "tcp4", ":7000")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if _, err := r.stack.Listen(10061, "tcp", ":7000"); !errors.Is(err, syscall.EADDRINUSE) {
		t.Errorf("a second listener on the port: %v", err)
	}
	if _, err := r.stack.Listen(10061, "tcp4", ":9000"); !errors.Is(err, syscall.EADDRINUSE) {
		t.Errorf("listening on adbd's reverse port: %v", err)
	}
	// adb forward tcp:H tcp:7000: adbd connects as itself.
	fwd, err := r.stack.DialSocket(ctx(t), "tcp:7000")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	go fwd.Write([]byte("hello"))
	b := make([]byte, 5)
	if _, err := io.ReadFull(srv, b); err != nil || string(b) != "hello" {
		t.Fatalf("forwarded: %q %v", b, err)
	}
	uids := map[string]string{}
	for _, s := range sockets(tcpLine, r.proc("tcp")) {
		uids[s.state+"/"+s.local] = s.uid
	}
	if uids["0A/00000000:1B58"] != "10060" || uids["01/0100007F:1B58"] != "10060" {
		t.Errorf("listener and accepted socket belong to the app: %v", uids)
	}
	fwd.Close()
	srv.Close()
	if _, err := r.stack.DialSocket(ctx(t), "localabstract:foo"); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("local sockets: %v", err)
	}
	// nc -l as the shell takes one connection and prints it; without -p it
	// says on stderr which port the kernel gave it.
	errR, errW := io.Pipe()
	var out strings.Builder
	code := make(chan int, 1)
	go func() {
		defer errW.Close()
		code <- r.cmds["nc"](context.Background(), shell.IO{Stdin: strings.NewReader(""), Stdout: &out, Stderr: errW}, []string{"nc", "-l"})
	}()
	port, err := bufio.NewReader(errR).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	go io.Copy(io.Discard, errR)
	c, err := r.stack.DialAs(ctx(t), 10062, "tcp4", "127.0.0.1:"+strings.TrimSpace(port))
	if err != nil {
		t.Fatal(err)
	}
	c.Write([]byte("to nc"))
	c.Close()
	if got := <-code; got != 0 || out.String() != "to nc" {
		t.Errorf("nc -l: exit %d, %q", got, out.String())
	}
}

func TestRebootEmptiesTheKernel(t *testing.T) {
	r := newRig(t, "", "tcp:9000")
	r.asRoot("iptables", "-t", "nat", "-A", "OUTPUT", "-p", "tcp", "-j", "REDIRECT", "--to-ports", "9000")
	c, err := r.stack.DialAs(ctx(t), 10123, "tcp4", "127.0.0.1:9000")
	if err != nil {
		t.Fatal(err)
	}
	host := r.hostEnd(t, "tcp:9000")
	defer host.Close()
	r.bus.Publish(event.Rebooted{})
	if _, err := c.Write([]byte("x")); err == nil {
		t.Error("a connection survived the reboot")
	}
	if out := r.asRoot("iptables", "-t", "nat", "-S", "OUTPUT"); out != "-P OUTPUT ACCEPT\n" {
		t.Errorf("rules survived the reboot: %s", out)
	}
	if got := sockets(tcpLine, r.proc("tcp")); len(got) != 1 || got[0].state != "0A" {
		t.Errorf("only adbd's reverse listener is left: %+v", got)
	}
}

// nc -w ends the session on the phone's clock: a fake clock advanced past
// the timeout ends it, with no real waiting. Its errors are toybox's.
func TestNcTimeoutOnThePhonesClock(t *testing.T) {
	r := newRig(t, "", "tcp:9000")
	done := make(chan cmdtest.Result, 1)
	go func() { done <- cmdtest.Run(context.Background(), r.cmds["nc"], "nc", "-w", "30", "127.0.0.1", "9000") }()
	host := r.hostEnd(t, "tcp:9000")
	defer host.Close()
	if _, err := host.Write([]byte("hello\n")); err != nil {
		t.Fatal(err)
	}
	if err := r.clk.WaitTimers(ctx(t), 1); err != nil {
		t.Fatal(err)
	}
	select {
	case res := <-done:
		t.Fatalf("nc ended before its timeout: %+v", res)
	default:
	}
	r.clk.Advance(30 * time.Second)
	select {
	case res := <-done:
		if res.Code != 0 || res.Out != "hello\n" {
			t.Errorf("nc: %+v", res)
		}
	case <-ctx(t).Done():
		t.Fatal("nc did not end when the phone's clock passed its timeout")
	}
	r.asRoot("iptables", "-A", "OUTPUT", "-p", "tcp", "--dport", "81", "-j", "REJECT")
	for _, c := range []struct{ addr, want string }{
		{"2001:db8::1", "Network is unreachable"}, {"127.0.0.1", "Connection refused"}, {"198.51.100.1", "Connection refused"},
	} {
		port := "81"
		if c.addr == "127.0.0.1" {
			port = "80"
		}
		if res := cmdtest.Run(context.Background(), r.cmds["nc"], "nc", c.addr, port); res.Code != 1 || !strings.Contains(res.Err, c.want) {
			t.Errorf("nc %s %s: %+v", c.addr, port, res)
		}
	}
}
