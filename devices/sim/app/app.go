// Package app is how the simulated phone runs apps: the App and Activity
// interfaces every app module implements (devices/sim/apps/...), the Env
// the phone gives an app, and the Host that plays the part of the apps'
// processes: it creates an app's code when one of its activities starts,
// hands activities their intents, keeps the resumed one, and offers its
// window to the window manager.
package app

import (
	"context"
	"net"

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
}

// Starter is the activity manager as an app sees it.
type Starter interface {
	Start(in content.Intent, callerUID uint32) (content.ComponentName, error)
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
	Dial(ctx context.Context, addr string) (net.Conn, error)
}

// Factory makes the code of an installed package; env is the package's.
type Factory func(m content.Manifest, env Env) App
