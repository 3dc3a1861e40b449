package sdk_test

import (
	"fmt"
	"testing"

	"telltale.dev/devices/sim/content"
	"telltale.dev/devices/sim/event"
	"telltale.dev/devices/sim/sdk"
)

// packages is a package manager holding the Settings app (uid 10003).
type packages map[string]uint32

func (p packages) Installed(pkg string) (content.Manifest, uint32, bool) {
	uid, ok := p[pkg]
	return content.Manifest{Package: pkg, VersionName: "1.0"}, uid, ok
}

type onWifi string

func (s onWifi) Network() (bool, string) { return s != "", string(s) }

var phone = sdk.Sources{Packages: packages{"com.android.settings": 10003, "com.mi.globalbrowser": 10057}, Network: onWifi("Home")}

// What happens in the apps is a trigger; what a shell does behind their
// backs is not, and neither is what an app chose not to report.
func TestTriggers(t *testing.T) {
	var bus event.Bus
	var got []string
	sdk.Watch(&bus, phone, func(tr sdk.Trigger) { got = append(got, fmt.Sprintf("%s %s %v", tr.Action, tr.App, tr.Values)) })
	cases := []struct {
		ev   event.Event
		want string // "" for no trigger
	}{
		{event.PageLoaded{Package: "com.mi.globalbrowser", URL: "https://a/", Incognito: true, Report: true},
			"browse-incognito com.mi.globalbrowser map[incognito:true url:https://a/]"},
		// The browser's "Enhanced incognito mode" switch is off: it does not report.
		{event.PageLoaded{Package: "com.mi.globalbrowser", URL: "https://a/", Incognito: true}, ""},
		{event.PageLoaded{Package: "com.mi.globalbrowser", URL: "https://a/", Report: true}, "browse com.mi.globalbrowser map[incognito:false url:https://a/]"},
		{event.Searched{Package: "p", URL: "u", Query: "q", Report: true}, "search p map[incognito:false search_word:q url:u]"},
		{event.Searched{Package: "p", URL: "u", Query: "q"}, ""},
		{event.ActivityStarted{Package: "com.miui.home", Home: true}, ""},
		{event.ActivityStarted{Package: "com.canary", Activity: "com.canary.Main"}, "open-app com.canary map[activity:com.canary.Main package:com.canary]"},
		// A new intent to the app in front is no launch.
		{event.ActivityStarted{Package: "com.canary", Activity: "com.canary.Main", Data: "https://x/"}, ""},
		{event.AppBackgrounded{Package: "com.canary"}, ""},
		{event.ActivityStarted{Package: "com.canary", Activity: "com.canary.Main"}, "open-app com.canary map[activity:com.canary.Main package:com.canary]"},
		{event.PowerConnected{Plug: "ac", Level: 50}, "charge com.miui.powerkeeper map[level:50 plugged:ac ssid:Home]"},
		{event.BatteryChanged{Plug: "ac", Level: 40, OldLevel: 50}, ""},
		// Only the Settings app's own edits are user actions; the writes
		// themselves, the shell's included, are not.
		{event.SettingEdited{Package: "com.android.settings", NS: "system", Key: "screen_off_timeout", Old: "60000", New: "600000"},
			"change-setting com.android.settings map[key:screen_off_timeout namespace:system new:600000 old:60000]"},
		{event.SettingEdited{Package: "com.android.settings", NS: "global", Key: "device_name", New: "x"},
			"change-setting com.android.settings map[key:device_name namespace:global new:x old:null]"},
		{event.SettingChanged{NS: "system", Key: "screen_off_timeout", New: "1", By: 2000}, ""},
		{event.SettingChanged{NS: "system", Key: "screen_off_timeout", New: "1", By: 10003}, ""},
		{event.PackageInstalled{Package: "c", VersionName: "1.0", VersionCode: 3, Installer: "adb"},
			"install-app com.miui.securitycenter map[installer:adb package:c version_code:3 version_name:1.0]"},
		{event.FolderOpened{Package: "com.mi.android.globalFileexplorer", Path: "/sdcard/Canary"},
			"create-folder com.mi.android.globalFileexplorer map[folder:Canary path:/sdcard/Canary]"},
		// A folder made by mkdir is no folder opened in the File Manager.
		{event.DirCreated{Path: "/sdcard/Canary"}, ""},
		{event.WifiConnected{SSID: "Net"}, "connect-wifi com.android.settings map[ssid:Net]"},
		{event.WifiConnected{SSID: "Net", Reconnect: true}, ""},
		{event.ScreenChanged{On: false}, "lock-screen com.android.systemui map[]"},
		{event.ScreenChanged{On: true}, ""},
		{event.ActivityStarted{Package: "com.canary", Activity: "com.canary.Main"}, ""}, // still in front
		{event.Rebooted{}, ""},
		// After a reboot the app starts anew.
		{event.ActivityStarted{Package: "com.canary", Activity: "com.canary.Main"}, "open-app com.canary map[activity:com.canary.Main package:com.canary]"},
	}
	for _, c := range cases {
		got = nil
		bus.Publish(c.ev)
		want := []string{}
		if c.want != "" {
			want = append(want, c.want)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%T%+v: %q, want %q", c.ev, c.ev, got, want)
		}
	}
}
