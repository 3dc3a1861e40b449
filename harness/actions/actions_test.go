package actions_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/onsi/gomega"

	"telltale.dev/devices/profiles"
	"telltale.dev/devices/sim"
	"telltale.dev/devices/sim/event"
	"telltale.dev/fixtures/canary"
	"telltale.dev/harness/actions"
	"telltale.dev/harness/expect"
	"telltale.dev/harness/leak"
	"telltale.dev/harness/matchers"
	"telltale.dev/harness/session"
	"telltale.dev/harness/session/sessiontest"
)

// bench is a simulated phone leased through a session, with what its apps
// did (from its event bus) kept to check each action reached the app that
// reports, and the networks its rig's access point put in range.
type bench struct {
	t      *testing.T
	rig    *sessiontest.Rig
	s      *session.Session
	g      *gomega.WithT
	mu     sync.Mutex
	events []event.Event
}

func newBench(t *testing.T, model, firmware string, with ...func(*sim.Config)) *bench {
	// Each event leaves at once, so an action's window holds its leaks;
	// realistic SDK pacing is the attribution package's to test.
	with = append([]func(*sim.Config){func(c *sim.Config) { c.TelemetryTiming = "immediate" }}, with...)
	b := &bench{t: t, rig: sessiontest.New(t, model, firmware, with...), g: gomega.NewWithT(t)}
	t.Cleanup(b.rig.Phone.Subscribe(func(e event.Event) {
		b.mu.Lock()
		b.events = append(b.events, e)
		b.mu.Unlock()
	}))
	b.s = b.rig.Open(t)
	actions.Attach(b.s, actions.Options{Log: testLog{t}, AccessPoint: b.rig.AccessPoint()})
	return b
}

type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// saw says whether the phone published an event like want (ok decides).
func saw[E event.Event](b *bench, ok func(E) bool) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, e := range b.events {
		if v, is := e.(E); is && ok(v) {
			return true
		}
	}
	return false
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// leaks asserts a canary's findings take exactly the firmware's known
// routes for the action whose condition holds now, as the framework does.
func (b *bench) leaks(ctx context.Context, action string, r *actions.Result, err error) {
	b.t.Helper()
	if err != nil {
		b.t.Fatalf("%s: %v", action, err)
	}
	known, kerr := expect.Leaks(b.s.Profile(), b.s.Firmware(), action, expect.State{
		Switch: func(name string) (bool, error) { return actions.Switch(ctx, b.s, name) },
	})
	b.g.Expect(kerr).NotTo(gomega.HaveOccurred())
	for _, c := range r.Canaries {
		b.g.Expect(r.Report).To(matchers.LeakExactly(c, expect.Routes(known)...), "%s on %s", action, b.s.Firmware().Version)
	}
}

// TestActionsThroughTheUI does every action the way a person does it on
// simulated phones of each firmware (Android 10 and 11, the browser switch
// or not) and checks that each reached the app that reports it, changed
// what it should on the phone, and leaked exactly the firmware's known
// leaks; the session's teardown must then put everything back.
func TestActionsThroughTheUI(t *testing.T) {
	for _, tc := range []struct{ model, firmware string }{
		{"redmi-note-8", "V11.0.3.0"},
		{"redmi-note-8", "V12.0.2.0"},
		{"redmi-note-8", "V12.5.1.0"},
		{"mi-mix-3", "V12.0.2.0"},
		{"aosp-emulator", "sdk_gphone64_x86_64-14"},
	} {
		t.Run(tc.model+"-"+tc.firmware, func(t *testing.T) {
			b := newBench(t, tc.model, tc.firmware)
			ctx := ctxFor(t)
			if _, err := actions.Baseline(ctx, b.s); err != nil {
				t.Fatal(err)
			}
			gen := canary.NewGenerator(7)
			b.browsing(ctx, gen)
			b.settings(ctx, gen)
			b.folder(ctx, gen)
			b.apps(ctx, gen)
			b.power(ctx, gen)
			b.wifi(ctx, gen)
			b.lock(ctx)
		})
	}
}

func (b *bench) browsing(ctx context.Context, gen *canary.Generator) {
	t := b.t
	u := gen.URL("u")
	r, err := actions.BrowseIncognito(ctx, b.s, u)
	b.leaks(ctx, profiles.ActionBrowseIncognito, r, err)
	if !saw(b, func(e event.PageLoaded) bool { return e.URL == u.Value && e.Incognito }) {
		t.Errorf("the browser did not load %s in an incognito tab", u.Value)
	}
	q := gen.Search("q")
	r, err = actions.Search(ctx, b.s, q)
	b.leaks(ctx, profiles.ActionSearch, r, err)
	if !saw(b, func(e event.Searched) bool { return e.Query == q.Value && e.Incognito }) {
		t.Errorf("the browser did not search for %q in an incognito tab", q.Value)
	}
	if !expect.Conditional(b.s.Firmware(), profiles.ActionBrowseIncognito) {
		return
	}
	// The May 2020 switch: off, nothing may leak; back on, it leaks again.
	for _, on := range []bool{false, true} {
		if err := actions.SetSwitch(ctx, b.s, profiles.SwitchEnhancedIncognito, on); err != nil {
			t.Fatal(err)
		}
		if got, err := actions.Switch(ctx, b.s, profiles.SwitchEnhancedIncognito); err != nil || got != on {
			t.Fatalf("switch reads %v (%v), want %v", got, err, on)
		}
		c := gen.URL(fmt.Sprintf("switch-%v", on))
		r, err := actions.BrowseIncognito(ctx, b.s, c)
		b.leaks(ctx, profiles.ActionBrowseIncognito, r, err)
		if !on && len(r.Report.Findings) > 0 {
			t.Errorf("switch off, yet %d findings", len(r.Report.Findings))
		}
	}
}

func (b *bench) settings(ctx context.Context, gen *canary.Generator) {
	for _, target := range b.s.Profile().Actions.Settings {
		v := actions.SettingCanary(gen, "s-"+target.Key, target)
		r, err := actions.ChangeSetting(ctx, b.s, target.Namespace, target.Key, v)
		b.leaks(ctx, profiles.ActionChangeSetting, r, err)
		if got := b.rig.Shell(b.t, "settings get "+target.Namespace+" "+target.Key); got != v.Value {
			b.t.Errorf("%s:%s is %q, want %q", target.Namespace, target.Key, got, v.Value)
		}
		if !saw(b, func(e event.SettingEdited) bool {
			return e.Package == "com.android.settings" && e.Key == target.Key && e.New == v.Value
		}) {
			b.t.Errorf("the Settings app did not change %s to %s", target.Key, v.Value)
		}
	}
	if _, err := actions.ChangeSetting(ctx, b.s, "system", "screen_brightness", gen.SettingValue("text")); err == nil || !strings.Contains(err.Error(), "whole number") {
		b.t.Errorf("brightness with a text canary: %v", err)
	}
}

func (b *bench) folder(ctx context.Context, gen *canary.Generator) {
	f := gen.Folder("f")
	r, err := actions.CreateFolder(ctx, b.s, f)
	b.leaks(ctx, profiles.ActionCreateFolder, r, err)
	if !saw(b, func(e event.FolderOpened) bool { return strings.HasSuffix(e.Path, "/"+f.Value) }) {
		b.t.Errorf("the file manager did not open %s", f.Value)
	}
}

func (b *bench) apps(ctx context.Context, gen *canary.Generator) {
	pkg := gen.Package("p")
	r, err := actions.InstallApp(ctx, b.s, pkg)
	b.leaks(ctx, profiles.ActionInstallApp, r, err)
	if !saw(b, func(e event.PackageInstalled) bool { return e.Package == pkg.Value }) {
		b.t.Errorf("%s was not installed", pkg.Value)
	}
	r, err = actions.OpenApp(ctx, b.s, pkg)
	b.leaks(ctx, profiles.ActionOpenApp, r, err)
	if !saw(b, func(e event.ActivityStarted) bool { return e.Package == pkg.Value }) {
		b.t.Errorf("%s was not started", pkg.Value)
	}
}

func (b *bench) power(ctx context.Context, gen *canary.Generator) {
	level := gen.Number("n")
	r, err := actions.Charge(ctx, b.s, "ac", level)
	b.leaks(ctx, profiles.ActionCharge, r, err)
	if !saw(b, func(e event.PowerConnected) bool { return e.Plug == "ac" }) {
		b.t.Error("no ACTION_POWER_CONNECTED: the phone was not unplugged first")
	}
	if _, err := actions.Unplug(ctx, b.s); err != nil {
		b.t.Error(err)
	}
	if got := b.rig.Shell(b.t, "dumpsys battery"); !strings.Contains(got, "AC powered: false") {
		b.t.Errorf("still plugged in after Unplug:\n%s", got)
	}
}

func (b *bench) wifi(ctx context.Context, gen *canary.Generator) {
	ssid := gen.SSID("w")
	r, err := actions.ConnectWifi(ctx, b.s, ssid, 50)
	b.leaks(ctx, profiles.ActionConnectWifi, r, err)
	if on, name := b.rig.Phone.Network(); !on || name != ssid.Value {
		b.t.Errorf("on network %q (%v), want %s", name, on, ssid.Value)
	}
}

func (b *bench) lock(ctx context.Context) {
	r, err := actions.LockScreen(ctx, b.s)
	if err != nil {
		b.t.Fatal(err)
	}
	want, _ := expect.Traffic(b.s.Firmware(), profiles.ActionLockScreen)
	for _, host := range want.Endpoints {
		host, _, _ = strings.Cut(host, "/")
		if !contains(r.Diff, host) {
			b.t.Errorf("lock-screen: %s not in the window's differential view %+v", host, r.Diff)
		}
	}
	if !saw(b, func(e event.ScreenChanged) bool { return !e.On }) {
		b.t.Error("the screen did not go off")
	}
	// The next action wakes the screen and dismisses the keyguard first.
	u := canary.NewGenerator(8).URL("after-lock")
	r, err = actions.BrowseIncognito(ctx, b.s, u)
	b.leaks(ctx, profiles.ActionBrowseIncognito, r, err)
	if got := b.rig.Shell(b.t, "dumpsys power"); !strings.Contains(got, "mWakefulness=Awake") {
		b.t.Errorf("the screen is not on after an action that followed the lock:\n%s", got)
	}
}

func contains(d leak.Diff, host string) bool {
	for _, h := range d.Hosts {
		if h == host {
			return true
		}
	}
	return false
}

// TestDeviceLostMidAction: the phone drops off the adb server while an
// action's UI flow runs (as soon as the browser opens). The action returns
// ErrDeviceLost at once instead of waiting out its steps or a call
// deadline, and the session's Close says how to finish the restore.
func TestDeviceLostMidAction(t *testing.T) {
	r := sessiontest.New(t, "redmi-note-8", "V11.0.3.0")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := session.Open(ctx, r.Lease, r.Config(t))
	if err != nil {
		t.Fatal(err)
	}
	browser := s.Profile().Actions.Browser.Package
	var once sync.Once
	stop := r.Phone.Subscribe(func(e event.Event) {
		if a, ok := e.(event.ActivityStarted); ok && a.Package == browser {
			once.Do(func() { go r.Phone.Close() })
		}
	})
	defer stop()
	start := time.Now()
	_, err = actions.BrowseIncognito(ctx, s, canary.NewGenerator(1).URL("u"))
	if !errors.Is(err, session.ErrDeviceLost) {
		t.Fatalf("error %v, want ErrDeviceLost", err)
	}
	if d := time.Since(start); d > 8*time.Second {
		t.Errorf("took %s to notice the lost device", d)
	}
	if s.Lost() == nil {
		t.Error("session does not report the loss")
	}
	// Close cannot restore a gone phone; it must say so and how to finish.
	if err := s.Close(ctx); !errors.Is(err, session.ErrDeviceLost) || !strings.Contains(err.Error(), "telltale restore") {
		t.Errorf("Close on a lost device: %v", err)
	}
}

// TestInstallAsRootWithoutInstallViaUSB: a rooted MIUI phone whose "Install
// via USB" is off refuses the shell's installs; the action installs with
// `su -c pm install`, which shows no dialog, and teardown uninstalls.
func TestInstallAsRootWithoutInstallViaUSB(t *testing.T) {
	b := newBench(t, "redmi-note-8", "V12.0.2.0")
	b.rig.Shell(t, "su -c setprop persist.security.adbinstall 0")
	if out, err := b.rig.Client.Device(b.rig.Lease.Serial).RunCommand(ctxFor(t), "pm install -r /data/local/tmp/none.apk"); err == nil && !strings.Contains(out, "INSTALL_FAILED_USER_RESTRICTED") {
		t.Fatalf("the phone takes the shell's installs with the toggle off: %q", out)
	}
	ctx := ctxFor(t)
	pkg := canary.NewGenerator(9).Package("root")
	r, err := actions.InstallApp(ctx, b.s, pkg)
	b.leaks(ctx, profiles.ActionInstallApp, r, err)
	if !saw(b, func(e event.PackageInstalled) bool { return e.Package == pkg.Value }) {
		t.Errorf("%s was not installed", pkg.Value)
	}
	if saw(b, func(e event.ActivityStarted) bool { return e.Package == "com.miui.securitycenter" }) {
		t.Error("MIUI's install dialog showed for an install through su")
	}
	t.Cleanup(func() { b.rig.Shell(t, "su -c setprop persist.security.adbinstall 1") })
}

// TestSliderReachesNumberCanaries: the brightness slider's padding puts
// values off the track's fractions, so the first tap often misses (on the
// Mi 9T's screen 69 took more than three taps); numbers across the whole
// range canary.Generator.Number plants, ends included, must be set exactly.
func TestSliderReachesNumberCanaries(t *testing.T) {
	b := newBench(t, "mi-9t", "V12.0.2.0")
	ctx := ctxFor(t)
	target := b.s.Profile().Actions.Settings[0]
	if target.Key != "screen_brightness" {
		t.Fatalf("the profile's first setting is %s, want the brightness slider", target.Key)
	}
	for _, n := range append([]int{12, 13, 69, 97, 98}, 15, 24, 31, 42, 53, 64, 76, 87, 94) {
		v := canary.Canary{ID: fmt.Sprintf("n-%d", n), Value: strconv.Itoa(n), Kind: canary.KindNumber}
		if _, err := actions.ChangeSetting(ctx, b.s, target.Namespace, target.Key, v); err != nil {
			t.Errorf("%d: %v", n, err)
		}
	}
}
