package telemetry

import (
	"path"
	"strconv"
	"strings"

	"telltale.dev/devices/profiles"
	"telltale.dev/devices/sim/event"
	"telltale.dev/devices/sim/identity"
)

// Bridge turns what happens on the phone (events) into the user actions
// the firmware's rules report (occurrences), one occurrence per action as
// the phone has always reported them. The reports move into the apps and
// their SDKs next (issue 10): then a shell shortcut (settings put, mkdir)
// is no longer an action the Settings app or the File Manager saw.
type Bridge struct {
	// FolderRoot is where a new directory counts as a folder made in the
	// file manager ("" is /sdcard).
	FolderRoot string
	// Browser is the package whose start with a web page is reported as the
	// page (PageLoaded, Searched), not also as an app launch.
	Browser string
	// Wifi tells which network the phone is on, for the charging event.
	Wifi interface{ Network() (bool, string) }
}

// Occurrence maps one event; false when the event is no reported action.
func (b Bridge) Occurrence(ev event.Event) (Occurrence, bool) {
	switch e := ev.(type) {
	case event.PageLoaded:
		action := "browse"
		if e.Incognito {
			action = profiles.ActionBrowseIncognito
		}
		return Occurrence{Action: action, App: e.Package,
			Values: map[string]string{"url": e.URL, "incognito": strconv.FormatBool(e.Incognito)}}, true
	case event.Searched:
		return Occurrence{Action: profiles.ActionSearch, App: e.Package, Values: map[string]string{
			"url": e.URL, "incognito": strconv.FormatBool(e.Incognito), "search_word": e.Query}}, true
	case event.ActivityStarted:
		web := strings.HasPrefix(e.Data, "http://") || strings.HasPrefix(e.Data, "https://")
		if e.Home || (e.Package == b.Browser && web) {
			return Occurrence{}, false
		}
		return Occurrence{Action: profiles.ActionOpenApp, App: e.Package, Values: map[string]string{"package": e.Package}}, true
	case event.PowerConnected:
		return b.charge(e.Plug, e.Level), true
	case event.BatteryChanged:
		if e.Plug == "" || e.Level == e.OldLevel {
			return Occurrence{}, false
		}
		return b.charge(e.Plug, e.Level), true
	case event.SettingChanged:
		if e.By == identity.System {
			return Occurrence{}, false // the system's own bookkeeping (wifi_on)
		}
		old := e.Old
		if !e.Had {
			old = "null"
		}
		return Occurrence{Action: profiles.ActionChangeSetting, App: "com.android.settings", Values: map[string]string{
			"namespace": e.NS, "key": e.Key, "old": old, "new": e.New}}, true
	case event.PackageInstalled:
		return Occurrence{Action: profiles.ActionInstallApp, App: "com.miui.securitycenter", Values: map[string]string{
			"package": e.Package, "version_name": e.VersionName, "version_code": strconv.Itoa(e.VersionCode),
			"installer": e.Installer}}, true
	case event.DirCreated:
		root := b.FolderRoot
		if root == "" {
			root = "/sdcard"
		}
		if !strings.HasPrefix(e.Path, strings.TrimSuffix(path.Clean(root), "/")+"/") {
			return Occurrence{}, false
		}
		return Occurrence{Action: profiles.ActionCreateFolder, App: "com.mi.android.globalFileexplorer",
			Values: map[string]string{"folder": path.Base(e.Path), "path": e.Path}}, true
	case event.WifiConnected:
		if e.Reconnect {
			return Occurrence{}, false
		}
		return Occurrence{Action: profiles.ActionConnectWifi, App: "com.android.settings",
			Values: map[string]string{"ssid": e.SSID}}, true
	case event.ScreenChanged:
		if e.On {
			return Occurrence{}, false
		}
		return Occurrence{Action: profiles.ActionLockScreen, App: "com.android.systemui", Values: map[string]string{}}, true
	}
	return Occurrence{}, false
}

func (b Bridge) charge(plug string, level int) Occurrence {
	_, ssid := b.Wifi.Network()
	return Occurrence{Action: profiles.ActionCharge, App: "com.miui.powerkeeper",
		Values: map[string]string{"plugged": plug, "level": strconv.Itoa(level), "ssid": ssid}}
}
