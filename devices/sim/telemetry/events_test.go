package telemetry_test

import (
	"fmt"
	"testing"

	"telltale.dev/devices/sim/event"
	"telltale.dev/devices/sim/telemetry"
)

type onWifi string

func (s onWifi) Network() (bool, string) { return s != "", string(s) }

func TestBridge(t *testing.T) {
	b := telemetry.Bridge{FolderRoot: "/sdcard", Browser: "com.mi.globalbrowser", Wifi: onWifi("Home")}
	cases := []struct {
		ev   event.Event
		want string // "" for no occurrence
	}{
		{event.PageLoaded{Package: "com.mi.globalbrowser", URL: "https://a/", Incognito: true},
			"browse-incognito com.mi.globalbrowser map[incognito:true url:https://a/]"},
		{event.PageLoaded{Package: "com.mi.globalbrowser", URL: "https://a/"}, "browse com.mi.globalbrowser map[incognito:false url:https://a/]"},
		{event.Searched{Package: "p", URL: "u", Query: "q"}, "search p map[incognito:false search_word:q url:u]"},
		{event.ActivityStarted{Package: "com.canary"}, "open-app com.canary map[package:com.canary]"},
		{event.ActivityStarted{Package: "com.canary", Data: "https://x/"}, "open-app com.canary map[package:com.canary]"},
		{event.ActivityStarted{Package: "com.mi.globalbrowser", Data: "https://x/"}, ""},
		{event.ActivityStarted{Package: "com.miui.home", Home: true}, ""},
		{event.PowerConnected{Plug: "ac", Level: 50}, "charge com.miui.powerkeeper map[level:50 plugged:ac ssid:Home]"},
		{event.BatteryChanged{Plug: "ac", Level: 40, OldLevel: 50}, "charge com.miui.powerkeeper map[level:40 plugged:ac ssid:Home]"},
		{event.BatteryChanged{Plug: "ac", Level: 40, OldLevel: 40}, ""},
		{event.BatteryChanged{Level: 30, OldLevel: 40}, ""},
		{event.SettingChanged{NS: "system", Key: "k", New: "v", By: 2000}, "change-setting com.android.settings map[key:k namespace:system new:v old:null]"},
		{event.SettingChanged{NS: "global", Key: "wifi_on", Old: "1", New: "0", Had: true, By: 1000}, ""},
		{event.PackageInstalled{Package: "c", VersionName: "1.0", VersionCode: 3, Installer: "adb"},
			"install-app com.miui.securitycenter map[installer:adb package:c version_code:3 version_name:1.0]"},
		{event.DirCreated{Path: "/sdcard/Canary"}, "create-folder com.mi.android.globalFileexplorer map[folder:Canary path:/sdcard/Canary]"},
		{event.DirCreated{Path: "/data/local/tmp/x"}, ""},
		{event.DirCreated{Path: "/sdcardx/y"}, ""},
		{event.WifiConnected{SSID: "Net"}, "connect-wifi com.android.settings map[ssid:Net]"},
		{event.WifiConnected{SSID: "Net", Reconnect: true}, ""},
		{event.ScreenChanged{On: false}, "lock-screen com.android.systemui map[]"},
		{event.ScreenChanged{On: true}, ""},
		{event.Rebooted{}, ""},
	}
	for _, c := range cases {
		o, ok := b.Occurrence(c.ev)
		got := ""
		if ok {
			got = fmt.Sprintf("%s %s %v", o.Action, o.App, o.Values)
		}
		if got != c.want {
			t.Errorf("%T%+v: %q, want %q", c.ev, c.ev, got, c.want)
		}
	}
}
