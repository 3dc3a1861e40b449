// Package app is how the simulated phone runs apps: the App and Activity
// interfaces every app module implements (devices/sim/apps/...), the Env
// the phone gives an app, and the Host that plays the part of the apps'
// processes: it creates an app's code when one of its activities starts,
// hands activities their intents, keeps the resumed one, and offers its
// window to the window manager.
package app

import (
	"context"
	"crypto/x509"
	"net"
	"strings"

	"telltale.dev/devices/sim/clock"
	"telltale.dev/devices/sim/content"
	"telltale.dev/devices/sim/event"
	"telltale.dev/devices/sim/ui"
	"telltale.dev/devices/sim/vfs"
)

// App is an installed package's code: one per running process.
type App interface {
	// NewActivity creates an instance of one of the package's activities
	// (onCreate); class is the activity's full class name.
	NewActivity(class string) Activity
}

// Activity is one screen of an app.
type Activity interface {
	// OnIntent hands the activity the intent that started it, or a new one
	// when it was already on top (onNewIntent).
	OnIntent(in content.Intent)
	// Screen builds the activity's view tree to fill bounds, from its
	// current state. It may be called at any time, from any goroutine.
	Screen(bounds ui.Rect) *ui.Node
	// Key offers the activity a key press; false leaves it to the system
	// (BACK then finishes the activity).
	Key(code int) bool
}

// Overlays is implemented by activities that show dialogs or popup menus.
// Android gives each a window of its own above the activity's (a Dialog's
// PhoneWindow, a PopupWindow), which takes the keys and, being the active
// window, is all `uiautomator dump` shows.
type Overlays interface {
	// Overlays are the open dialogs and menus, bottom first; the host sets
	// each window's package, title and layer.
	Overlays() []*ui.Window
}

// Lifecycle is implemented by activities that care when they gain or lose
// the front (onResume, onPause).
type Lifecycle interface {
	OnResume()
	OnPause()
}

// Env is what the phone gives an app: its identity and the services it may
// use, which see it as its own uid.
type Env struct {
	Package string
	UID     uint32

	Clock clock.Clock
	Bus   *event.Bus
	// Activities starts activities (Context.startActivity).
	Activities Starter
	// Packages tells an app about the other packages (PackageManager,
	// LauncherApps).
	Packages Packages
	Settings Settings
	Files    *vfs.FS
	Net      Net
	// Props reads system properties (SystemProperties.get).
	Props Props
	// Wifi is the Wi-Fi service (WifiManager), for the Settings app.
	Wifi Wifi
	// Security owns MIUI's developer toggles, for the Settings app.
	Security Security
}

// Props is the property service as an app sees it.
type Props interface {
	Get(name string) string
}

// Language is the phone's language as apps pick their strings by it: the
// first part of persist.sys.locale ("pt" for "pt-BR"), else of
// ro.product.locale, else "en". An app reads it each time it draws, as if
// every locale change restarted it (modeled: Android recreates activities
// on a configuration change).
func (e Env) Language() string {
	if e.Props == nil {
		return "en"
	}
	for _, p := range []string{"persist.sys.locale", "ro.product.locale"} {
		if v := e.Props.Get(p); v != "" {
			lang, _, _ := strings.Cut(v, "-")
			return strings.ToLower(lang)
		}
	}
	return "en"
}

// AccessPoint is a Wi-Fi network in range, as a scan reports it.
type AccessPoint struct {
	SSID string
	// Secured networks need a passphrase (WPA2 and the like); open ones not.
	Secured bool
	// Level is the signal in dBm.
	Level int
}

// Wifi is the Wi-Fi service as the Settings app uses it.
type Wifi interface {
	Enabled() bool
	SetEnabled(on bool)
	// Network says whether Wi-Fi is connected, and to which SSID.
	Network() (connected bool, ssid string)
	// Scan lists the networks in range.
	Scan() []AccessPoint
	// Saved says whether a network is saved (joined before, not forgotten).
	Saved(ssid string) bool
	// Connect saves a network and joins it if it is in range; passphrase
	// is "" for open networks.
	Connect(ssid, passphrase string) error
	// Forget drops a saved network, leaving it if joined.
	Forget(ssid string) error
}

// Security is what the Settings app's Developer options change through
// MIUI's security service: "USB debugging (Security settings)"
// (persist.security.adbinput) and "Install via USB"
// (persist.security.adbinstall). The service decides whether a toggle may
// be turned on; its error says why not, as the Settings app shows it.
type Security interface {
	AdbInput() bool
	SetAdbInput(on bool) error
	AdbInstall() bool
	SetAdbInstall(on bool) error
}

// Starter is the activity manager as an app sees it.
type Starter interface {
	Start(in content.Intent, callerUID uint32) (content.ComponentName, error)
	// Back finishes the front activity: what an activity's finish() does,
	// as apps here call it only from their own screen's handlers.
	Back()
}

// Packages is the package manager as an app sees it.
type Packages interface {
	Launchables() []content.Launchable
	Installed(pkg string) (manifest content.Manifest, uid uint32, ok bool)
}

// Settings is the settings provider as an app sees it.
type Settings interface {
	Setting(ns, key string) (string, bool)
	Put(ns, key, value string, uid uint32) error
}

// Net is the network stack as an app sees it.
type Net interface {
	Proxy() (string, error)
	// DialAs connects a socket owned by uid (an app passes its own, so
	// iptables' owner match and /proc/net see it as the app's): network
	// "tcp" / "udp" for Java's dual-stack sockets, "tcp4" / "udp4" for a
	// native IPv4 socket (netstack.Stack.DialAs).
	DialAs(ctx context.Context, uid uint32, network, addr string) (net.Conn, error)
	// TrustedCAs is the platform's trust store (Conscrypt's): the system
	// CAs, plus the user's for apps whose network security config opts in.
	TrustedCAs(userStore bool) *x509.CertPool
}

// Factory makes the code of an installed package; env is the package's.
type Factory func(m content.Manifest, env Env) App
