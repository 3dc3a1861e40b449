package uplink_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"telltale.dev/devices/sim/adbd"
	"telltale.dev/devices/sim/clock"
	"telltale.dev/devices/sim/internal/cmdtest"
	"telltale.dev/devices/sim/netstack"
	"telltale.dev/devices/sim/netstack/uplink"
	"telltale.dev/devices/sim/shell"
	"telltale.dev/devices/sim/simtest"
	"telltale.dev/devices/sim/vfs"
	"telltale.dev/protocols"
)

type proxySetting string

func (p proxySetting) Setting(ns, key string) (string, bool) {
	return string(p), ns == "global" && key == "http_proxy" && p != ""
}

// tunnel carries tcp:8080 to the test proxy (an adb reverse rule); dials
// are counted.
type tunnel struct {
	target string
	dials  atomic.Int32
}

func (t *tunnel) DialReverse(ctx context.Context, local string) (net.Conn, error) {
	t.dials.Add(1)
	if local != "tcp:8080" {
		return nil, adbd.ErrNoReverse
	}
	var d net.Dialer
	return d.DialContext(ctx, "tcp", t.target)
}

func (t *tunnel) Disconnect(time.Duration) {}

// phone is the network stack of a phone with proxy set, trusting the test
// proxy's CA when trust is true.
func phone(t *testing.T, px *simtest.Proxy, proxy string, trust bool) (*netstack.Stack, *tunnel) {
	t.Helper()
	fs := vfs.New("/system")
	if err := fs.Remount("/system", false); err != nil {
		t.Fatal(err)
	}
	if err := fs.MkdirAll(netstack.SystemCADir, 0o755, vfs.RootUID); err != nil {
		t.Fatal(err)
	}
	if trust {
		if err := fs.WriteFile(netstack.SystemCADir+"/test.0", px.CAPEM, 0o644, vfs.RootUID, false); err != nil {
			t.Fatal(err)
		}
	}
	n := netstack.New(netstack.Config{Settings: proxySetting(proxy), Files: fs, Clock: clock.Real(), SDK: 29})
	tn := &tunnel{target: fmt.Sprintf("127.0.0.1:%d", px.Port())}
	n.SetTunnel(tn)
	return n, tn
}

const sdkUID = 10057

func send(t *testing.T, n uplink.Net, path string) (uplink.Reply, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := uplink.NewRequest(ctx, http.MethodPost, "sa.api.intl.miui.com", path, []byte("x=1"))
	if err != nil {
		t.Fatal(err)
	}
	return uplink.Send(ctx, n, sdkUID, req)
}

// iptables runs the phone's iptables as root.
func iptables(t *testing.T, n *netstack.Stack, args ...string) {
	t.Helper()
	ctx := shell.WithUID(context.Background(), 0)
	if r := cmdtest.Run(ctx, n.Commands()["iptables"], append([]string{"iptables"}, args...)...); r.Code != 0 {
		t.Fatalf("iptables %v: %s", args, r.Err)
	}
}

// Through a global proxy, every way an upload can fail has its
// ground-truth reason, and a trusted proxy gets the request.
func TestThroughTheProxy(t *testing.T) {
	px := simtest.NewProxy(t)
	n, _ := phone(t, px, "127.0.0.1:9999", true)
	if _, err := send(t, n, "/sa"); uplink.Reason(err) != "no-reverse" {
		t.Errorf("a proxy port without a reverse rule: %v, want reason no-reverse", err)
	}
	n, _ = phone(t, px, "127.0.0.1:8080", false)
	if r, err := send(t, n, "/sa"); uplink.Reason(err) != "tls" || r.Route != uplink.RouteProxy {
		t.Errorf("an untrusted proxy CA: %+v %v", r, err)
	}
	if len(px.Requests()) != 0 {
		t.Fatal("a request got through an untrusted certificate")
	}
	n, _ = phone(t, px, "127.0.0.1:8080", true)
	r, err := send(t, n, "/sa?project=p")
	if err != nil || r.Status != 200 || string(r.Body) != `{"code":0}` || r.Route != uplink.RouteProxy {
		t.Fatalf("through the proxy: %+v %v", r, err)
	}
	if reqs := px.Requests(); len(reqs) != 1 || reqs[0].Host != "sa.api.intl.miui.com" || string(reqs[0].Body) != "x=1" {
		t.Errorf("the proxy got %+v", reqs)
	}
}

// Without a proxy setting, HttpURLConnection connects straight to the
// server: the request leaves the phone from the app's own socket, and the
// outside answers as the real service accepts uploads (a OneTrack key
// exchange gets a key). Nothing goes through adb.
func TestWithoutAProxyStraightToTheServer(t *testing.T) {
	px := simtest.NewProxy(t)
	for _, setting := range []string{"", ":0", "null"} {
		n, tn := phone(t, px, setting, true)
		r, err := send(t, n, "/sa?project=p")
		if err != nil || r.Route != netstack.RouteOutside || r.Status != 200 || string(r.Body) != `{"code":0}` {
			t.Errorf("proxy %q: %+v %v; want the outside's acceptance", setting, r, err)
		}
		if d := tn.dials.Load(); d != 0 {
			t.Errorf("proxy %q: %d dials through adb", setting, d)
		}
		r, err = send(t, n, protocols.OneTrackKeyPath)
		if err != nil {
			t.Fatalf("a key exchange with the outside: %v", err)
		}
		if _, _, err := protocols.ParseOneTrackKeyReply(r.Body); err != nil {
			t.Errorf("the outside's key reply %q: %v", r.Body, err)
		}
	}
	if len(px.Requests()) != 0 {
		t.Errorf("the proxy saw %+v", px.Requests())
	}
}

// A transparent capture: a nat REDIRECT for the app's uid sends its
// connection to the reverse port, where the proxy takes TLS by SNI; a rule
// for another uid leaves it alone.
func TestRedirectedByTheAppsUID(t *testing.T) {
	px := simtest.NewProxy(t)
	n, _ := phone(t, px, "", true)
	iptables(t, n, "-t", "nat", "-A", "OUTPUT", "-p", "tcp", "-m", "owner", "--uid-owner", "10099",
		"-j", "REDIRECT", "--to-ports", "8080")
	if r, err := send(t, n, "/sa?project=p"); err != nil || r.Route != netstack.RouteOutside {
		t.Errorf("another uid's rule: %+v %v", r, err)
	}
	iptables(t, n, "-t", "nat", "-A", "OUTPUT", "-p", "tcp", "-m", "owner", "--uid-owner", fmt.Sprint(sdkUID),
		"-j", "REDIRECT", "--to-ports", "8080")
	r, err := send(t, n, "/sa?project=p")
	if err != nil || r.Route != netstack.RouteRedirected || r.Status != 200 {
		t.Fatalf("redirected: %+v %v", r, err)
	}
	if reqs := px.Requests(); len(reqs) != 1 || reqs[0].Host != "sa.api.intl.miui.com" || !strings.HasPrefix(reqs[0].Path, "/sa") {
		t.Errorf("the proxy got %+v", reqs)
	}
}
