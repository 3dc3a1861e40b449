package sdk_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"telltale.dev/devices/sim/event"
	"telltale.dev/devices/sim/sdk"
	"telltale.dev/devices/sim/sdk/device"
	"telltale.dev/devices/sim/sdk/groundtruth"
	"telltale.dev/devices/sim/sdk/sdktest"
	"telltale.dev/devices/sim/shell"
)

// start runs the Redmi Note 8's telemetry of firmware fw on a rig.
func start(t testing.TB, fw string, timing device.Timing, noise bool) (*sdktest.Rig, *sdk.Telemetry) {
	t.Helper()
	sets, err := sdk.DefaultRules()
	if err != nil {
		t.Fatal(err)
	}
	r := sdktest.New(t, timing)
	id := sdktest.Identity
	id.MIUIVersion = fw
	tel, err := sdk.Start(sdk.Config{Rules: sdk.Select(sets, "redmi-note-8", fw), Bus: r.Bus,
		Sources: sdk.Sources{Packages: phone.Packages, Network: r.Wifi}, Clock: r.Clock, Files: r.Files, Net: r.Net,
		Identity: id, Truth: r.Truth, Timing: timing, Logger: slog.New(slog.DiscardHandler), NoiseOff: !noise, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tel.Close)
	return r, tel
}

// sent lists the ground truth's sent lines since the last call as
// "T host path event values".
func sent(t *testing.T, r *sdktest.Rig) []string {
	t.Helper()
	var out []string
	for _, rec := range r.Records(t) {
		if rec.State == groundtruth.Sent {
			out = append(out, fmt.Sprintf("%s %s%s %s %v", rec.Time.Sub(sdktest.Start), rec.Host, rec.Path, rec.Event, rec.Values))
		}
	}
	return out
}

var eq = sdktest.Equal

// Triggers become events in the reporting apps' SDKs, each leaving at its
// SDK's pace: mistat at once, OneTrack priority 1 after 15 s, Sensors
// Analytics 15 s after its app's first queued event.
func TestTriggersReachTheirSDKs(t *testing.T) {
	r, tel := start(t, "V11.0.3.0.PCOMIXM", device.Realistic, false)
	r.Bus.Publish(event.ScreenChanged{On: false})
	r.Bus.Publish(event.PageLoaded{Package: "com.mi.globalbrowser", URL: "https://canary.example/", Incognito: true, Report: true})
	r.Bus.Publish(event.SettingChanged{NS: "system", Key: "screen_off_timeout", New: "600000", Old: "60000", Had: true, By: 2000}) // the shell: no report
	sdktest.Wait(t, tel)
	r.Advance(t, 5*time.Second, tel)
	r.Bus.Publish(event.PowerConnected{Plug: "ac", Level: 57})
	r.Bus.Publish(event.SettingEdited{Package: "com.android.settings", NS: "system", Key: "screen_off_timeout", New: "600000", Old: "60000"})
	r.Advance(t, 10*time.Second, tel)
	eq(t, "at 15 s", sent(t, r),
		"0s data.mistat.intl.xiaomi.com/mistats/v3 screen_lock map[]",
		"15s sa.api.intl.miui.com/sa?project=mibrowser_global browser_visit map[url:https://canary.example/]")
	r.Advance(t, 5*time.Second, tel)
	eq(t, "at 20 s", sent(t, r),
		"20s tracking.intl.miui.com/track/v4 battery_charging map[level:57 plugged:ac]",
		"20s sa.api.intl.miui.com/sa?project=settings_global setting_changed map[key:screen_off_timeout new:600000 old:60000]")
}

// dumpsys telltale_telemetry shows each SDK queue with its length and next
// flush, so a harness can wait for them to drain; Drain waits for the same.
func TestDumpsysAndDrain(t *testing.T) {
	r, tel := start(t, "V12.0.2.0.QCOMIXM", device.Realistic, false)
	dump := func() string {
		var b strings.Builder
		if code := tel.Dump(context.Background(), shell.IO{Stdout: &b}, nil); code != 0 {
			t.Fatalf("dumpsys exit %d", code)
		}
		return b.String()
	}
	empty := dump()
	if want := "Telltale telemetry queues (simulated phone only: real phones have no telltale_telemetry service)\n" +
		"now=2020-04-30T12:00:00.000Z timing=realistic network=WIFI\ntotal length=0 next_flush=none\n"; empty != want {
		t.Errorf("before any event:\n%s\nwant\n%s", empty, want)
	}
	r.Bus.Publish(event.Searched{Package: "com.mi.globalbrowser", URL: "https://www.google.com/search?q=canary", Query: "canary", Incognito: true, Report: true})
	r.Advance(t, 3*time.Second, tel)
	r.Bus.Publish(event.PackageInstalled{Package: "com.canary.app"})
	r.SetReverse(false) // the install report fails and waits for the next event
	r.Bus.Publish(event.PowerConnected{Plug: "usb", Level: 80})
	sdktest.Wait(t, tel)
	got := dump()
	for _, want := range []string{
		"now=2020-04-30T12:00:03.000Z timing=realistic network=WIFI\n",
		"queue sdk=sensors-analytics app=com.mi.globalbrowser length=1 next_flush=2020-04-30T12:00:15.000Z in_ms=12000 db=/data/data/com.mi.globalbrowser/databases/sensorsdata\n",
		"queue sdk=onetrack app=com.miui.powerkeeper length=1 next_flush=2020-04-30T12:00:18.000Z in_ms=15000 db=/data/data/com.miui.powerkeeper/databases/onetrack\n",
		"queue sdk=security-center app=com.miui.securitycenter length=1 next_flush=none db=/data/data/com.miui.securitycenter/databases/apps_report\n",
		"total length=3 next_flush=2020-04-30T12:00:15.000Z in_ms=12000\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("dumpsys lacks %q:\n%s", want, got)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := tel.Drain(ctx); err == nil || !strings.Contains(err.Error(), "security-center in com.miui.securitycenter: 1") {
		t.Errorf("Drain with a queue that cannot leave: %v", err)
	}
	r.SetReverse(true)
	r.Bus.Publish(event.PackageInstalled{Package: "com.canary.other"})
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		done <- tel.Drain(ctx)
	}()
	r.Advance(t, 15*time.Second, tel)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := dump(); !strings.HasSuffix(got, "total length=0 next_flush=none\n") {
		t.Errorf("after draining:\n%s", got)
	}
}

// The firmware's timed requests are events of their own in the ground
// truth: a config fetch 10 s after boot and then hourly, a heartbeat a
// minute after boot and then every 15 minutes; a reboot starts them over.
func TestNoise(t *testing.T) {
	r, tel := start(t, "V11.0.3.0.PCOMIXM", device.Realistic, true)
	var got []string
	took := func(d time.Duration) {
		r.Advance(t, d, tel)
		for _, rec := range r.Records(t) {
			if rec.State == groundtruth.Sent {
				got = append(got, fmt.Sprintf("%s %s%s %s", rec.Time.Sub(sdktest.Start), rec.Host, rec.Path, rec.Event))
			}
		}
	}
	for _, d := range []time.Duration{10 * time.Second, 50 * time.Second, 15 * time.Minute, 44 * time.Minute, 10 * time.Second} {
		took(d)
	}
	r.Bus.Publish(event.Rebooted{})
	took(10 * time.Second)
	config := " sdkconfig.ad.intl.xiaomi.com/api/v4/detail/config config_fetch"
	heartbeat := " tracking.intl.miui.com/track/v1?sender=com.miui.analytics heartbeat"
	eq(t, "noise", got, "10s"+config, "1m0s"+heartbeat, "16m0s"+heartbeat, "31m0s"+heartbeat, "46m0s"+heartbeat,
		"1h0m10s"+config, "1h0m20s"+config)
	for _, q := range r.Proxy.Requests() {
		if q.Host == "sdkconfig.ad.intl.xiaomi.com" && (q.Method != "GET" || !strings.Contains(q.Path, "miui_version=V11.0.3.0.PCOMIXM")) {
			t.Errorf("config fetch %s %s", q.Method, q.Path)
		}
	}
}

// An app's own upload (event.Uploaded) is written by the same log as the
// SDKs' events, numbered with them: delivered straight to the server it
// is bypassed, with its route.
func TestOwnUploadsShareTheLog(t *testing.T) {
	r, tel := start(t, "V11.0.3.0.PCOMIXM", device.Realistic, false)
	r.Bus.Publish(event.ScreenChanged{On: false}) // mistat, at once
	sdktest.Wait(t, tel)
	at := sdktest.Start.Add(time.Second)
	r.Bus.Publish(event.Uploaded{Package: "com.example.flutternews", Action: "search", Event: "news_search",
		Host: "api.flutternews.example", Path: "/v1/search", Transport: "tcp", Route: "outside", Status: 200,
		Values: map[string]string{"search_word": "canary"}, Queued: sdktest.Start, At: at, Delivered: true})
	r.Bus.Publish(event.Uploaded{Package: "com.example.cronetvideo", Action: "search", Event: "video_search",
		Host: "log.cronetvideo.example", Path: "/v1/events", Transport: "tcp", Reason: "no-reverse",
		Values: map[string]string{"search_word": "other"}, Queued: sdktest.Start, At: at})
	var got []string
	for _, rec := range r.Records(t) {
		got = append(got, fmt.Sprintf("%s %s %s %s route=%s reason=%s upload=%s", rec.ID, rec.App, rec.Event, rec.State,
			rec.Route, rec.Reason, rec.Upload))
	}
	eq(t, "the log", got,
		"ev1 com.android.systemui screen_lock queued route= reason= upload=",
		"ev1 com.android.systemui screen_lock sent route=proxy reason= upload=com.android.systemui/mistat.db/1",
		"ev2 com.example.flutternews news_search queued route= reason= upload=",
		"ev2 com.example.flutternews news_search bypassed route=outside reason= upload=com.example.flutternews/own/ev2",
		"ev3 com.example.cronetvideo video_search queued route= reason= upload=",
		"ev3 com.example.cronetvideo video_search dropped route= reason=no-reverse upload=com.example.cronetvideo/own/ev3")
}
