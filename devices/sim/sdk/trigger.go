package sdk

import (
	"path"
	"strconv"
	"sync"

	"telltale.dev/devices/profiles"
	"telltale.dev/devices/sim/content"
	"telltale.dev/devices/sim/event"
	"telltale.dev/devices/sim/sdk/device"
)

// Trigger is something that happened in an app which the firmware's apps
// may report: named by the user action it stands for (profiles.Action*),
// the app it happened in, and its plain values ("url", "search_word",
// "package", "plugged", "level", "ssid", "key", "old", "new", "folder",
// "path", ...).
type Trigger struct {
	Action string
	App    string
	Values map[string]string
}

// Packages is the package manager as the SDKs read it: an app's uid and
// version.
type Packages interface {
	Installed(pkg string) (manifest content.Manifest, uid uint32, ok bool)
}

// Sources is what the triggers and SDKs read of the phone besides its
// events.
type Sources struct {
	Packages Packages
	Network  device.Network
}

// ActionBrowse is a page loaded outside incognito: no harness action plants
// a canary there, but a firmware's rules may report it.
const ActionBrowse = "browse"

// settingsApp is the Settings app, where Wi-Fi networks are chosen.
const settingsApp = "com.android.settings"

// watcher turns the phone's events into triggers. It remembers which app
// is in front, so that an app counts as launched when it comes to the front,
// not on every intent its activity receives.
type watcher struct {
	src Sources

	mu    sync.Mutex
	front string
}

// Watch calls fn with each trigger the phone's events make, in the
// publishing goroutine, until unsubscribe is called.
func Watch(bus *event.Bus, src Sources, fn func(Trigger)) (unsubscribe func()) {
	return (&watcher{src: src}).watch(bus, fn)
}

func (w *watcher) watch(bus *event.Bus, fn func(Trigger)) (unsubscribe func()) {
	return bus.Subscribe(func(ev event.Event) {
		if t, ok := w.trigger(ev); ok {
			fn(t)
		}
	})
}

// inFront says whether pkg's activity is in front.
func (w *watcher) inFront(pkg string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.front == pkg
}

func (w *watcher) trigger(ev event.Event) (Trigger, bool) {
	switch e := ev.(type) {
	case event.PageLoaded:
		action := ActionBrowse
		if e.Incognito {
			action = profiles.ActionBrowseIncognito
		}
		return Trigger{Action: action, App: e.Package,
			Values: map[string]string{"url": e.URL, "incognito": strconv.FormatBool(e.Incognito)}}, e.Report
	case event.Searched:
		return Trigger{Action: profiles.ActionSearch, App: e.Package, Values: map[string]string{
			"url": e.URL, "incognito": strconv.FormatBool(e.Incognito), "search_word": e.Query}}, e.Report
	case event.ActivityStarted:
		return w.launched(e)
	case event.AppBackgrounded:
		w.mu.Lock()
		if w.front == e.Package {
			w.front = ""
		}
		w.mu.Unlock()
	case event.Rebooted:
		w.mu.Lock()
		w.front = "" // every app stopped
		w.mu.Unlock()
	case event.PowerConnected:
		_, ssid := w.src.Network.Network()
		return Trigger{Action: profiles.ActionCharge, App: "com.miui.powerkeeper",
			Values: map[string]string{"plugged": e.Plug, "level": strconv.Itoa(e.Level), "ssid": ssid}}, true
	case event.SettingEdited:
		// The Settings app's own report of a user's change: a shell's
		// `settings put`, or a service's bookkeeping, has none.
		old := e.Old
		if old == "" {
			old = "null" // unset, as `settings get` says
		}
		return Trigger{Action: profiles.ActionChangeSetting, App: e.Package, Values: map[string]string{
			"namespace": e.NS, "key": e.Key, "old": old, "new": e.New}}, true
	case event.PackageInstalled:
		return Trigger{Action: profiles.ActionInstallApp, App: "com.miui.securitycenter", Values: map[string]string{
			"package": e.Package, "version_name": e.VersionName, "version_code": strconv.Itoa(e.VersionCode),
			"installer": e.Installer}}, true
	case event.FolderOpened:
		return Trigger{Action: profiles.ActionCreateFolder, App: e.Package,
			Values: map[string]string{"folder": path.Base(e.Path), "path": e.Path}}, true
	case event.WifiConnected:
		return Trigger{Action: profiles.ActionConnectWifi, App: settingsApp,
			Values: map[string]string{"ssid": e.SSID}}, !e.Reconnect
	case event.ScreenChanged:
		return Trigger{Action: profiles.ActionLockScreen, App: "com.android.systemui", Values: map[string]string{}}, !e.On
	}
	return Trigger{}, false
}

// launched: a non-home app came to the front.
func (w *watcher) launched(e event.ActivityStarted) (Trigger, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if e.Package == w.front {
		return Trigger{}, false
	}
	w.front = e.Package
	if e.Home {
		return Trigger{}, false
	}
	return Trigger{Action: profiles.ActionOpenApp, App: e.Package,
		Values: map[string]string{"package": e.Package, "activity": e.Activity}}, true
}
