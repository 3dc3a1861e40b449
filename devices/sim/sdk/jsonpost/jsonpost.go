// Package jsonpost is MIUI's small realtime reporters: each event posted
// as a JSON object of identifiers and values as soon as it is recorded.
// Two use it: Xiaomi's MiStat SDK in SystemUI (screen events to mistat,
// upload policy WIFI_ONLY: protocols.MistatPolicyWifiOnly) and the
// security center's app reports to api.sec (gzip-compressed, the IMEI as an
// MD5). No public source shows either body, nor the security center's
// pacing: the JSON shape and "post at once, retry when the next event is
// recorded or Wi-Fi comes back" are modeled.
package jsonpost

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"net/http"

	"telltale.dev/devices/sim/event"
	"telltale.dev/devices/sim/netstack/uplink"
	"telltale.dev/devices/sim/sdk/device"
	"telltale.dev/devices/sim/sdk/eventdb"
	"telltale.dev/protocols"
)

// Options set a reporter apart.
type Options struct {
	// SDK is the service (protocols.Mistat, protocols.SecurityCenter).
	SDK string
	// Table is the database file name under the app's databases/.
	Table string
	// Gzip sends the body compressed, with Content-Encoding: gzip.
	Gzip bool
	// IMEIMD5 adds the IMEI's MD5 as imei_md5.
	IMEIMD5 bool
	// WifiOnly holds events until Wi-Fi is connected.
	WifiOnly bool
}

// Mistat is SystemUI's MiStat.
var Mistat = Options{SDK: protocols.Mistat, Table: protocols.MistatDatabase, WifiOnly: true}

// SecurityCenter is the security center's app reports; its table name is
// modeled.
var SecurityCenter = Options{SDK: protocols.SecurityCenter, Table: "apps_report", Gzip: true, IMEIMD5: true}

const uploadMsg = 1

// Client is one reporter in one app.
type Client struct {
	device.Core
	opts Options
}

// New starts the reporter in app.
func New(app device.App, opts Options) *Client {
	c := &Client{Core: device.NewCore(app, opts.SDK, opts.Table, uploadMsg), opts: opts}
	c.Unsub = append(app.Watch(c.DB, c.H.RemoveAll),
		event.On(app.Bus, func(event.WifiConnected) { c.H.Post(uploadMsg, c.upload) }))
	return c
}

// Track records an event whose own values are ev.Data and posts it.
func (c *Client) Track(ev eventdb.Event) {
	ev.Data = c.event(ev.Name, ev.Data)
	if _, err := c.DB.Insert(ev); err != nil {
		c.App.Log.Warn("event not stored", "sdk", c.opts.SDK, "app", c.App.Package, "event", ev.Name, "err", err)
		return
	}
	c.H.Post(uploadMsg, c.upload)
}

func (c *Client) online() bool {
	if c.opts.WifiOnly {
		wifi, _ := c.App.Network.Network()
		return wifi
	}
	return device.Online(c.App.Network)
}

// upload posts the queued events one by one, oldest first, until one fails.
func (c *Client) upload() {
	if !c.online() {
		return
	}
	rows, err := c.DB.Rows()
	if err != nil {
		c.App.Log.Warn("table unreadable", "sdk", c.opts.SDK, "app", c.App.Package, "err", err)
		return
	}
	for _, r := range rows {
		reply, err := c.post(r)
		o := device.Outcome(c.DB.NextUpload(), reply, err)
		if err == nil {
			c.DB.Sent([]eventdb.Event{r}, o)
			continue
		}
		c.DB.Failed([]eventdb.Event{r}, o)
		if c.Debug() {
			// Unit tests' immediate timing gives up at once (modeled).
			c.DB.Drop([]eventdb.Event{r}, "debug-mode")
			continue
		}
		return
	}
}

func (c *Client) post(r eventdb.Event) (uplink.Reply, error) {
	body, err := json.Marshal(r.Data)
	if err != nil {
		return uplink.Reply{}, uplink.Fail("encode", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.App.Timeout)
	defer cancel()
	if c.opts.Gzip {
		body = protocols.Gzip(body)
	}
	req, err := c.App.Request(ctx, http.MethodPost, r.Host, r.Path, body)
	if err != nil {
		return uplink.Reply{}, err
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	if c.opts.Gzip {
		req.Header.Set("Content-Encoding", "gzip")
	}
	return c.App.Send(ctx, req)
}

// event is the flat JSON both reporters send: identifiers and values side
// by side (modeled).
func (c *Client) event(name string, own map[string]any) map[string]any {
	id := c.App.Identity
	ev := map[string]any{
		"event": name, "app_id": c.App.Package, "device_id": id.AndroidID, "model": id.Model,
		"device": id.Device, "miui_version": id.MIUIVersion, "android_version": id.Android, "region": id.Region,
		"ts": c.App.Clock.Now().UnixMilli(),
	}
	if c.opts.IMEIMD5 {
		sum := md5.Sum([]byte(id.IMEI))
		ev["imei_md5"] = hex.EncodeToString(sum[:])
	}
	for k, v := range own {
		ev[k] = v
	}
	return ev
}
