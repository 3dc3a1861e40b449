// Package sdktest runs the simulated phone's SDKs for tests without a whole
// phone: the phone's real network stack with the recording proxy of
// devices/sim/simtest behind an adb reverse rule that a test can take away,
// a Wi-Fi that can be switched off, the phone's event bus and file system,
// and a fake clock.
package sdktest

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"telltale.dev/devices/sim/adbd"
	"telltale.dev/devices/sim/clock"
	"telltale.dev/devices/sim/event"
	"telltale.dev/devices/sim/netstack"
	"telltale.dev/devices/sim/sdk/device"
	"telltale.dev/devices/sim/sdk/groundtruth"
	"telltale.dev/devices/sim/simtest"
	"telltale.dev/devices/sim/vfs"
)

// Start is when every rig's clock starts.
var Start = time.Date(2020, 4, 30, 12, 0, 0, 0, time.UTC)

// Identity is the rig's phone.
var Identity = device.Identity{Serial: "127.0.0.1:1", Device: "ginkgo", Model: "Redmi Note 8", Brand: "Redmi",
	MIUIVersion: "V11.0.3.0.PCOMIXM", Android: "10", AndroidID: "0123456789abcdef", IMEI: "861234567890123",
	Region: "global", AppVersions: map[string]string{"com.mi.globalbrowser": "12.1.0"}}

// Rig is a phone reduced to what its SDKs use.
type Rig struct {
	Clock *clock.Fake
	Bus   *event.Bus
	Files *vfs.FS
	Proxy *simtest.Proxy
	Truth *groundtruth.Log
	Net   *netstack.Stack
	Wifi  *Wifi
	IDs   atomic.Int64

	timing device.Timing
	tunnel *tunnel
	seen   int // requests NewRequests returned
}

// New starts a rig whose proxy is reachable and trusted and whose Wi-Fi is on.
func New(t testing.TB, timing device.Timing) *Rig {
	t.Helper()
	px := simtest.NewProxy(t)
	fs := vfs.New("/system")
	for _, step := range []func() error{
		func() error { return fs.Remount("/system", false) },
		func() error { return fs.MkdirAll(netstack.SystemCADir, 0o755, vfs.RootUID) },
		func() error {
			return fs.WriteFile(netstack.SystemCADir+"/test.0", px.CAPEM, 0o644, vfs.RootUID, false)
		},
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	clk := clock.NewFake(Start)
	tn := &tunnel{target: fmt.Sprintf("127.0.0.1:%d", px.Port()), on: true}
	n := netstack.New(netstack.Config{Settings: proxySetting{}, Files: fs, Clock: clk, SDK: 29})
	n.SetTunnel(tn)
	bus := &event.Bus{}
	return &Rig{Clock: clk, Bus: bus, Files: fs, Proxy: px, Truth: &groundtruth.Log{}, Net: n,
		Wifi: &Wifi{bus: bus, on: true}, timing: timing, tunnel: tn}
}

// ProxyAddr is the phone's global proxy setting in every rig.
const ProxyAddr = "127.0.0.1:8080"

type proxySetting struct{}

func (proxySetting) Setting(ns, key string) (string, bool) {
	if ns == "global" && key == "http_proxy" {
		return ProxyAddr, true
	}
	return "", false
}

// App is what an SDK in pkg (uid 10057) gets from the rig.
func (r *Rig) App(pkg string) device.App {
	return device.App{Package: pkg, UID: 10057, Version: Identity.AppVersions[pkg], Clock: r.Clock, Bus: r.Bus, Files: r.Files,
		Net: r.Net, Network: r.Wifi, Identity: Identity, Truth: groundtruth.NewWriter(r.Truth), IDs: &r.IDs,
		Timing: r.timing, Log: slog.New(slog.DiscardHandler), Timeout: 5 * time.Second}
}

// SetReverse adds or removes the adb reverse rule that carries the phone's
// proxy port to the test proxy: without it every upload fails (no-reverse).
func (r *Rig) SetReverse(on bool) {
	r.tunnel.mu.Lock()
	r.tunnel.on = on
	r.tunnel.mu.Unlock()
}

// Advance moves the clock and waits for the work it started.
func (r *Rig) Advance(t testing.TB, d time.Duration, idle ...interface{ Idle(context.Context) error }) {
	t.Helper()
	r.Clock.Advance(d)
	Wait(t, idle...)
}

// Wait waits until each of idle has no work running.
func Wait(t testing.TB, idle ...interface{ Idle(context.Context) error }) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, i := range idle {
		if err := i.Idle(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

// Records is the ground truth since the last call.
func (r *Rig) Records(t testing.TB) []groundtruth.Record {
	t.Helper()
	recs, err := r.Truth.Drain()
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// NewRequests are the requests the proxy got since the last call.
func (r *Rig) NewRequests() []simtest.Request {
	reqs := r.Proxy.Requests()
	out := reqs[r.seen:]
	r.seen = len(reqs)
	return out
}

// Equal fails the test unless got is want, saying what was compared.
func Equal(t testing.TB, what string, got []string, want ...string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s:\n got %s\nwant %s", what, strings.Join(got, "\n     "), strings.Join(want, "\n     "))
	}
}

// Wifi is the phone's Wi-Fi: connected to "AndroidWifi" or off.
type Wifi struct {
	bus *event.Bus
	mu  sync.Mutex
	on  bool
}

// Network implements device.Network.
func (w *Wifi) Network() (bool, string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.on {
		return false, ""
	}
	return true, "AndroidWifi"
}

// Set turns Wi-Fi on or off and tells the phone, as the Wi-Fi service does.
func (w *Wifi) Set(on bool) {
	w.mu.Lock()
	w.on = on
	w.mu.Unlock()
	if on {
		w.bus.Publish(event.WifiConnected{SSID: "AndroidWifi", Reconnect: true})
	} else {
		w.bus.Publish(event.WifiDisconnected{SSID: "AndroidWifi"})
	}
}

// tunnel is adb's reverse rule for the proxy port, which a test may remove.
type tunnel struct {
	target string
	mu     sync.Mutex
	on     bool
}

func (t *tunnel) DialReverse(ctx context.Context, local string) (net.Conn, error) {
	t.mu.Lock()
	on := t.on
	t.mu.Unlock()
	if !on || local != "tcp:8080" {
		return nil, adbd.ErrNoReverse
	}
	var d net.Dialer
	return d.DialContext(ctx, "tcp", t.target)
}

func (t *tunnel) Disconnect(time.Duration) {}
