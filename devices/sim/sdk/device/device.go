// Package device is the simulated phone as a telemetry SDK inside one of
// its apps sees it: who the phone is, whether it is online and how, the
// phone's clock and broadcasts, the app's files, the way out to the
// servers, and where the ground truth goes.
package device

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"telltale.dev/devices/sim/clock"
	"telltale.dev/devices/sim/event"
	"telltale.dev/devices/sim/netstack/uplink"
	"telltale.dev/devices/sim/sdk/eventdb"
	"telltale.dev/devices/sim/sdk/groundtruth"
	"telltale.dev/devices/sim/sdk/handler"
	"telltale.dev/devices/sim/vfs"
	"telltale.dev/protocols"
)

// Identity is how the phone's SDKs identify it.
type Identity struct {
	Serial      string
	Device      string // ro.product.device
	Model       string // ro.product.model
	Brand       string
	MIUIVersion string
	Android     string
	AndroidID   string
	IMEI        string
	// Region is ro.miui.region ("global" on international builds).
	Region string
	// AppVersions gives preinstalled app versions for $app_version.
	AppVersions map[string]string
}

// International says whether the build is a global one, which MIUI's SDKs
// treat differently (OneTrack leaves the IMEI out).
func (id Identity) International() bool { return id.Region != protocols.RegionChina }

// Network is the phone's connectivity as ConnectivityManager tells apps:
// whether Wi-Fi is connected, and to which network.
type Network interface {
	Network() (wifi bool, ssid string)
}

// Network types as Sensors Analytics names them (sa-sdk-android
// util/NetworkUtils.networkType): "WIFI", "2G".."5G", "NULL" for none.
const (
	TypeWifi = "WIFI"
	TypeNone = "NULL"
)

// Type is the phone's network type. The simulated phones carry no SIM card
// (modeled: research phones sit on Wi-Fi), so without Wi-Fi there is no
// network at all, and the SDKs, which check for one before each upload,
// send nothing.
func Type(n Network) string {
	if wifi, _ := n.Network(); wifi {
		return TypeWifi
	}
	return TypeNone
}

// Online says whether any network is up.
func Online(n Network) bool { return Type(n) != TypeNone }

// Timing is how the SDKs pace their uploads.
type Timing string

const (
	// Realistic paces uploads as the real SDKs do (the default).
	Realistic Timing = "realistic"
	// Immediate sends each event at once, in a request of its own, and
	// gives up after a failed attempt: the SDKs' debug modes (Sensors
	// Analytics' DebugMode, OneTrack's debug upload mode), for unit tests
	// that want one request per action.
	Immediate Timing = "immediate"
)

// ParseTiming reads a --telemetry-timing value ("" is Realistic).
func ParseTiming(s string) (Timing, error) {
	switch Timing(s) {
	case "", Realistic:
		return Realistic, nil
	case Immediate:
		return Immediate, nil
	}
	return "", fmt.Errorf("telemetry timing %q: want %s or %s", s, Realistic, Immediate)
}

// App is what one app's SDK gets from the phone.
type App struct {
	Package string
	UID     uint32
	// Version is the app's versionName ($app_version, app_ver).
	Version string

	Clock clock.Clock
	// Bus carries the broadcasts and lifecycle an SDK listens to.
	Bus      *event.Bus
	Files    *vfs.FS
	Net      uplink.Net
	Network  Network
	Identity Identity
	Truth    *groundtruth.Writer
	// IDs numbers events across the phone for the ground truth.
	IDs     *atomic.Int64
	Timing  Timing
	Log     *slog.Logger
	Timeout time.Duration // bounds each upload, key exchange included
}

// Watch makes an SDK live and die with its app: died runs when the app's
// process ends (a reboot, am force-stop: its handler's messages die with
// it, its table stays for the next run), and the table is cleared, its
// events dropped, when the app's data goes (pm clear, uninstall). The
// returned funcs unsubscribe.
func (a App) Watch(table *eventdb.DB, died func()) []func() {
	gone := func(pkg, reason string) {
		if pkg == a.Package {
			died()
			table.Clear(reason)
		}
	}
	return []func(){
		event.On(a.Bus, func(event.Rebooted) { died() }),
		event.On(a.Bus, func(e event.PackageRestarted) {
			if e.Package == a.Package {
				died()
			}
		}),
		event.On(a.Bus, func(e event.PackageDataCleared) { gone(e.Package, "data-cleared") }),
		event.On(a.Bus, func(e event.PackageRemoved) { gone(e.Package, "uninstalled") }),
	}
}

// Request is a request of the app's HTTP client to https://host+path,
// with its User-Agent.
func (a App) Request(ctx context.Context, method, host, path string, body []byte) (*http.Request, error) {
	req, err := uplink.NewRequest(ctx, method, host, path, body)
	if err != nil {
		return nil, uplink.Fail("http", err)
	}
	req.Header.Set("User-Agent", UserAgent(a.Identity))
	return req, nil
}

// Send sends req from a socket of the app's uid, through the phone's
// global proxy when one is set and otherwise straight to the server,
// trusting the system CA store (uplink.Send).
func (a App) Send(ctx context.Context, req *http.Request) (uplink.Reply, error) {
	return uplink.Send(ctx, a.Net, a.UID, req)
}

// Outcome is an upload attempt named upload, as its reply and error tell
// it, for the ground truth.
func Outcome(upload string, r uplink.Reply, err error) groundtruth.Outcome {
	o := groundtruth.Outcome{Upload: upload, Status: r.Status, Route: string(r.Route)}
	if err != nil {
		o.Reason = uplink.Reason(err)
	}
	return o
}

// Core is what every SDK is made of: the app it runs in, its event table,
// its message handler, and its subscriptions to the phone's events.
type Core struct {
	App   App
	DB    *eventdb.DB
	H     *handler.Handler
	Unsub []func()
	sdk   string
	// uploads are the message codes that upload.
	uploads []int
}

// NewCore sets up the SDK sdk in app with its table file name, whose
// messages of codes upload.
func NewCore(app App, sdk, table string, uploads ...int) Core {
	return Core{App: app, DB: app.Table(sdk, table), H: handler.New(app.Clock), sdk: sdk, uploads: uploads}
}

// Debug says whether the SDK runs in its debug mode (Immediate timing).
func (c *Core) Debug() bool { return c.App.Timing == Immediate }

// Queue reports the SDK's table and its next upload.
func (c *Core) Queue() Queue {
	next, _ := c.H.Next(c.uploads...)
	return Queue{SDK: c.sdk, App: c.App.Package, DB: c.DB.Path(), Length: c.DB.Len(), Next: next}
}

// Idle waits for the SDK's running work.
func (c *Core) Idle(ctx context.Context) error { return c.H.Idle(ctx) }

// Close stops the SDK; its table stays.
func (c *Core) Close() {
	for _, u := range c.Unsub {
		u()
	}
	c.H.Close()
}

// Table opens the SDK's event table named name in the app's data.
func (a App) Table(sdk, name string) *eventdb.DB {
	return eventdb.Open(eventdb.Config{Files: a.Files, Package: a.Package, UID: a.UID, Name: name, Clock: a.Clock,
		Truth: a.Truth, Serial: a.Identity.Serial, SDK: sdk, IDs: a.IDs, Log: a.Log})
}

// Queue is what an SDK tells dumpsys about its queue.
type Queue struct {
	SDK, App string
	// DB is the table's file on the phone.
	DB     string
	Length int
	// Next is when an upload is next due; zero when none is scheduled
	// (the SDK waits for its app, a network, or a new event).
	Next time.Time
}

// UserAgent is the User-Agent of Android's HttpURLConnection on the phone,
// as MIUI builds extend it (modeled).
func UserAgent(id Identity) string {
	return "Dalvik/2.1.0 (Linux; U; Android " + id.Android + "; " + id.Model + " MIUI/" + id.MIUIVersion + ")"
}
