package sim_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"telltale.dev/devices/adb"
	"telltale.dev/devices/sim"
	"telltale.dev/devices/sim/clock"
	"telltale.dev/devices/sim/rig"
	"telltale.dev/devices/sim/rig/rigtest"
	"telltale.dev/devices/sim/sdk/groundtruth"
	"telltale.dev/devices/sim/simtest"
	hui "telltale.dev/harness/ui"
	"telltale.dev/protocols"
)

// sdkPhone is a Redmi Note 8 on the fake clock, driven through the real
// adb server, its proxy setting and an adb reverse rule leading to a
// recording proxy.
type sdkPhone struct {
	t     *testing.T
	ctx   context.Context
	clk   *clock.Fake
	rig   *rig.Rig
	phone *sim.Phone
	dev   *adb.Device
	ui    *hui.Driver
	proxy *simtest.Proxy
	truth *groundtruth.Log
	seen  int
}

func startSDKPhone(t *testing.T) *sdkPhone {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	clk := clock.NewFake(time.Date(2020, 4, 30, 12, 0, 0, 0, time.UTC))
	truth := &groundtruth.Log{}
	r := rigtest.New(t)
	p := rigtest.Phone(t, r, sim.Config{Model: "redmi-note-8", Firmware: "V11.0.3.0", Clock: clk, Truth: truth, NoNoise: true})
	dev := r.Client().Device(p.Serial())
	s := &sdkPhone{t: t, ctx: ctx, clk: clk, rig: r, phone: p, dev: dev, proxy: simtest.NewProxy(t), truth: truth,
		ui: hui.New(dev, hui.Options{Wait: 5 * time.Second, Poll: 20 * time.Millisecond})}
	s.shell("settings put global http_proxy 127.0.0.1:8080")
	s.reachProxy()
	return s
}

// reachProxy carries the phone's proxy port to the recording proxy and
// puts its CA in the system store as the harness does (Magisk's su, a
// tmpfs over the store): both go with a reboot.
func (s *sdkPhone) reachProxy() {
	s.t.Helper()
	if err := s.dev.Reverse(s.ctx, "tcp:8080", fmt.Sprintf("tcp:%d", s.proxy.Port())); err != nil {
		s.t.Fatal(err)
	}
	if err := s.dev.Push(s.ctx, bytes.NewReader(s.proxy.CAPEM), "/data/local/tmp/telltale.0", 0o644, time.Now()); err != nil {
		s.t.Fatal(err)
	}
	s.shell("su -c 'mkdir -p /data/local/tmp/ca && cp /system/etc/security/cacerts/* /data/local/tmp/ca/ && " +
		"mount -t tmpfs tmpfs /system/etc/security/cacerts && mv /data/local/tmp/ca/* /system/etc/security/cacerts/ && " +
		"cp /data/local/tmp/telltale.0 /system/etc/security/cacerts/ && chmod 644 /system/etc/security/cacerts/*'")
}

func (s *sdkPhone) shell(cmd string) string {
	s.t.Helper()
	r, err := s.dev.Shell(s.ctx, cmd)
	if err != nil {
		s.t.Fatalf("%s: %v", cmd, err)
	}
	if r.ExitCode != 0 {
		s.t.Fatalf("%s: exit %d: %s%s", cmd, r.ExitCode, r.Stdout, r.Stderr)
	}
	return string(r.Stdout)
}

func (s *sdkPhone) tap(sel string) {
	s.t.Helper()
	parsed, err := hui.ParseSelector(sel)
	if err != nil {
		s.t.Fatal(err)
	}
	if _, err := s.ui.Tap(s.ctx, parsed); err != nil {
		s.t.Fatal(err)
	}
}

// visitIncognito opens the Mi Browser, turns incognito mode on from its
// menu and loads url from the address bar, as the harness does.
func (s *sdkPhone) visitIncognito(url string) {
	s.t.Helper()
	s.shell("am start -W -n com.mi.globalbrowser/com.android.browser.BrowserActivity")
	s.tap("desc=Menu")
	s.tap("text=Incognito mode")
	s.tap("id=search_hint")
	if err := s.ui.Type(s.ctx, url); err != nil {
		s.t.Fatal(err)
	}
	if err := s.ui.Key(s.ctx, "KEYCODE_ENTER"); err != nil {
		s.t.Fatal(err)
	}
}

// advance moves the phone's clock and waits for the uploads it started.
func (s *sdkPhone) advance(d time.Duration) {
	s.t.Helper()
	s.clk.Advance(d)
	if err := s.phone.Idle(s.ctx); err != nil {
		s.t.Fatal(err)
	}
}

// visits are the Sensors Analytics uploads since the last call, each as
// "T+flush event(url),event".
func (s *sdkPhone) visits() []string {
	s.t.Helper()
	reqs := s.proxy.Requests()
	var out []string
	for _, q := range reqs[s.seen:] {
		if q.Host != "sa.api.intl.miui.com" {
			continue
		}
		evs, err := protocols.DecodeSA(q.Body)
		if err != nil {
			s.t.Fatal(err)
		}
		var names []string
		var flushed int64
		for _, ev := range evs {
			name := ev["event"].(string)
			if u, ok := ev["properties"].(map[string]any)["url"].(string); ok {
				name += "(" + u + ")"
			}
			names = append(names, name)
			flushed = int64(ev["_flush_time"].(float64))
		}
		at := time.UnixMilli(flushed).Sub(time.Date(2020, 4, 30, 12, 0, 0, 0, time.UTC))
		out = append(out, at.String()+" "+strings.Join(names, ","))
	}
	s.seen = len(reqs)
	return out
}

func (s *sdkPhone) dump() string {
	s.t.Helper()
	return s.shell("dumpsys telltale_telemetry")
}

func expect(t *testing.T, what string, got []string, want ...string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s:\n got %q\nwant %q", what, got, want)
	}
}

// TestSensorsAnalyticsPacingOverAdb: an incognito visit in the Mi Browser
// reaches the proxy 15 s (on the phone's clock) after the page loaded, in
// the SDK's batch; a visit queued before a reboot survives it, its first
// upload after the reboot fails (the proxy's CA went with the reboot) and
// is retried with the flush that leaving the browser brings 30 s later,
// with the $AppEnd the cut session owed.
func TestSensorsAnalyticsPacingOverAdb(t *testing.T) {
	s := startSDKPhone(t)
	if !strings.Contains(s.shell("dumpsys -l"), "  telltale_telemetry\n") {
		t.Fatalf("dumpsys -l does not list the telemetry service")
	}
	s.visitIncognito("canary-one.example/page")
	if got := s.dump(); !strings.Contains(got, "queue sdk=sensors-analytics app=com.mi.globalbrowser length=2 next_flush=2020-04-30T12:00:15.000Z in_ms=15000 ") {
		t.Fatalf("dumpsys after the visit:\n%s", got)
	}
	s.advance(15*time.Second - time.Millisecond)
	expect(t, "before 15 s", s.visits())
	s.advance(time.Millisecond)
	expect(t, "at 15 s", s.visits(), "15s $AppStart,browser_visit(http://canary-one.example/page)")

	// A second visit, then a reboot before its flush.
	s.advance(time.Minute)
	s.shell("input keyevent KEYCODE_BACK; input keyevent KEYCODE_BACK") // out of the browser
	s.visitIncognito("canary-two.example/page")                         // back within 30 s: the same session
	s.advance(5 * time.Second)
	if _, err := s.dev.Shell(s.ctx, "reboot"); err != nil {
		t.Fatal(err)
	}
	s.advance(time.Second) // the link drops as the phone goes down
	if err := s.rig.Connect(s.ctx, s.phone.Serial()); err != nil {
		t.Fatal(err)
	}
	s.advance(time.Hour)
	expect(t, "an hour after the reboot", s.visits())
	if got := s.dump(); !strings.Contains(got, "queue sdk=sensors-analytics app=com.mi.globalbrowser length=1 next_flush=none ") {
		t.Errorf("dumpsys after the reboot:\n%s", got)
	}
	if got := s.shell("su -c 'cat /data/data/com.mi.globalbrowser/databases/sensorsdata'"); !strings.Contains(got, "canary-two.example/page") {
		t.Errorf("the browser's database after the reboot: %q", got)
	}

	// The browser starts again; the reverse rule is back but the CA is not:
	// its flush fails and keeps the events.
	if err := s.dev.Reverse(s.ctx, "tcp:8080", fmt.Sprintf("tcp:%d", s.proxy.Port())); err != nil {
		t.Fatal(err)
	}
	s.truth.Drain()
	s.shell("input keyevent KEYCODE_WAKEUP; wm dismiss-keyguard") // the phone boots to its keyguard
	s.shell("am start -W -n com.mi.globalbrowser/com.android.browser.BrowserActivity")
	s.advance(15 * time.Second)
	expect(t, "without the CA", s.visits())
	failed := 0
	for _, rec := range latest(t, s.truth) {
		if rec.Values["url"] == "http://canary-two.example/page" && rec.State == groundtruth.Failed && rec.Reason == "tls" {
			failed++
		}
	}
	if failed != 1 {
		t.Errorf("the second visit's failed attempt is not in the ground truth")
	}

	// With the CA back, leaving the browser (HOME) flushes 30 s later.
	s.reachProxy()
	s.shell("input keyevent KEYCODE_HOME")
	s.advance(30*time.Second - time.Millisecond)
	expect(t, "before $AppEnd", s.visits())
	s.advance(time.Millisecond)
	// The session the reboot cut owes its $AppEnd: the browser's next
	// start tracks it before its $AppStart.
	expect(t, "$AppEnd's flush", s.visits(), "1h2m6s browser_visit(http://canary-two.example/page),$AppEnd,$AppStart,$AppEnd")
	recs, err := s.truth.Records()
	if err != nil {
		t.Fatal(err)
	}
	for _, rec := range groundtruth.Latest(recs) {
		if rec.Values["url"] == "http://canary-two.example/page" && (rec.State != groundtruth.Sent || rec.Attempt != 2) {
			t.Errorf("the second visit ends %s after %d attempts, want sent at the second", rec.State, rec.Attempt)
		}
	}
	// The browser's launches wait in OneTrack's retry (its uploads failed
	// without the CA too); after it, every queue is empty.
	s.advance(time.Minute)
	if got := s.dump(); !strings.Contains(got, "total length=0 ") {
		t.Errorf("dumpsys at the end:\n%s", got)
	}
}

func latest(t *testing.T, log *groundtruth.Log) []groundtruth.Record {
	t.Helper()
	recs, err := log.Records()
	if err != nil {
		t.Fatal(err)
	}
	return groundtruth.Latest(recs)
}

// TestCanaryQueuedAtTeardownLeavesUncaptured: a visit still queued when
// the harness takes its proxy away is not held back: with no proxy set,
// the SDK connects straight to its server (HttpURLConnection's direct
// route), the outside accepts it as the real server would (OneTrack's key
// exchange included), and the ground truth records every such event
// bypassed, with its route, never sent through the proxy.
func TestCanaryQueuedAtTeardownLeavesUncaptured(t *testing.T) {
	s := startSDKPhone(t)
	s.visitIncognito("canary-late.example/page")
	s.shell("settings put global http_proxy :0")
	s.truth.Drain()
	s.advance(15 * time.Second)
	s.advance(time.Minute)
	expect(t, "the proxy after its teardown", s.visits())
	if n := len(s.proxy.Requests()); n != 0 {
		t.Errorf("the proxy saw %d requests after its teardown", n)
	}
	var canary, onetrack bool
	for _, rec := range latest(t, s.truth) {
		if rec.State != groundtruth.Bypassed || rec.Route != "outside" || !rec.Delivered {
			t.Errorf("%s %s (%s): %s route %q, want bypassed through the outside", rec.SDK, rec.ID, rec.Event, rec.State, rec.Route)
		}
		canary = canary || rec.Values["url"] == "http://canary-late.example/page"
		onetrack = onetrack || rec.SDK == protocols.OneTrack
	}
	if !canary || !onetrack {
		t.Errorf("the visit (%v) and the browser's OneTrack launch (%v) should both have left", canary, onetrack)
	}
	if got := s.dump(); !strings.Contains(got, "total length=0 ") {
		t.Errorf("dumpsys after the flush:\n%s", got)
	}
}

// TestTransparentCaptureByAppUID: without a proxy setting, nat REDIRECT
// rules for one app's uid bring that app's SDK uploads to the capture (TLS
// by SNI); the Settings app runs as the system uid (1000), so its report
// of a changed setting is caught by a rule for uid 1000.
func TestTransparentCaptureByAppUID(t *testing.T) {
	s := startSDKPhone(t)
	if got := s.shell("pm list packages -U com.android.settings"); !strings.Contains(got, "package:com.android.settings uid:1000\n") {
		t.Fatalf("pm list packages -U: %q", got)
	}
	line := s.shell("pm list packages -U com.mi.globalbrowser")
	_, browserUID, _ := strings.Cut(strings.TrimSpace(strings.SplitN(line, "\n", 2)[0]), " uid:")
	s.shell("settings put global http_proxy :0")
	for _, uid := range []string{browserUID, "1000"} {
		s.shell("su -c 'iptables -t nat -A OUTPUT -p tcp -m owner --uid-owner " + uid + " -j REDIRECT --to-ports 8080'")
	}
	s.visitIncognito("canary-redirected.example/page")
	s.shell("am start -W -n com.android.settings/com.android.settings.Settings")
	s.tap("text=Display")
	s.tap("text=Sleep")
	s.tap("text=10 minutes")
	s.truth.Drain()
	s.advance(15 * time.Second)
	expect(t, "redirected", s.visits(), "15s $AppStart,browser_visit(http://canary-redirected.example/page)",
		"15s $AppStart,setting_changed")
	routes := map[string]string{}
	for _, rec := range latest(t, s.truth) {
		if rec.SDK == protocols.SensorsAnalytics {
			routes[rec.App+" "+rec.Event] = rec.State + " " + rec.Route
		}
	}
	for _, ev := range []string{"com.mi.globalbrowser browser_visit", "com.android.settings setting_changed"} {
		if routes[ev] != "sent redirected" {
			t.Errorf("%s: %q, want sent redirected (all: %v)", ev, routes[ev], routes)
		}
	}
}

// TestForceStopKillsTheSDKsTimers: `am force-stop` kills the browser's
// process and with it its SDKs' pending flushes; its events stay in its
// database and leave with the next flush once the browser runs again,
// after the $AppEnd the killed session owed.
func TestForceStopKillsTheSDKsTimers(t *testing.T) {
	s := startSDKPhone(t)
	s.visitIncognito("canary-stopped.example/page")
	s.shell("am force-stop com.mi.globalbrowser")
	s.advance(time.Minute)
	expect(t, "a minute after force-stop", s.visits())
	if got := s.dump(); !strings.Contains(got, "queue sdk=sensors-analytics app=com.mi.globalbrowser length=2 next_flush=none ") ||
		!strings.Contains(got, "queue sdk=onetrack app=com.mi.globalbrowser length=1 next_flush=none ") {
		t.Errorf("dumpsys after force-stop:\n%s", got)
	}
	if got := s.shell("su -c 'cat /data/data/com.mi.globalbrowser/databases/sensorsdata'"); !strings.Contains(got, "canary-stopped.example/page") {
		t.Errorf("the browser's database after force-stop: %q", got)
	}
	s.shell("am start -W -n com.mi.globalbrowser/com.android.browser.BrowserActivity")
	s.advance(15 * time.Second)
	expect(t, "15 s after the browser runs again", s.visits(),
		"1m15s $AppStart,browser_visit(http://canary-stopped.example/page),$AppEnd,$AppStart")
	if got := s.dump(); !strings.Contains(got, "total length=0 ") {
		t.Errorf("dumpsys at the end:\n%s", got)
	}
}

// TestSleepStopsTheAppInFront: the display's sleep stops the browser's
// activity, so its $AppEnd and flush come 30 s later as if it had been
// left; waking and dismissing the keyguard within the session starts it
// again and withdraws the $AppEnd, and HOME still ends the session.
func TestSleepStopsTheAppInFront(t *testing.T) {
	s := startSDKPhone(t)
	s.visitIncognito("canary-sleep.example/page")
	s.advance(15 * time.Second)
	expect(t, "the first flush", s.visits(), "15s $AppStart,browser_visit(http://canary-sleep.example/page)")
	s.shell("input keyevent KEYCODE_SLEEP")
	s.advance(30*time.Second - time.Millisecond)
	expect(t, "before $AppEnd", s.visits())
	s.advance(time.Millisecond)
	expect(t, "30 s after the sleep", s.visits(), "45s $AppEnd")

	// Back after the session ended: a new one; asleep again, and back
	// within the session interval: no $AppEnd.
	s.advance(5 * time.Second)
	s.shell("input keyevent KEYCODE_WAKEUP")
	s.advance(time.Second)
	expect(t, "woken behind the keyguard", s.visits())
	s.shell("wm dismiss-keyguard")
	s.shell("input keyevent KEYCODE_SLEEP")
	s.advance(5 * time.Second)
	s.shell("input keyevent KEYCODE_WAKEUP; wm dismiss-keyguard")
	s.advance(time.Minute)
	// The flush $AppEnd's enqueue scheduled at 45 s takes the new $AppStart.
	expect(t, "a short sleep", s.visits(), "1m0s $AppStart")
	s.shell("input keyevent KEYCODE_HOME")
	s.advance(30 * time.Second)
	expect(t, "HOME after the sleeps", s.visits(), "2m26s $AppEnd")
}
