// Package beacon is what the firmware sends on a timer, unrelated to any
// action: the ad SDK's config fetch and OneTrack's legacy track/v1
// heartbeat of com.miui.analytics. They are not queued: a request that
// fails is not retried (modeled). Each request is still an event in the
// ground truth (queued and sent, or dropped, at the same instant), so that
// a test can count what reached the proxy.
package beacon

import (
	"context"
	"crypto/md5"
	"crypto/sha1"
	"encoding/hex"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"telltale.dev/devices/sim/event"
	"telltale.dev/devices/sim/netstack/uplink"
	"telltale.dev/devices/sim/sdk/device"
	"telltale.dev/devices/sim/sdk/groundtruth"
	"telltale.dev/devices/sim/sdk/handler"
	"telltale.dev/protocols"
)

// Formats a beacon can send.
const (
	// Config is a GET with the phone's identity in the query.
	Config = "config"
	// TrackV1 is OneTrack's legacy form with _ei_/_mod_/... fields
	// (telemetry.md "Older forms").
	TrackV1 = "track-v1"
)

// Spec says what a beacon sends, where, and how often: First after the
// phone boots (0: Every), then Every.
type Spec struct {
	First      time.Duration
	Every      time.Duration
	Format     string
	Event      string
	Host, Path string
	SDK        string // the service, for the ground truth
}

// Beacon sends one Spec on its period.
type Beacon struct {
	app   device.App
	spec  Spec
	h     *handler.Handler
	n     int
	unsub func()
}

const tick = 1

// Start begins sending spec from app: spec.First from now, as from a boot,
// then every spec.Every. A reboot starts the count again (the service that
// sends it starts with the phone).
func Start(app device.App, spec Spec) *Beacon {
	b := &Beacon{app: app, spec: spec, h: handler.New(app.Clock)}
	b.boot()
	b.unsub = event.On(app.Bus, func(event.Rebooted) {
		b.h.RemoveAll()
		b.boot()
	})
	return b
}

func (b *Beacon) boot() {
	first := b.spec.First
	if first <= 0 {
		first = b.spec.Every
	}
	b.h.PostDelayed(tick, first, b.fire)
}

func (b *Beacon) fire() {
	b.h.PostDelayed(tick, b.spec.Every, b.fire)
	b.n++
	rec := groundtruth.Record{Serial: b.app.Identity.Serial, ID: "ev" + strconv.FormatInt(b.app.IDs.Add(1), 10),
		SDK: b.spec.SDK, App: b.app.Package, Host: b.spec.Host, Path: b.spec.Path, Format: b.spec.Format, Event: b.spec.Event,
		Queued: b.app.Clock.Now()}
	reply, err := b.send()
	o := device.Outcome(b.app.Package+"/"+b.spec.Event+"/"+strconv.Itoa(b.n), reply, err)
	if err := b.app.Truth.Once(rec, b.app.Clock.Now(), o, err == nil); err != nil {
		b.app.Log.Warn("ground-truth log write failed", "err", err)
	}
}

func (b *Beacon) send() (uplink.Reply, error) {
	ctx, cancel := context.WithTimeout(context.Background(), b.app.Timeout)
	defer cancel()
	id := b.app.Identity
	var req *http.Request
	var err error
	switch b.spec.Format {
	case Config:
		q := url.Values{"app_id": {b.app.Package}, "device": {id.Device}, "miui_version": {id.MIUIVersion},
			"android": {id.Android}, "r": {"INTL"}, "l": {"en_US"}}
		sep := "?"
		if strings.Contains(b.spec.Path, "?") {
			sep = "&"
		}
		req, err = b.app.Request(ctx, http.MethodGet, b.spec.Host, b.spec.Path+sep+q.Encode(), nil)
	default:
		aid := sha1.Sum([]byte(id.AndroidID))
		imei := md5.Sum([]byte(id.IMEI))
		form := url.Values{"_ei_": {b.spec.Event}, "_mod_": {id.Device}, "_et_": {"1"},
			"_ev_": {strconv.FormatInt(b.app.Clock.Now().UnixMilli(), 10)}, "_app_": {b.app.Package},
			"imei": {hex.EncodeToString(imei[:])}, "_miuiver_": {id.MIUIVersion}, "_di_": {hex.EncodeToString(aid[:])}, "_logs_": {"[]"}}
		req, err = b.app.Request(ctx, http.MethodPost, b.spec.Host, b.spec.Path, []byte(form.Encode()))
		if err == nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	}
	if err != nil {
		return uplink.Reply{}, err
	}
	return b.app.Send(ctx, req)
}

// DefaultPath is where a format goes when the spec names no path.
func DefaultPath(format, app string) string {
	if format == Config {
		return protocols.AdConfigPath
	}
	return protocols.TrackV1Path + "?sender=" + app
}

// Idle waits for a request under way.
func (b *Beacon) Idle(ctx context.Context) error { return b.h.Idle(ctx) }

// Stop ends the beacon.
func (b *Beacon) Stop() {
	b.unsub()
	b.h.Close()
}
