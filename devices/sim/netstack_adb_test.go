package sim

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"telltale.dev/devices/adb"
	"telltale.dev/devices/sim/apps/cronetvideo"
	"telltale.dev/devices/sim/apps/flutternews"
	"telltale.dev/devices/sim/event"
	"telltale.dev/devices/sim/sdk/groundtruth"
	"telltale.dev/devices/sim/simtest"
)

// These tests drive the network stack through the real adb server, as the
// harness's transparent capture and bypass detection will: iptables over
// su, adb reverse to a proxy on the host, the modeled apps through their
// screens, /proc/net read by the shell.

// uploads collects the phone's event.Uploaded as they happen.
func uploads(p *Phone) chan event.Uploaded {
	ch := make(chan event.Uploaded, 8)
	event.On(p.bus, func(u event.Uploaded) { ch <- u })
	return ch
}

func nextUpload(t *testing.T, ch chan event.Uploaded, pkg string) event.Uploaded {
	t.Helper()
	timeout := time.After(40 * time.Second)
	for {
		select {
		case u := <-ch:
			if u.Package == pkg {
				return u
			}
		case <-timeout:
			t.Fatalf("%s made no upload", pkg)
		}
	}
}

var editTextBounds = regexp.MustCompile(`class="android\.widget\.EditText"[^>]*bounds="\[(\d+),(\d+)\]\[(\d+),(\d+)\]"`)

// search opens an app as a person does (launcher intent, tap the search
// field, type, Enter) over adb.
func (r *adbRig) search(pkg, activity, query string) {
	r.t.Helper()
	if out := r.shell("am start -W -n " + pkg + "/" + activity); !strings.Contains(out, "Status: ok") {
		r.t.Fatalf("am start %s: %s", pkg, out)
	}
	dump, _ := r.adb("shell", "uiautomator dump /dev/tty")
	m := editTextBounds.FindStringSubmatch(dump)
	if m == nil {
		r.t.Fatalf("no search field on %s's screen:\n%s", pkg, dump)
	}
	n := make([]int, 4)
	for i := range n {
		n[i], _ = strconv.Atoi(m[i+1])
	}
	r.shell(fmt.Sprintf("input tap %d %d", (n[0]+n[2])/2, (n[1]+n[3])/2))
	// A search box keeps the last query: delete it first (KEYCODE_DEL).
	r.shell("input keyevent" + strings.Repeat(" 67", 40))
	r.shell("input text " + query)
	r.shell("input keyevent 66")
}

// uidOf reads a package's uid as the harness does: pm list packages -U.
func (r *adbRig) uidOf(pkg string) string {
	r.t.Helper()
	out := r.shell("pm list packages -U " + pkg)
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if name, uid, ok := strings.Cut(strings.TrimPrefix(line, "package:"), " uid:"); ok && name == pkg {
			return uid
		}
	}
	r.t.Fatalf("no uid for %s in %q", pkg, out)
	return ""
}

func canary(t *testing.T) string {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "tt" + hex.EncodeToString(b)
}

// sawCanary says whether the proxy received a request for host carrying s.
func sawCanary(px *simtest.Proxy, host, s string) bool {
	for _, req := range px.Requests() {
		if req.Host == host && strings.Contains(string(req.Body), s) {
			return true
		}
	}
	return false
}

// startCapture is a rooted phone of model with the test proxy's CA in the
// system store and `adb reverse tcp:8080` to the proxy, as the harness
// prepares one; truth is its ground-truth log.
func startCapture(t *testing.T, model string) (r *adbRig, px *simtest.Proxy, truth *groundtruth.Log) {
	truth = &groundtruth.Log{}
	// The proxy first: its cleanup, which waits for its connections, then
	// runs after the phone's has closed the apps' idle ones.
	px = simtest.NewProxy(t)
	r = startConnected(t, Config{Model: model, Truth: truth, NoNoise: true})
	r.installCA(px.CAPEM, false)
	if out, code := r.adb("reverse", "tcp:8080", "tcp:"+strconv.Itoa(px.Port())); code != 0 {
		t.Fatalf("adb reverse: %s", out)
	}
	return r, px, truth
}

// established lists the ESTABLISHED sockets of a /proc/net/tcp table as
// "uid remote".
func established(table string) []string {
	var out []string
	for _, line := range strings.Split(table, "\n")[1:] {
		f := strings.Fields(line)
		if len(f) > 7 && f[3] == "01" {
			out = append(out, f[7]+" "+f[2])
		}
	}
	return out
}

func TestIptablesRefusedWithoutRootAndRestoredToBoot(t *testing.T) {
	r := startConnected(t, Config{Model: "redmi-note-8", NoNoise: true})
	want := "iptables v1.8.0 (legacy): can't initialize iptables table `nat': Permission denied (you must be root)\n" +
		"Perhaps iptables or your kernel needs to be upgraded.\n"
	if out, code := r.adb("shell", "iptables -t nat -S"); code != 3 || out != want {
		t.Errorf("iptables as the shell: %d %q", code, out)
	}
	if out, code := r.adb("shell", "ip6tables -S OUTPUT"); code != 3 || !strings.Contains(out, "can't initialize ip6tables table `filter'") {
		t.Errorf("ip6tables as the shell: %d %q", code, out)
	}
	su := func(cmd string) string { return r.shell("su -c " + adb.Quote(cmd)) }
	before := su("iptables -t nat -S; iptables -S; ip6tables -t nat -S; ip6tables -S")
	if !strings.Contains(before, "-A OUTPUT -j oem_out\n") || !strings.Contains(before, "-A PREROUTING -j oem_nat_pre\n") {
		t.Errorf("boot tables are netd's:\n%s", before)
	}
	su("iptables -t nat -N TELLTALE && iptables -t nat -I OUTPUT -j TELLTALE && " +
		"iptables -t nat -A TELLTALE -d 127.0.0.0/8 -j RETURN && " +
		"iptables -t nat -A TELLTALE -p tcp -m owner --uid-owner 10050 -j REDIRECT --to-ports 8080 && " +
		"iptables -A OUTPUT -p udp --dport 443 -j REJECT && ip6tables -A OUTPUT -p udp --dport 443 -j REJECT")
	during := su("iptables -t nat -S TELLTALE")
	if during != "-N TELLTALE\n-A TELLTALE -d 127.0.0.0/8 -j RETURN\n-A TELLTALE -p tcp -m owner --uid-owner 10050 -j REDIRECT --to-ports 8080\n" {
		t.Errorf("during the run:\n%s", during)
	}
	su("iptables -t nat -D OUTPUT -j TELLTALE && iptables -t nat -F TELLTALE && iptables -t nat -X TELLTALE && " +
		"iptables -D OUTPUT -p udp --dport 443 -j REJECT && ip6tables -D OUTPUT -p udp --dport 443 -j REJECT")
	if after := su("iptables -t nat -S; iptables -S; ip6tables -t nat -S; ip6tables -S"); after != before {
		t.Errorf("iptables -S after the run differs:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

// In transparent mode (root, no proxy setting) the app that ignores the
// proxy and the QUIC-first app are both captured: their TCP is redirected
// to the proxy's reverse port, and QUIC, rejected, falls back to TCP.
func TestTransparentCaptureOfAppsThatBypassTheProxy(t *testing.T) {
	r, px, truth := startCapture(t, "redmi-note-8")
	su := func(cmd string) string { return r.shell("su -c " + adb.Quote(cmd)) }
	before := su("iptables -t nat -S; iptables -S")
	flutterUID, cronetUID := r.uidOf(flutternews.Package), r.uidOf(cronetvideo.Package)
	for _, uid := range []string{flutterUID, cronetUID} {
		su("iptables -t nat -A OUTPUT -p tcp ! -d 127.0.0.0/8 -m owner --uid-owner " + uid + " -j REDIRECT --to-ports 8080")
	}
	ups := uploads(r.phone)

	// QUIC first, with nothing in its way: a real network's server answers,
	// and the search leaves the phone over UDP, uncaptured.
	escaped := canary(t)
	r.search(cronetvideo.Package, cronetvideo.Activity, escaped)
	if u := nextUpload(t, ups, cronetvideo.Package); u.Transport != "quic" || u.Route != "outside" || !u.Delivered {
		t.Errorf("QUIC without a REJECT rule: %+v", u)
	}
	if sawCanary(px, cronetvideo.Host, escaped) {
		t.Error("the proxy saw QUIC traffic it could not have")
	}

	su("iptables -A OUTPUT -p udp --dport 443 -j REJECT")
	// QUIC worked, so the app tries it again: the REJECT makes the send
	// fail at once, and the app falls back to TCP.
	quicCanary, flutterCanary := canary(t), canary(t)
	r.search(cronetvideo.Package, cronetvideo.Activity, quicCanary)
	u := nextUpload(t, ups, cronetvideo.Package)
	if u.Transport != "tcp" || u.Route != "redirected" || !u.Delivered || u.Status != 200 {
		t.Errorf("QUIC under REJECT should fall back to TCP, redirected: %+v", u)
	}
	r.search(flutternews.Package, flutternews.Activity, flutterCanary)
	if u := nextUpload(t, ups, flutternews.Package); u.Route != "redirected" || !u.Delivered || u.Status != 200 {
		t.Errorf("the proxy-ignoring app, redirected: %+v", u)
	}
	if !sawCanary(px, cronetvideo.Host, quicCanary) || !sawCanary(px, flutternews.Host, flutterCanary) {
		t.Errorf("the proxy should have both canaries by SNI: %+v", px.Requests())
	}
	// Each app's redirected connection stays open for its client's idle
	// time, listed with its uid and the server's address, not 127.0.0.1.
	tcp := r.shell("cat /proc/net/tcp")
	var flutterConn bool
	for _, s := range established(tcp) {
		uid, remote, _ := strings.Cut(s, " ")
		if uid == flutterUID && strings.HasSuffix(remote, ":01BB") && !strings.HasPrefix(remote, "0100007F") {
			flutterConn = true
		}
	}
	if !flutterConn {
		t.Errorf("no redirected connection of uid %s in /proc/net/tcp:\n%s", flutterUID, tcp)
	}
	states := map[string]string{}
	for _, rec := range drain(t, truth) {
		if rec.App == flutternews.Package || rec.App == cronetvideo.Package {
			states[rec.Values["search_word"]] = rec.State + "/" + rec.Route
		}
	}
	if states[escaped] != groundtruth.Bypassed+"/outside" || states[quicCanary] != groundtruth.Sent+"/redirected" ||
		states[flutterCanary] != groundtruth.Sent+"/redirected" {
		t.Errorf("ground truth: %v", states)
	}

	su("iptables -D OUTPUT -p udp --dport 443 -j REJECT")
	for _, uid := range []string{flutterUID, cronetUID} {
		su("iptables -t nat -D OUTPUT -p tcp ! -d 127.0.0.0/8 -m owner --uid-owner " + uid + " -j REDIRECT --to-ports 8080")
	}
	if after := su("iptables -t nat -S; iptables -S"); after != before {
		t.Errorf("iptables -S after:\n%s\nbefore:\n%s", after, before)
	}
}

// In proxy mode (no iptables) the app that ignores the proxy setting goes
// straight to its server: the proxy never sees it, the ground truth says it
// left the phone, and the shell's /proc/net/tcp shows the connection with
// the app's uid. The Cronet app honours the proxy (and so skips QUIC).
func TestProxyModeShowsTheBypassInProcNet(t *testing.T) {
	r, px, truth := startCapture(t, "mi-10")
	r.shell("settings put global http_proxy 127.0.0.1:8080")
	ups := uploads(r.phone)
	flutterUID, cronetUID := r.uidOf(flutternews.Package), r.uidOf(cronetvideo.Package)

	bypass := canary(t)
	r.search(flutternews.Package, flutternews.Activity, bypass)
	if u := nextUpload(t, ups, flutternews.Package); u.Route != "outside" || !u.Delivered {
		t.Errorf("the proxy-ignoring app in proxy mode: %+v", u)
	}
	tcp := r.shell("cat /proc/net/tcp")
	var direct string
	for _, s := range established(tcp) {
		if uid, remote, _ := strings.Cut(s, " "); uid == flutterUID && strings.HasSuffix(remote, ":01BB") {
			direct = remote
		}
	}
	if direct == "" || strings.HasPrefix(direct, "0100007F") {
		t.Errorf("the bypass should show in /proc/net/tcp as uid %s to a remote :443:\n%s", flutterUID, tcp)
	}

	viaProxy := canary(t)
	r.search(cronetvideo.Package, cronetvideo.Activity, viaProxy)
	if u := nextUpload(t, ups, cronetvideo.Package); u.Route != "proxy" || u.Transport != "tcp" || !u.Delivered {
		t.Errorf("the Cronet app honours the proxy: %+v", u)
	}
	if sawCanary(px, flutternews.Host, bypass) || !sawCanary(px, cronetvideo.Host, viaProxy) {
		t.Errorf("proxy requests: %+v", px.Requests())
	}
	for _, line := range strings.Split(r.shell("cat /proc/net/udp"), "\n")[1:] {
		if f := strings.Fields(line); len(f) > 7 && f[7] == cronetUID {
			t.Errorf("no QUIC through a proxy, yet: %s", line)
		}
	}
	var bypassed bool
	for _, rec := range drain(t, truth) {
		if rec.Values["search_word"] == bypass && rec.State == groundtruth.Bypassed && rec.Route == "outside" {
			bypassed = true
		}
	}
	if !bypassed {
		t.Error("the ground truth should record the bypass as sent around the proxy")
	}
}

// `adb forward` reaches a program listening on the phone (toybox nc -l,
// started over adb as the shell), through the stack's listening socket.
func TestAdbForwardReachesAListenerOnThePhone(t *testing.T) {
	r := startConnected(t, Config{Model: "mi-10", NoNoise: true})
	out, code := r.adb("forward", "tcp:0", "tcp:7001")
	if code != 0 {
		t.Fatalf("adb forward: %s", out)
	}
	hostPort := strings.TrimSpace(out)
	// Nothing listens yet: adbd refuses, and adb drops the connection.
	if c, err := net.Dial("tcp", "127.0.0.1:"+hostPort); err == nil {
		c.SetDeadline(time.Now().Add(10 * time.Second))
		if n, err := c.Read(make([]byte, 1)); n != 0 || err == nil {
			t.Errorf("a forward to nothing: %d %v", n, err)
		}
		c.Close()
	}
	// nc -l run over adb as a person would, its stdin the terminal's: open
	// until the session ends.
	stdin, keep, err := os.Pipe() // a file: exec passes it on, with no copier for Wait to wait for
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	defer keep.Close()
	_, adbPort, _ := strings.Cut(r.server.Addr(), ":")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	nc := exec.CommandContext(ctx, "adb", "-P", adbPort, "-s", r.phone.Serial(), "shell", "nc -l -p 7001")
	var printed bytes.Buffer
	nc.Stdin, nc.Stdout, nc.Stderr = stdin, &printed, &printed
	if err := nc.Start(); err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 1)
	go func() {
		if err := nc.Wait(); err != nil {
			fmt.Fprintf(&printed, "\nadb shell: %v", err)
		}
		got <- printed.String()
	}()
	// The harness's way to know a port listens: the shell's /proc/net/tcp.
	for i := 0; !strings.Contains(r.shell("cat /proc/net/tcp"), ":1B59 00000000:0000 0A"); i++ {
		if i == 100 {
			t.Fatal("nc -l never listened")
		}
	}
	c, err := net.Dial("tcp", "127.0.0.1:"+hostPort)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// Both ways: what is typed into nc reaches the host, so the forward is
	// open end to end before the host sends its line and closes (a line
	// sent and closed before the phone answers the adb server's OPEN is
	// dropped by the adb server: TestAdbForwardKeepsALineSentAndClosed),
	// then the host's line reaches nc's output.
	fmt.Fprint(keep, "from the phone\n")
	c.SetDeadline(time.Now().Add(30 * time.Second))
	if line, err := bufio.NewReader(c).ReadString('\n'); err != nil || line != "from the phone\n" {
		t.Fatalf("the host read %q %v", line, err)
	}
	fmt.Fprint(c, "over adb forward\n")
	c.Close()
	select {
	case out := <-got:
		if out != "over adb forward\n" {
			t.Errorf("nc -l printed %q", out)
		}
	case <-ctx.Done():
		t.Fatal("nc -l did not end when the forwarded connection closed")
	}
}

// TestAdbForwardKeepsALineSentAndClosed: once a forwarded connection is
// open (the phone's listener has greeted the host), a line the host sends
// and closes at once always reaches the listener, through adbd's tcp:
// service and the stack's socket pair. Before that, the line is the adb
// server's to lose: Debian's adb 29.0.6 drops what a client sent with its
// FIN before the device's OKAY to the OPEN (seen in the packet trace:
// OPEN, OKAY, CLSE and no WRTE), and a real phone's OKAY comes no sooner.
func TestAdbForwardKeepsALineSentAndClosed(t *testing.T) {
	r := startConnected(t, Config{Model: "mi-10", NoNoise: true})
	l, err := r.phone.net.Listen(10123, "tcp4", ":7002")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	got := make(chan string)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				fmt.Fprint(c, "ready\n")
				var b bytes.Buffer
				_, err := b.ReadFrom(c)
				got <- fmt.Sprintf("%q %v", b.String(), err)
			}()
		}
	}()
	out, code := r.adb("forward", "tcp:0", "tcp:7002")
	if code != 0 {
		t.Fatalf("adb forward: %s", out)
	}
	hostPort := strings.TrimSpace(out)
	for i := range 50 {
		c, err := net.Dial("tcp", "127.0.0.1:"+hostPort)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(30 * time.Second))
		if greeting, err := bufio.NewReader(c).ReadString('\n'); greeting != "ready\n" {
			t.Fatalf("connection %d: greeting %q %v", i, greeting, err)
		}
		line := fmt.Sprintf("line %d\n", i)
		fmt.Fprint(c, line)
		c.Close()
		select {
		case g := <-got:
			if want := fmt.Sprintf("%q <nil>", line); g != want {
				t.Fatalf("connection %d: the listener read %s, want %s", i, g, want)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("connection %d: the listener never saw it end", i)
		}
	}
}
