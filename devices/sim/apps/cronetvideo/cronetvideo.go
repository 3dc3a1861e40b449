// Package cronetvideo is a modeled preinstalled app built on Cronet,
// Chromium's network stack for apps: a video app whose search box logs
// each submitted query to its backend, which it has told Cronet speaks
// QUIC (CronetEngine.Builder.enableQuic and addQuicHint), so the first
// attempt goes over QUIC on UDP 443 ("QUIC first", as Chromium-based
// clients do). Chromium's behaviour, which the app follows:
//   - Cronet takes the system proxy (dart-lang/http#1138: "it automatically
//     uses any configured system proxy"), and never uses QUIC through an
//     HTTP proxy: alternative services (QUIC) are for direct connections
//     only (net/http/http_stream_factory_job_controller.cc). Behind
//     `settings put global http_proxy` it is captured like any Java app.
//   - Without a proxy it tries QUIC and races TCP after a short delay
//     (modeled 300 ms); a QUIC failure (a REJECT makes the send fail at once)
//     falls back to TCP and marks QUIC broken for that server for 5 minutes
//     (net/http/broken_alternative_services.cc, the first delay).
//   - Native sockets of the address's family (/proc/net/tcp and udp), and
//     the platform's trust store (Conscrypt: system CAs only for apps that
//     target API 24+).
//
// So on a phone without a proxy setting its QUIC goes around any TCP
// capture unless UDP 443 is rejected, and then its TCP fallback is there
// for an iptables REDIRECT. Package, label, host and wire format are
// modeled stand-ins for the class of apps: com.example.cronetvideo, "Cronet
// Video", POST https://log.cronetvideo.example/v1/events with JSON.
package cronetvideo

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"net"
	"net/http"
	"sync"
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
	Package  = "com.example.cronetvideo"
	Activity = Package + ".MainActivity"
	Label    = "Cronet Video"
	Host     = "log.cronetvideo.example"
	Path     = "/v1/events"
	Event    = "video_search"
)

// Manifest is the package as the system image declares it.
var Manifest = content.Manifest{Label: Label, Activities: []content.ActivityInfo{
	{Name: Activity, Filters: []content.Filter{content.Launcher}},
}}

const (
	// mainJobDelay is how long Chromium lets a QUIC attempt run before it
	// starts the TCP one too (modeled; Chromium derives it from the
	// measured round trip).
	mainJobDelay = 300 * time.Millisecond
	// quicBroken is how long a failed QUIC server is skipped (Chromium's
	// first broken-alternative-service delay, 5 minutes).
	quicBroken = 5 * time.Minute
	// quicIdle and tcpIdle are how long Chromium keeps an unused session
	// or socket: QUIC's idle timeout (30 s) and the used-idle-socket
	// timeout (300 s, client_socket_pool.cc).
	quicIdle = 30 * time.Second
	tcpIdle  = 300 * time.Second
	// requestTimeout bounds one upload (modeled).
	requestTimeout = 30 * time.Second
	userAgent      = "CronetVideo/1.0 Cronet/119.0.6045.31"
)

// App is the app's process.
type App struct {
	env    app.Env
	search searchbox.Box

	mu          sync.Mutex
	brokenUntil time.Time // QUIC to Host is skipped until then
}

// New returns the app's process for env.
func New(env app.Env) *App {
	a := &App{env: env}
	a.search.Submit = a.upload
	return a
}

// NewActivity implements app.App: the one activity.
func (a *App) NewActivity(string) app.Activity {
	return searchbox.Activity{Box: &a.search, Layout: a.screen}
}

// screen is a native layout: a title, the search field (the AppCompat
// SearchView's EditText id, search_src_text) and the results line.
func (a *App) screen(b ui.Rect) *ui.Node {
	k := widget.For(Package, b)
	top := b.Top + k.StatusBar()
	bar := ui.R(b.Left, top, b.Right, top+k.Dp(56))
	field := ui.R(b.Left+k.Dp(16), bar.Bottom+k.Dp(8), b.Right-k.Dp(16), bar.Bottom+k.Dp(56))
	return k.Decor(k.Linear("", ui.R(b.Left, top, b.Right, b.Bottom),
		k.Label("title", Label, bar),
		a.search.Field(k, "search_src_text", "Search videos", field),
		k.Label("results", a.search.Results("Trending"), ui.R(b.Left, field.Bottom+k.Dp(16), b.Right, b.Bottom))))
}

// upload logs one search the way Cronet sends it and tells the phone how
// it went (event.Uploaded).
func (a *App) upload(q string) {
	queued := a.env.Clock.Now()
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	body, _ := json.Marshal(map[string]string{"event": "search", "query": q})
	ev := event.Uploaded{Package: Package, Action: profiles.ActionSearch, Event: Event, Host: Host, Path: Path,
		Transport: "tcp", Values: map[string]string{"search_word": q}, Queued: queued}
	var reply uplink.Reply
	var err error
	if proxy, perr := a.env.Net.Proxy(); perr == nil {
		reply, err = a.viaProxy(ctx, proxy, body)
	} else if route, ok := a.quic(ctx, len(body)); ok {
		ev.Transport, reply.Route = "quic", route
	} else {
		reply, err = a.direct(ctx, body)
	}
	ev.Route, ev.Status = string(reply.Route), reply.Status
	ev.At, ev.Delivered = a.env.Clock.Now(), err == nil
	if err != nil {
		ev.Route, ev.Reason = string(uplink.RouteOf(err)), uplink.Reason(err)
	}
	a.env.Bus.Publish(ev)
}

// request is the upload as Cronet sends it.
func request(ctx context.Context, body []byte) (*http.Request, error) {
	req, err := uplink.NewRequest(ctx, http.MethodPost, Host, Path, body)
	if err != nil {
		return nil, uplink.Fail("http", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", userAgent)
	return req, nil
}

func (a *App) roots() *x509.CertPool { return a.env.Net.TrustedCAs(false) }

// viaProxy is a CONNECT through the system proxy, then TLS inside.
func (a *App) viaProxy(ctx context.Context, proxy string, body []byte) (uplink.Reply, error) {
	req, err := request(ctx, body)
	if err != nil {
		return uplink.Reply{}, err
	}
	conn, err := a.env.Net.DialAs(ctx, a.env.UID, "tcp4", proxy)
	if err != nil {
		return uplink.Reply{}, uplink.DialFailure(err)
	}
	tunnel, err := uplink.Connect(ctx, conn, Host, userAgent)
	if err != nil {
		conn.Close()
		return uplink.Reply{}, err
	}
	reply, err := uplink.Exchange(ctx, tunnel, a.roots(), req)
	uplink.Keep(a.env.Clock, conn, err, tcpIdle)
	return reply, err
}

// direct is TCP to the server itself (wherever the phone's rules send it).
func (a *App) direct(ctx context.Context, body []byte) (uplink.Reply, error) {
	req, err := request(ctx, body)
	if err != nil {
		return uplink.Reply{}, err
	}
	conn, err := a.env.Net.DialAs(ctx, a.env.UID, "tcp4", net.JoinHostPort(Host, "443"))
	if err != nil {
		return uplink.Reply{}, uplink.DialFailure(err)
	}
	reply, err := uplink.Exchange(ctx, conn, a.roots(), req)
	uplink.Keep(a.env.Clock, conn, err, tcpIdle)
	return reply, err
}

// quic tries the upload over QUIC unless the server is marked broken: an
// Initial, the server's answer within the main job's delay, then the
// request in 1-RTT packets (opaque: QUIC encrypts them). It reports
// whether QUIC carried the upload and which way the datagrams went; on a
// failure it marks QUIC broken.
func (a *App) quic(ctx context.Context, size int) (netstack.Route, bool) {
	a.mu.Lock()
	skip := a.env.Clock.Now().Before(a.brokenUntil)
	a.mu.Unlock()
	if skip {
		return "", false
	}
	route, ok := a.tryQUIC(ctx, size)
	if !ok {
		a.mu.Lock()
		a.brokenUntil = a.env.Clock.Now().Add(quicBroken)
		a.mu.Unlock()
	}
	return route, ok
}

func (a *App) tryQUIC(ctx context.Context, size int) (netstack.Route, bool) {
	u, err := a.env.Net.DialAs(ctx, a.env.UID, "udp4", net.JoinHostPort(Host, "443"))
	if err != nil {
		return "", false
	}
	if _, err := u.Write(netstack.QUICInitial()); err != nil {
		u.Close()
		return "", false
	}
	stop := context.AfterFunc(ctx, func() { u.Close() })
	defer stop()
	giveUp := a.env.Clock.AfterFunc(mainJobDelay, func() { _ = u.SetReadDeadline(time.Now()) })
	reply := make([]byte, 1500)
	_, err = u.Read(reply)
	giveUp.Stop()
	if err != nil {
		u.Close()
		return "", false
	}
	req := make([]byte, size+len(Host)+len(Path)+64) // the request, as opaque as QUIC makes it
	for len(req) > 0 {
		n := min(len(req), 1200)
		pkt := append([]byte{0x40}, req[:n]...) // a short-header (1-RTT) packet
		if _, err := u.Write(pkt); err != nil {
			u.Close()
			return "", false
		}
		req = req[n:]
	}
	route, _ := netstack.RouteOf(u)
	uplink.Keep(a.env.Clock, u, nil, quicIdle)
	return route, true
}
