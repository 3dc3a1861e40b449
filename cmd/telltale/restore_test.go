package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/testcontainers/testcontainers-go"

	"telltale.dev/devices/profiles"
	"telltale.dev/devices/sim/rig/rigtest"
	"telltale.dev/fixtures/canary"
	"telltale.dev/harness/actions"
	"telltale.dev/harness/ca"
	"telltale.dev/harness/lease"
	"telltale.dev/harness/proxy"
	"telltale.dev/harness/session"
)

// TestRestoreAfterCrash: a session prepares a phone and changes it (a
// setting, a folder, an installed app, the charger), then its process
// "dies" without teardown. `telltale restore RUN_DIR` puts everything back
// from the journal alone, removes the proxy container, and a second restore
// has nothing left to do.
func TestRestoreAfterCrash(t *testing.T) {
	t.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
	c := rigtest.New(t)
	p := startPhone(t, c, "redmi-note-8", "V11.0.3.0")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dir := filepath.Join(t.TempDir(), "run")
	cfg := containerSession(t, ctx, dir, "restore test CA")
	s, err := session.Open(ctx, lease.Lease{Server: c.Client().Addr(), Serial: p.Serial(), Profile: cfg.Profile.Name, Firmware: "V11.0.3.0.PCOMIXM"}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	actions.Attach(s, actions.Options{AccessPoint: phoneAP{p}})
	gen := canary.NewGenerator(7)
	for _, do := range []func() (*actions.Result, error){
		func() (*actions.Result, error) {
			return actions.ChangeSetting(ctx, s, "system", "screen_brightness", gen.Number("b"))
		},
		func() (*actions.Result, error) { return actions.CreateFolder(ctx, s, gen.Folder("f")) },
		func() (*actions.Result, error) { return actions.InstallApp(ctx, s, gen.Package("p")) },
		func() (*actions.Result, error) { return actions.Charge(ctx, s, "ac", gen.Number("n")) },
		func() (*actions.Result, error) { return actions.ConnectWifi(ctx, s, gen.SSID("w"), 50) },
	} {
		if _, err := do(); err != nil {
			t.Fatal(err)
		}
	}
	if len(containersFor(t, dir)) != 1 {
		t.Fatal("the session's proxy container is not running")
	}
	// While the session holds the phone, restore refuses to touch it.
	var out, errOut bytes.Buffer
	if code := restoreMain(ctx, []string{dir}, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "leased") {
		t.Fatalf("restore of a leased phone: exit %d, %s", code, errOut.String())
	}
	if len(containersFor(t, dir)) != 1 {
		t.Fatal("restore removed the proxy of a live session")
	}
	// The crash: no Close. Detach drops the lease as a dying process would.
	if err := s.Detach(); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	errOut.Reset()
	if code := restoreMain(ctx, []string{dir}, &out, &errOut); code != 0 {
		t.Fatalf("restore exited %d: %s%s", code, out.String(), errOut.String())
	}
	p.checkRestored(t)
	dev := c.Client().Device(p.Serial())
	if o, _ := dev.RunCommand(ctx, "pm list packages -3"); strings.Contains(o, gen.Package("p").Value) {
		t.Errorf("test package still installed: %s", o)
	}
	if o, _ := dev.RunCommand(ctx, "ls /sdcard"); strings.Contains(o, gen.Folder("f").Value) {
		t.Errorf("test folder still there: %s", o)
	}
	if o, _ := dev.RunCommand(ctx, "cmd wifi status"); strings.Contains(o, gen.SSID("w").Value) {
		t.Errorf("still on the test network: %s", o)
	}
	if left := containersFor(t, dir); len(left) > 0 {
		t.Errorf("proxy container left after restore: %v", left)
	}
	out.Reset()
	if code := restoreMain(ctx, []string{dir}, &out, &errOut); code != 0 || !strings.Contains(out.String(), "nothing to restore") {
		t.Errorf("second restore: exit %d, %q", code, out.String())
	}
}

func TestRestoreUsage(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := restoreMain(context.Background(), nil, &out, &errOut); code != 2 {
		t.Errorf("no RUN_DIR: exit %d, want 2", code)
	}
	if code := restoreMain(context.Background(), []string{t.TempDir()}, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "journal") {
		t.Errorf("not a run dir: exit %d, %q", code, errOut.String())
	}
}

// containerSession is how the restore and soak tests lease a simulated
// Redmi Note 8: a fresh CA and the proxy in a named container, the path
// `telltale restore` has to clean up after a crash. runDir may be set later
// (forRun), as the soak test does per cycle.
func containerSession(t *testing.T, ctx context.Context, runDir, caName string) session.Config {
	t.Helper()
	profs, err := profiles.Load()
	if err != nil {
		t.Fatal(err)
	}
	authority, err := ca.New(caName)
	if err != nil {
		t.Fatal(err)
	}
	img, err := proxy.BuildImage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cfg := session.Config{
		Profile: profiles.ByName(profs, "redmi-note-8"), CA: authority, Settle: 300 * time.Millisecond,
		StartProxy: func(ctx context.Context, flowDir, name string) (proxy.Recorder, error) {
			return proxy.Run(ctx, img, proxy.WithCA(authority.CertPEM(), authority.KeyPEM()), proxy.WithFlowDir(flowDir), testcontainers.WithName(name))
		},
	}
	return forRun(cfg, runDir)
}

// forRun points a session config at a run directory, with a container
// name of its own (Docker's names are global).
func forRun(cfg session.Config, runDir string) session.Config {
	cfg.RunDir, cfg.Dir = runDir, filepath.Join(runDir, "device")
	cfg.ProxyName = "telltale-proxy-test-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	return cfg
}
