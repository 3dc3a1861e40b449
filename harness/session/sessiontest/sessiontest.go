// Package sessiontest gives tests a simulated phone on a private real adb
// server, ready to lease: the rig session, actions and command tests share.
package sessiontest

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"telltale.dev/devices/adb"
	"telltale.dev/devices/profiles"
	"telltale.dev/devices/sim"
	"telltale.dev/devices/sim/rig/rigtest"
	"telltale.dev/harness/ca"
	"telltale.dev/harness/lease"
	"telltale.dev/harness/proxy"
	"telltale.dev/harness/session"
)

// Rig is one simulated phone, connected and leasable.
type Rig struct {
	Phone   *sim.Phone
	Client  *adb.Client
	Lease   lease.Lease
	Profile *profiles.Profile
	CA      *ca.CA
	RunDir  string
}

// New starts a phone of model on firmware (full or short version) on its own
// adb server; both stop when the test ends. with change the phone's
// configuration (its kind, its telemetry timing).
func New(t testing.TB, model, firmware string, with ...func(*sim.Config)) *Rig {
	t.Helper()
	profs, err := profiles.Load()
	if err != nil {
		t.Fatal(err)
	}
	p := profiles.ByName(profs, model)
	if p == nil {
		t.Fatalf("no profile %q", model)
	}
	fw, err := p.FindFirmware(firmware)
	if err != nil {
		t.Fatal(err)
	}
	r := rigtest.New(t)
	cfg := sim.Config{Profile: p, Firmware: fw.Version}
	for _, w := range with {
		w(&cfg)
	}
	ph := rigtest.Phone(t, r, cfg)
	authority, err := ca.New("telltale test CA")
	if err != nil {
		t.Fatal(err)
	}
	return &Rig{Phone: ph, Client: r.Client(), Profile: p, CA: authority, RunDir: t.TempDir(),
		Lease: lease.Lease{Server: r.Client().Addr(), Serial: ph.Serial(), Profile: p.Name, Firmware: fw.Version, Model: p.DisplayName}}
}

// Config leases with an in-process proxy (tests that need the container
// replace StartProxy and set ProxyName) and a short settle window; progress
// goes to the test log.
func (r *Rig) Config(t testing.TB) session.Config {
	return session.Config{
		RunDir: r.RunDir, Dir: filepath.Join(r.RunDir, "device"), Profile: r.Profile, CA: r.CA, Settle: 500 * time.Millisecond,
		StartProxy: func(ctx context.Context, dir, _ string) (proxy.Recorder, error) {
			return proxy.StartInProcess(ctx, proxy.WithCA(r.CA.CertPEM(), r.CA.KeyPEM()), proxy.WithFlowDir(dir))
		},
		Log: logWriter{t},
	}
}

// Open leases the phone; the session is closed (and must restore cleanly)
// when the test ends.
func (r *Rig) Open(t testing.TB) *session.Session {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := session.Open(ctx, r.Lease, r.Config(t))
	if err != nil {
		t.Fatalf("session.Open: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := s.Close(ctx); err != nil {
			t.Errorf("session.Close: %v", err)
		}
	})
	return s
}

// Shell runs a command on the phone behind the harness's back, to check
// what the harness did.
func (r *Rig) Shell(t testing.TB, cmd string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := r.Client.Device(r.Lease.Serial).RunCommand(ctx, cmd)
	if err != nil {
		t.Fatalf("%s: %v", cmd, err)
	}
	return strings.TrimSpace(out)
}

// AccessPoint is the phone's surroundings as the rig's Wi-Fi access point
// (actions.AccessPoint): a network it broadcasts comes in the phone's range.
func (r *Rig) AccessPoint() AccessPoint { return AccessPoint{r.Phone} }

// AccessPoint puts open networks in range of a simulated phone.
type AccessPoint struct{ p *sim.Phone }

// Add broadcasts the open network ssid.
func (a AccessPoint) Add(_ context.Context, ssid string) error {
	a.p.AddNetwork(sim.Network{SSID: ssid, Security: "open"})
	return nil
}

// Remove stops broadcasting ssid.
func (a AccessPoint) Remove(_ context.Context, ssid string) error {
	a.p.RemoveNetwork(ssid)
	return nil
}

type logWriter struct{ t testing.TB }

func (w logWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}
