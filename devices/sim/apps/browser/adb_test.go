package browser_test

import (
	"strings"
	"testing"

	"telltale.dev/devices/sim"
	"telltale.dev/devices/sim/apps/internal/apptest"
)

// These tests drive the browsers on a simulated phone through the real adb
// server, with the harness's UI driver, as a scenario would.

const miMain = "com.mi.globalbrowser/com.android.browser.BrowserActivity"

// openPrivacy goes Menu > Settings > Privacy & security.
func openPrivacy(p *apptest.Phone) {
	p.T.Helper()
	p.Tap("desc=Menu")
	p.Tap("text=Settings")
	p.Tap("text=Privacy & security")
}

func TestMiBrowserOnThePhone(t *testing.T) {
	p := apptest.StartPhone(t, sim.Config{Model: "redmi-note-8", Firmware: "V12.0.2.0"})
	p.Start(miMain)
	p.Tap("id=search_hint")
	p.See("id=com.mi.globalbrowser:id/url,focused=true")
	p.Type("canary phrase")
	p.Key("KEYCODE_ENTER")
	p.Expect("event.Searched{Package:com.mi.globalbrowser URL:https://www.google.com/search?q=canary+phrase Query:canary phrase Incognito:false Report:true}")

	p.Tap("desc=Menu")
	p.Tap("text=Incognito mode")
	p.See("text=You've gone incognito")
	p.Tap("id=search_hint")
	p.Type("canary.example/one")
	p.Key("KEYCODE_ENTER")
	p.Expect("event.PageLoaded{Package:com.mi.globalbrowser URL:http://canary.example/one Incognito:true Report:true}")

	// The switch, on by default, turned off in the browser's own settings.
	openPrivacy(p)
	p.See("id=android:id/checkbox,checked=true")
	p.AgreeWithElementTree("text=Enhanced incognito mode", "id=android:id/checkbox")
	p.Tap("text=Enhanced incognito mode")
	p.See("id=android:id/checkbox,checked=false")
	if prefs := p.Shell("su -c cat /data/data/com.mi.globalbrowser/shared_prefs/com.mi.globalbrowser_preferences.xml"); !strings.Contains(prefs, `name="enhanced_incognito_mode" value="false"`) {
		t.Errorf("the switch is not in the app's preferences:\n%s", prefs)
	}
	if out := p.Shell("settings get secure browser_aggregated_data_collection"); strings.TrimSpace(out) != "null" {
		t.Errorf("the switch leaked into Android's settings: %q", out)
	}

	// It outlives the app's process.
	p.Shell("am force-stop com.mi.globalbrowser")
	p.Start(miMain)
	p.Tap("desc=Menu")
	p.Tap("text=Incognito mode")
	p.Tap("id=search_hint")
	p.Type("canary.example/two")
	p.Key("KEYCODE_ENTER")
	p.Expect("event.PageLoaded{Package:com.mi.globalbrowser URL:http://canary.example/two Incognito:true Report:false}")
	openPrivacy(p)
	p.See("id=android:id/checkbox,checked=false")

	// `pm clear` wipes the app's data, the switch with it.
	if out := p.Shell("pm clear com.mi.globalbrowser"); strings.TrimSpace(out) != "Success" {
		t.Fatalf("pm clear: %q", out)
	}
	p.Start(miMain)
	openPrivacy(p)
	p.See("id=android:id/checkbox,checked=true")

	// No intent extra opens an incognito tab.
	p.Shell("am start -a android.intent.action.VIEW -d https://canary.example/three --ez incognito true com.mi.globalbrowser")
	p.Expect("event.PageLoaded{Package:com.mi.globalbrowser URL:https://canary.example/three Incognito:false Report:true}")
}

func TestMiBrowserBeforeTheSwitchOnThePhone(t *testing.T) {
	p := apptest.StartPhone(t, sim.Config{Model: "redmi-note-8", Firmware: "V11.0.3.0"})
	if v := p.Shell("dumpsys package com.mi.globalbrowser"); !strings.Contains(v, "versionName=12.1.0") {
		t.Errorf("the firmware's browser version is not the package's:\n%s", v)
	}
	p.Start(miMain)
	openPrivacy(p)
	p.Absent("text=Enhanced incognito mode")
}

func TestChromeOnTheEmulator(t *testing.T) {
	p := apptest.StartPhone(t, sim.Config{Model: "aosp-emulator"})
	p.Start("com.android.chrome/com.google.android.apps.chrome.Main")
	p.Tap("desc=More options")
	p.Tap("text=New Incognito tab")
	p.Tap("id=com.android.chrome:id/url_bar")
	p.See("id=url_bar,focused=true")
	p.Type("canary words")
	p.Key("KEYCODE_ENTER")
	p.Expect("event.Searched{Package:com.android.chrome URL:https://www.google.com/search?q=canary+words Query:canary words Incognito:true Report:true}")
}
