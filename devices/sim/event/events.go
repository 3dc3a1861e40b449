package event

import "time"

// The events, grouped by who publishes them. Values are copies: a
// subscriber may keep them.

// ActivityStarted: the activity manager brought an activity to the front,
// as a new instance or with a new intent. Action and Data are the intent's;
// Home marks the home screen.
type ActivityStarted struct {
	Package, Activity string
	Action, Data      string
	Home              bool
}

// AppBackgrounded: the activity manager moved Package's task away from the
// front (another app started, home, back, force-stop).
type AppBackgrounded struct{ Package string }

// ActivityStopped: the display went to sleep and the front app's activity
// was stopped (onStop) without leaving the front, as
// ActivityStack.goToSleep stops every visible activity.
type ActivityStopped struct{ Package string }

// ActivityRestarted: the display is on and the keyguard gone again, and
// the activity a sleep stopped is started again (onRestart, onStart).
type ActivityRestarted struct{ Package string }

// PackageRestarted: every process of Package was killed (am force-stop;
// pm clear and uninstall stop the package first), as ActivityManagerService
// broadcasts ACTION_PACKAGE_RESTARTED: nothing of the app runs, no timer of
// it fires, until it is started again.
type PackageRestarted struct{ Package string }

// ScreenChanged: the power manager turned the display on or off.
type ScreenChanged struct{ On bool }

// KeyguardDismissed: the keyguard went away (an upward swipe, `wm
// dismiss-keyguard`).
type KeyguardDismissed struct{}

// PowerConnected: the battery service saw a charger plugged; Plug is "ac",
// "usb" or "wireless", Level the battery level at the time.
type PowerConnected struct {
	Plug  string
	Level int
}

// PowerDisconnected: the battery service saw the last charger unplugged.
type PowerDisconnected struct{}

// BatteryChanged: the battery service's state changed (ACTION_BATTERY_CHANGED).
// Plug is "" when on battery.
type BatteryChanged struct {
	Plug            string
	Level, OldLevel int
	Status          int
}

// SettingChanged: a settings value was written. Had is false when the key
// did not exist before; By is the writer's uid.
type SettingChanged struct {
	NS, Key, Old, New string
	Had               bool
	By                uint32
}

// SettingEdited: the user changed a setting on a settings app's screen
// (Package), which wrote it; Old is what the screen showed before. A
// SettingChanged for the same write comes first. Writes from the shell or
// other services have no SettingEdited.
type SettingEdited struct {
	Package, NS, Key, Old, New string
}

// PackageInstalled: the package manager installed or replaced a package.
type PackageInstalled struct {
	Package, VersionName string
	VersionCode          int
	Installer            string
	Replacing            bool
}

// PackageRemoved: the package manager uninstalled a package.
type PackageRemoved struct{ Package string }

// PackageDataCleared: `pm clear` wiped a package's data; the app is
// stopped first (ACTION_PACKAGE_DATA_CLEARED).
type PackageDataCleared struct{ Package string }

// WifiConnected: Wi-Fi joined SSID. Reconnect is true when the radio came
// back on and rejoined the saved network, rather than a network being chosen.
type WifiConnected struct {
	SSID      string
	Reconnect bool
}

// WifiDisconnected: Wi-Fi left its network (radio off or network forgotten).
type WifiDisconnected struct{ SSID string }

// Rebooted: the phone came back from a reboot; services return to their boot
// state before anyone else hears of it.
type Rebooted struct{ Target string }

// DirCreated: a directory was made in the file system, as a FileObserver
// watching its parent would see it.
type DirCreated struct {
	Path string
	UID  uint32
}

// FolderOpened: the user opened a folder in a file manager app (Package);
// Path is the folder's absolute path.
type FolderOpened struct{ Package, Path string }

// PageLoaded: a browser finished loading URL in one of its tabs. Report
// says whether the browser's own settings let its SDK report the page (the
// "Enhanced incognito mode" switch, for incognito tabs on versions that have
// it); the browser decides, the telemetry only obeys.
type PageLoaded struct {
	Package, URL string
	Incognito    bool
	Report       bool
}

// Searched: a browser loaded its search engine's results for Query.
// Report is as for PageLoaded.
type Searched struct {
	Package, URL, Query string
	Incognito           bool
	Report              bool
}

// Uploaded: an app sent a request with its own network stack rather than
// through one of the firmware's SDKs (the netstack-aware apps under
// devices/sim/apps: one that ignores the proxy setting, one that tries
// QUIC first). Queued is when the user action happened, At when the upload
// ended. Transport is "tcp" or "quic". Route is the way the phone's
// network carried it: "proxy" (through the global proxy), "redirected" (a
// nat REDIRECT to a port on the phone), "outside" (straight to the remote
// address: sent, and never captured); "" when it never left the phone.
// Delivered says the far end accepted it; Reason says why not.
type Uploaded struct {
	Package, Action, Event string
	Host, Path             string
	Transport, Route       string
	Values                 map[string]string
	Queued, At             time.Time
	Delivered              bool
	Reason                 string
	Status                 int
}

func (ActivityStarted) isEvent()    {}
func (AppBackgrounded) isEvent()    {}
func (ActivityStopped) isEvent()    {}
func (ActivityRestarted) isEvent()  {}
func (PackageRestarted) isEvent()   {}
func (ScreenChanged) isEvent()      {}
func (KeyguardDismissed) isEvent()  {}
func (PowerConnected) isEvent()     {}
func (PowerDisconnected) isEvent()  {}
func (BatteryChanged) isEvent()     {}
func (SettingChanged) isEvent()     {}
func (SettingEdited) isEvent()      {}
func (PackageInstalled) isEvent()   {}
func (PackageRemoved) isEvent()     {}
func (PackageDataCleared) isEvent() {}
func (WifiConnected) isEvent()      {}
func (WifiDisconnected) isEvent()   {}
func (Rebooted) isEvent()           {}
func (DirCreated) isEvent()         {}
func (FolderOpened) isEvent()       {}
func (PageLoaded) isEvent()         {}
func (Searched) isEvent()           {}
func (Uploaded) isEvent()           {}
