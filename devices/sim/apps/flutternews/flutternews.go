// Package flutternews is a modeled preinstalled app built with Flutter: a
// news reader whose search box sends each submitted query to its backend
// with Dart's own HttpClient. That client ignores Android's proxy setting
// (its findProxy is unset, so every request goes DIRECT: flutter/flutter
// #26359, #20376; Proxyman's and HTTP Toolkit's Flutter notes), connects
// with a native IPv4 socket (dart:io resolves the name and opens a socket
// of the address's family, so /proc/net/tcp lists it, not tcp6), and trusts
// only the certificates in /system/etc/security/cacerts, on every Android
// version (dart-lang/sdk#48056). So on a phone pointed at a proxy with
// `settings put global http_proxy`, its uploads go around the proxy; only
// a transparent capture (an iptables REDIRECT for its uid) sees them.
//
// Package, label, host and wire format are modeled stand-ins for the
// class of apps, not a real app: com.example.flutternews, "Flutter News",
// POST https://api.flutternews.example/v1/search with a JSON body.
package flutternews

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"time"

	"telltale.dev/devices/profiles"
	"telltale.dev/devices/sim/app"
	"telltale.dev/devices/sim/apps/internal/searchbox"
	"telltale.dev/devices/sim/content"
	"telltale.dev/devices/sim/event"
	"telltale.dev/devices/sim/netstack"
	"telltale.dev/devices/sim/netstack/uplink"
	"telltale.dev/devices/sim/ui"
	"telltale.dev/devices/sim/ui/widget"
)

// The app as the phone knows it.
const (
	Package  = "com.example.flutternews"
	Activity = Package + ".MainActivity" // Flutter's template names it so
	Label    = "Flutter News"
	Host     = "api.flutternews.example"
	Path     = "/v1/search"
	Event    = "news_search"
)

// Manifest is the package as the system image declares it.
var Manifest = content.Manifest{Label: Label, Activities: []content.ActivityInfo{
	{Name: Activity, Filters: []content.Filter{content.Launcher}},
}}

const (
	// idleTimeout is how long Dart's HttpClient keeps a connection open
	// after a response (HttpClient.idleTimeout, 15 s by default).
	idleTimeout = 15 * time.Second
	// requestTimeout bounds one upload (modeled: Dart sets no connection
	// timeout by default; the app gives up after this long).
	requestTimeout = 30 * time.Second
)

// App is the app's process.
type App struct {
	env    app.Env
	search searchbox.Box
}

// New returns the app's process for env.
func New(env app.Env) *App {
	a := &App{env: env}
	a.search.Submit = a.upload
	return a
}

// NewActivity implements app.App: the one FlutterActivity.
func (a *App) NewActivity(string) app.Activity {
	return searchbox.Activity{Box: &a.search, Layout: a.screen}
}

// screen is the app's view tree as Flutter's accessibility bridge exposes
// it to uiautomator: the FlutterView holding plain android.view.View nodes
// labeled by content description and an EditText for the search field;
// Flutter widgets have no resource ids (modeled from Flutter's
// AccessibilityBridge).
func (a *App) screen(b ui.Rect) *ui.Node {
	k := widget.For(Package, b)
	top := b.Top + k.StatusBar()
	title := k.View("android.view.View", "", ui.R(b.Left, top, b.Right, top+k.Dp(56)))
	title.ContentDesc = Label
	field := ui.R(b.Left+k.Dp(16), title.Bounds.Bottom+k.Dp(8), b.Right-k.Dp(16), title.Bounds.Bottom+k.Dp(64))
	results := k.View("android.view.View", "", ui.R(b.Left, field.Bottom+k.Dp(16), b.Right, b.Bottom))
	results.ContentDesc = a.search.Results("Top stories")
	return k.Decor(k.View("android.view.View", "", b, title, a.search.Field(k, "", "Search news", field), results))
}

// upload sends one search, straight to the backend whatever the proxy
// setting says, and tells the phone how it went (event.Uploaded).
func (a *App) upload(q string) {
	queued := a.env.Clock.Now()
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	body, _ := json.Marshal(map[string]string{"q": q, "lang": a.env.Language()})
	ev := event.Uploaded{Package: Package, Action: profiles.ActionSearch, Event: Event, Host: Host, Path: Path,
		Transport: "tcp", Values: map[string]string{"search_word": q}, Queued: queued}
	var reply uplink.Reply
	conn, err := a.env.Net.DialAs(ctx, a.env.UID, "tcp4", net.JoinHostPort(Host, "443"))
	if err != nil {
		err = uplink.DialFailure(err)
	} else {
		reply, err = a.post(ctx, conn, body)
		uplink.Keep(a.env.Clock, conn, err, idleTimeout)
	}
	ev.Route, ev.Status = string(reply.Route), reply.Status
	ev.At, ev.Delivered = a.env.Clock.Now(), err == nil
	if err != nil {
		ev.Route, ev.Reason = string(uplink.RouteOf(err)), uplink.Reason(err)
	}
	a.env.Bus.Publish(ev)
}

// post is the request as Dart's HttpClient sends it, over conn, trusting
// the system store alone.
func (a *App) post(ctx context.Context, conn net.Conn, body []byte) (uplink.Reply, error) {
	req, err := uplink.NewRequest(ctx, http.MethodPost, Host, Path, body)
	if err != nil {
		return uplink.Reply{}, uplink.Fail("http", err)
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("User-Agent", "Dart/3.3 (dart:io)")
	return uplink.Exchange(ctx, conn, netstack.CertPool(a.env.Files, netstack.SystemCADir), req)
}
