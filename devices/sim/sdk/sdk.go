// Package sdk is the simulated phone's telemetry: the SDKs its firmware's
// apps embed, fed by what happens in those apps. A trigger (a page loaded
// in the browser, a setting changed in the Settings app, ...; trigger.go)
// becomes events in apps' SDKs as the firmware's rules say (rules.yaml),
// and each SDK stores, paces, uploads and retries them as the real one
// does (one package each below: sensors, onetrack, jsonpost; beacon for
// what the firmware sends on a timer). The ground truth (sdk/groundtruth) records
// every event from queued to sent or dropped; `dumpsys telltale_telemetry`
// (dumpsys.go) shows the queues.
package sdk

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"telltale.dev/devices/sim/clock"
	"telltale.dev/devices/sim/event"
	"telltale.dev/devices/sim/identity"
	"telltale.dev/devices/sim/netstack/uplink"
	"telltale.dev/devices/sim/sdk/beacon"
	"telltale.dev/devices/sim/sdk/device"
	"telltale.dev/devices/sim/sdk/eventdb"
	"telltale.dev/devices/sim/sdk/groundtruth"
	"telltale.dev/devices/sim/sdk/jsonpost"
	"telltale.dev/devices/sim/sdk/onetrack"
	"telltale.dev/devices/sim/sdk/sensors"
	"telltale.dev/devices/sim/vfs"
)

// Config sets up a phone's telemetry.
type Config struct {
	// Rules is the firmware's ruleset; nil: the phone reports nothing.
	Rules *RuleSet
	// Bus carries the phone's events: the triggers, and the broadcasts and
	// lifecycles the SDKs follow.
	Bus     *event.Bus
	Sources Sources
	Clock   clock.Clock
	Files   *vfs.FS
	Net     uplink.Net
	// Identity says who the phone is; its Region picks the catalogue's hosts.
	Identity device.Identity
	// Truth receives the ground-truth log (nil: discarded).
	Truth  io.Writer
	Timing device.Timing
	Logger *slog.Logger
	// NoiseOff stops the firmware's timed requests (tests that count).
	NoiseOff bool
	// Timeout bounds each upload, key exchange included (default 10s).
	Timeout time.Duration
}

// appSDK is one SDK inside one app.
type appSDK interface {
	Track(eventdb.Event)
	Queue() device.Queue
	Idle(ctx context.Context) error
	Close()
}

// Telemetry is a phone's SDKs.
type Telemetry struct {
	cfg   Config
	truth *groundtruth.Writer
	ids   atomic.Int64
	// changed is closed and replaced on every ground-truth line, so Drain
	// can wait for the queues without polling.
	changedMu sync.Mutex
	changed   chan struct{}

	watcher *watcher
	// unwatch unsubscribes from the phone's events.
	unwatch []func()
	beacons []*beacon.Beacon

	mu      sync.Mutex
	clients map[clientKey]appSDK
	order   []clientKey
	closed  bool
}

type clientKey struct{ app, format string }

// Start begins the phone's telemetry.
func Start(cfg Config) (*Telemetry, error) {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Timing == "" {
		cfg.Timing = device.Realistic
	}
	t := &Telemetry{cfg: cfg, clients: map[clientKey]appSDK{}, changed: make(chan struct{})}
	t.truth = groundtruth.NewWriter(notifier{w: cfg.Truth, t: t})
	if cfg.Rules == nil {
		t.unwatch = append(t.unwatch, t.recordOwnUploads(cfg.Bus, cfg.Identity.Serial))
		return t, nil
	}
	for _, r := range cfg.Rules.Rules {
		if _, _, err := r.endpoint(cfg.Identity.Region); err != nil {
			return nil, fmt.Errorf("telemetry %s: %w", cfg.Rules.Name, err)
		}
	}
	specs := make([]beacon.Spec, len(cfg.Rules.Noise))
	for i, n := range cfg.Rules.Noise {
		var err error
		if specs[i], err = noiseSpec(n, cfg.Identity.Region); err != nil {
			return nil, fmt.Errorf("telemetry %s: %w", cfg.Rules.Name, err)
		}
	}
	for i, spec := range specs {
		if !cfg.NoiseOff {
			t.beacons = append(t.beacons, beacon.Start(t.app(cfg.Rules.Noise[i].App), spec))
		}
	}
	t.watcher = &watcher{src: cfg.Sources}
	t.unwatch = append(t.unwatch, t.recordOwnUploads(cfg.Bus, cfg.Identity.Serial), t.watcher.watch(cfg.Bus, t.report))
	return t, nil
}

func noiseSpec(n Noise, region string) (beacon.Spec, error) {
	spec := beacon.Spec{First: time.Duration(n.First), Every: time.Duration(n.Every), Format: n.Format, Event: n.Event, Host: n.Host, Path: n.Path, SDK: services[n.Format]}
	if spec.Host == "" {
		host, err := catalogueHost(n.Format, region)
		if err != nil {
			return spec, fmt.Errorf("noise %s: %w", n.Event, err)
		}
		spec.Host = host
	}
	if spec.Path == "" {
		spec.Path = beacon.DefaultPath(n.Format, n.App)
	}
	return spec, nil
}

// report hands a trigger to the SDKs its rules name.
func (t *Telemetry) report(tr Trigger) {
	for _, r := range t.cfg.Rules.Rules {
		if r.Action != tr.Action {
			continue
		}
		host, path, _ := r.endpoint(t.cfg.Identity.Region) // checked at Start
		app := r.App
		if app == "" {
			app = tr.App
		}
		c := t.client(app, r.Format, host, path)
		if c == nil {
			return
		}
		c.Track(eventdb.Event{Name: r.Event, Priority: r.Priority, Host: host, Path: path, Format: r.Format,
			Data: values(r, tr, t.cfg.Clock.Now()), Action: tr.Action, Values: leaked(r, tr)})
	}
}

// values are the event's own values, typed as the rule says.
func values(r Rule, tr Trigger, now time.Time) map[string]any {
	out := map[string]any{}
	for _, v := range r.Values {
		name, typ, _ := strings.Cut(v, ":")
		s := tr.Values[name]
		if n, err := strconv.Atoi(s); typ == "int" && err == nil {
			out[name] = n
		} else {
			out[name] = s
		}
	}
	for _, g := range r.Generated {
		switch g {
		case "duration":
			// How long the app was used is not known at launch: a plausible
			// figure (modeled).
			out[g] = 1000 + now.UnixMilli()%59000
		case "start":
			out[g] = now.UnixMilli()
		}
	}
	return out
}

// leaked are the plain values the event carries, for the ground truth.
func leaked(r Rule, tr Trigger) map[string]string {
	out := map[string]string{}
	for _, v := range r.Values {
		name, _, _ := strings.Cut(v, ":")
		if s := tr.Values[name]; s != "" {
			out[name] = s
		}
	}
	return out
}

// client is the app's SDK of format, started on first use (set up with the
// server of the rule that first reports through it); nil once closed.
func (t *Telemetry) client(app, format, host, path string) appSDK {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return nil
	}
	k := clientKey{app, format}
	if c, ok := t.clients[k]; ok {
		return c
	}
	env := t.app(app)
	var c appSDK
	switch format {
	case FormatSA:
		c = sensors.New(env, host, path)
	case FormatOneTrack:
		c = onetrack.New(env)
	case FormatMistat:
		c = jsonpost.New(env, jsonpost.Mistat)
	default:
		c = jsonpost.New(env, jsonpost.SecurityCenter)
	}
	t.clients[k] = c
	t.order = append(t.order, k)
	// An SDK starts with its app's process, before any activity; one met
	// only now, with its app already in front, catches up on the start it
	// would have seen.
	if r, ok := c.(interface{ Resumed() }); ok && t.watcher.inFront(app) {
		r.Resumed()
	}
	return c
}

// app is what an SDK in pkg gets from the phone. A package the phone does
// not list (com.miui.powerkeeper on some profiles) runs as the system uid,
// as MIUI's system services do (modeled).
func (t *Telemetry) app(pkg string) device.App {
	uid, version := identity.System, ""
	if m, u, ok := t.cfg.Sources.Packages.Installed(pkg); ok {
		uid, version = u, m.VersionName
	}
	if v := t.cfg.Identity.AppVersions[pkg]; v != "" {
		version = v
	}
	return device.App{Package: pkg, UID: uid, Version: version, Clock: t.cfg.Clock, Bus: t.cfg.Bus, Files: t.cfg.Files,
		Net: t.cfg.Net, Network: t.cfg.Sources.Network, Identity: t.cfg.Identity, Truth: t.truth, IDs: &t.ids,
		Timing: t.cfg.Timing, Log: t.cfg.Logger, Timeout: t.cfg.Timeout}
}

// Queues are the SDKs' queues, in the order the SDKs started.
func (t *Telemetry) Queues() []device.Queue {
	t.mu.Lock()
	cs := t.clientList()
	t.mu.Unlock()
	out := make([]device.Queue, len(cs))
	for i, c := range cs {
		out[i] = c.Queue()
	}
	return out
}

// clientList is the clients in start order; t.mu is held.
func (t *Telemetry) clientList() []appSDK {
	out := make([]appSDK, len(t.order))
	for i, k := range t.order {
		out[i] = t.clients[k]
	}
	return out
}

// Idle waits until no SDK is uploading or about to. Uploads waiting for
// their time do not count: on a clock.Fake they run when it is advanced.
func (t *Telemetry) Idle(ctx context.Context) error {
	t.mu.Lock()
	cs := t.clientList()
	t.mu.Unlock()
	for _, c := range cs {
		if err := c.Idle(ctx); err != nil {
			return err
		}
	}
	for _, b := range t.beacons {
		if err := b.Idle(ctx); err != nil {
			return err
		}
	}
	return nil
}

// Drain waits until every SDK's queue is empty: everything queued has been
// sent or given up on. With realistic timing that takes the SDKs' own time
// (a Sensors Analytics flush comes 15 s after the first event); a queue
// that cannot drain (no network) ends at ctx with the queues named.
func (t *Telemetry) Drain(ctx context.Context) error {
	for {
		t.changedMu.Lock()
		changed := t.changed
		t.changedMu.Unlock()
		if err := t.Idle(ctx); err != nil {
			return err
		}
		var waiting []string
		for _, q := range t.Queues() {
			if q.Length > 0 {
				waiting = append(waiting, fmt.Sprintf("%s in %s: %d", q.SDK, q.App, q.Length))
			}
		}
		if len(waiting) == 0 {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("telemetry still queued (%s): %w", strings.Join(waiting, ", "), ctx.Err())
		}
	}
}

// Close stops the SDKs. Queued events stay in their apps' data, as on a
// phone that is switched off.
func (t *Telemetry) Close() {
	for _, u := range t.unwatch {
		u()
	}
	for _, b := range t.beacons {
		b.Stop()
	}
	t.mu.Lock()
	t.closed = true
	cs := t.clientList()
	t.mu.Unlock()
	for _, c := range cs {
		c.Close()
	}
}

// notifier passes ground-truth lines on and wakes Drain.
type notifier struct {
	w io.Writer
	t *Telemetry
}

func (n notifier) Write(p []byte) (int, error) {
	defer n.t.notify()
	if n.w == nil {
		return len(p), nil
	}
	return n.w.Write(p)
}

func (t *Telemetry) notify() {
	t.changedMu.Lock()
	defer t.changedMu.Unlock()
	close(t.changed)
	t.changed = make(chan struct{})
}
