package restore_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"telltale.dev/devices/adb"
	"telltale.dev/devices/profiles"
	"telltale.dev/devices/sim"
	"telltale.dev/devices/sim/rig/rigtest"
	"telltale.dev/harness/flows"
	"telltale.dev/harness/journal"
	"telltale.dev/harness/restore"
	"telltale.dev/harness/ui"
)

func phone(t *testing.T, firmware string) (*adb.Device, *sim.Phone, context.Context) {
	t.Helper()
	r := rigtest.New(t)
	p := rigtest.Phone(t, r, sim.Config{Model: "redmi-note-8", Firmware: firmware, NoNoise: true})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return r.Client().Device(p.Serial()), p, ctx
}

func sh(t *testing.T, ctx context.Context, d *adb.Device, cmd string) {
	t.Helper()
	if _, err := d.RunCommand(ctx, cmd); err != nil {
		t.Fatalf("%s: %v", cmd, err)
	}
}

// TestCheckRestoresWhatTheRunChanged: as Tradefed's restore-settings does,
// only what the run changed must be back. The keys the system wrote because
// the run set http_proxy (global_http_proxy_*, which stay after ":0") are
// put back as they were; a setting the phone changed by itself is left and
// listed with why; a setting the run changed and did not put back fails
// the check, named.
func TestCheckRestoresWhatTheRunChanged(t *testing.T) {
	d, _, ctx := phone(t, "V12.0.2.0")
	before, err := restore.TakeSnapshot(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := before["global"]["global_http_proxy_host"]; ok {
		t.Fatalf("the phone starts with global_http_proxy_host: %v", before["global"])
	}
	oldBrightness := before["system"]["screen_brightness"]
	changed := []journal.Entry{
		{Op: journal.OpSetting, Namespace: "global", Key: "http_proxy", Value: "127.0.0.1:8080"},
		{Op: journal.OpSetting, Namespace: "system", Key: "screen_brightness", Old: &oldBrightness, Value: "77"},
	}
	sh(t, ctx, d, "settings put global http_proxy 127.0.0.1:8080")
	sh(t, ctx, d, "settings put system screen_brightness 77")
	sh(t, ctx, d, "settings put secure telltale_test_phone_own 1") // not in the journal: the phone's own
	if v, err := d.RunCommand(ctx, "settings get global global_http_proxy_host"); err != nil || strings.TrimSpace(v) != "127.0.0.1" {
		t.Fatalf("the phone did not derive global_http_proxy_host from http_proxy: %q %v", v, err)
	}
	// The run's own undo, newest first, for all but brightness.
	if err := restore.Undo(ctx, d, changed[0]); err != nil {
		t.Fatal(err)
	}

	v, err := restore.Check(ctx, d, before, changed)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Err(); err == nil || !strings.Contains(err.Error(), "system:screen_brightness") || !strings.Contains(err.Error(), "telltale changed it") ||
		strings.Contains(err.Error(), "telltale_test_phone_own") {
		t.Errorf("a setting the run left changed: Err = %v", err)
	}
	if !slices.ContainsFunc(v.Cleaned, func(s string) bool {
		return strings.HasPrefix(s, "global:global_http_proxy_host") && strings.Contains(s, "ProxyTracker")
	}) {
		t.Errorf("global_http_proxy_host was not put back: cleaned %q", v.Cleaned)
	}
	if len(v.Left) != 1 || !strings.Contains(v.Left[0], "secure:telltale_test_phone_own") || !strings.Contains(v.Left[0], "not by telltale") {
		t.Errorf("left %q", v.Left)
	}
	for _, k := range []string{"global_http_proxy_host", "global_http_proxy_port", "global_http_proxy_exclusion_list"} {
		if val, ok := v.After["global"][k]; ok {
			t.Errorf("global:%s is still %q", k, val)
		}
	}

	if err := restore.Undo(ctx, d, changed[1]); err != nil {
		t.Fatal(err)
	}
	if v, err = restore.Check(ctx, d, before, changed); err != nil || v.Err() != nil {
		t.Errorf("after the whole undo: %v, %v", err, v.Err())
	}
}

// TestUndoOnScreen: a change made on the phone's screen (the browser's
// switch, kept in the app's data) is put back by the flow journaled with
// it, run on the screen as a person would, from the journal alone.
func TestUndoOnScreen(t *testing.T) {
	d, p, ctx := phone(t, "V12.0.2.0")
	prof := p.Profile()
	r := flows.New(flows.Phone{UI: ui.New(d, ui.Options{}), Shell: d.RunCommand}, prof.FlowsFor(p.Firmware()),
		map[string]string{"browser": prof.Actions.Browser.Component})
	sw := prof.Switches[profiles.SwitchEnhancedIncognito]
	undo, err := r.RecordSwitch(sw, "on")
	if err != nil {
		t.Fatal(err)
	}
	if was, err := r.Switch(ctx, sw, "off"); err != nil || !was {
		t.Fatalf("turn the switch off: was on %v, %v", was, err)
	}
	e := journal.Entry{Op: journal.OpUI, Value: "switch enhanced-incognito was on", Flow: undo}
	if err := restore.Undo(ctx, d, e); err != nil {
		t.Fatal(err)
	}
	if on, err := r.Switch(ctx, sw, ""); err != nil || !on {
		t.Errorf("after the undo the switch is on=%v (%v)", on, err)
	}
	bad := journal.Entry{Op: journal.OpUI, Flow: []byte(`{"run":"x","flows":{}}`)}
	if err := restore.Undo(ctx, d, bad); err == nil || !strings.Contains(err.Error(), "no flow") {
		t.Errorf("an undo flow that cannot run: %v", err)
	}
}
