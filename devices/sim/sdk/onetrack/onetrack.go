// Package onetrack is Xiaomi's OneTrack SDK as MIUI's system apps embed it:
// events stored by priority in the app's database, uploads scheduled per
// priority (1 s, 15 s, 15 min), an AES key fetched from the server, and a
// retry timer that doubles from 10 s to 20 min. Behaviour follows the
// decompiled SDK (com/xiaomi/onetrack/: c/b.java "EventManager", c/m.java
// "UploaderEngine", c/k.java "UploadTimer", c/c.java and c/l.java its
// receivers, f/b.java the event header, b/l.java "ConfigProvider");
// constants and wire format in telltale.dev/protocols.
package onetrack

import (
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"time"

	"telltale.dev/devices/sim/event"
	"telltale.dev/devices/sim/netstack/uplink"
	"telltale.dev/devices/sim/sdk/device"
	"telltale.dev/devices/sim/sdk/eventdb"
	"telltale.dev/protocols"
)

// retryMsg is the UploadTimer's retry message; priorities use their own
// number as message code.
const retryMsg = 1000

// Client is the SDK in one app.
type Client struct {
	device.Core

	mu    sync.Mutex
	retry time.Duration
	key   []byte
	sid   string
}

// New starts the SDK in app.
func New(app device.App) *Client {
	c := &Client{Core: device.NewCore(app, protocols.OneTrack, protocols.OneTrackDatabase, 0, 1, 2, retryMsg),
		retry: protocols.OneTrackRetryMin}
	c.Unsub = append(app.Watch(c.DB, c.died),
		// The screen turning on asks for an upload of priority 0, off of
		// priority 2 (c/c.java).
		event.On(app.Bus, func(e event.ScreenChanged) {
			if e.On {
				c.schedule(0)
			} else {
				c.schedule(2)
			}
		}),
		event.On(app.Bus, func(event.WifiConnected) { c.connectivityChanged() }),
		// A reboot ends the process, its timers and the key it held in
		// memory (modeled: the SDK's key cache is not known); the network
		// coming back at boot is a connectivity change like any other.
		event.On(app.Bus, func(event.Rebooted) { c.connectivityChanged() }))
	return c
}

// Track stores an event whose own values are ev.Data, at ev.Priority, and
// asks for an upload of its priority (c/b.java addEvent, c/d.java).
func (c *Client) Track(ev eventdb.Event) {
	ev.Data = c.event(ev.Name, ev.Data)
	if b, _ := json.Marshal(ev.Data); len(b) > protocols.OneTrackMaxEvent {
		c.DB.Refuse(ev, "too-large")
		return
	}
	if _, err := c.DB.Insert(ev); err != nil {
		c.App.Log.Warn("onetrack: event not stored", "app", c.App.Package, "event", ev.Name, "err", err)
		return
	}
	c.schedule(ev.Priority)
}

// interval is how long an upload of prio waits (b/l.java getUploadInterval;
// 0 in the SDK's debug upload mode).
func (c *Client) interval(prio int) time.Duration {
	if c.Debug() {
		return 0
	}
	return protocols.OneTrackUploadDelay(prio)
}

// schedule asks for an upload of prio unless one is already pending, or a
// retry is, which takes every priority with it (UploadTimer.a(int, false)).
func (c *Client) schedule(prio int) {
	if c.H.Has(retryMsg) || c.H.Has(prio) {
		return
	}
	c.H.PostDelayed(prio, c.interval(prio), func() { c.check(prio) })
}

// connectivityChanged: with a network up, an upload of every priority is
// scheduled after its interval (c/l.java).
func (c *Client) connectivityChanged() {
	if !device.Online(c.App.Network) {
		return
	}
	for prio := range protocols.OneTrackPriorities {
		if !c.H.Has(prio) {
			c.H.PostDelayed(prio, c.interval(prio), func() { c.check(prio) })
		}
	}
}

func (c *Client) died() {
	c.H.RemoveAll()
	c.mu.Lock()
	c.key, c.sid, c.retry = nil, "", protocols.OneTrackRetryMin
	c.mu.Unlock()
}

// check is a priority's message: without a network or events it does
// nothing; a failed upload arms the retry (UploadTimer.handleMessage).
func (c *Client) check(prio int) {
	if !device.Online(c.App.Network) || c.DB.Len() == 0 {
		return
	}
	if c.upload(prio) || c.H.Has(retryMsg) {
		return
	}
	c.armRetry()
}

func (c *Client) armRetry() {
	c.mu.Lock()
	d := c.retry
	c.mu.Unlock()
	c.H.PostDelayed(retryMsg, d, c.retryUpload)
}

// retryUpload uploads every priority; on failure the wait doubles up to
// 20 min, on success it is back to 10 s (UploadTimer.a()).
func (c *Client) retryUpload() {
	if !device.Online(c.App.Network) || c.DB.Len() == 0 {
		return
	}
	ok := c.upload(protocols.OneTrackPriorities - 1)
	c.mu.Lock()
	if ok {
		c.retry = protocols.OneTrackRetryMin
	} else {
		c.retry = min(2*c.retry, protocols.OneTrackRetryMax)
	}
	c.mu.Unlock()
	if !ok {
		c.armRetry()
	}
}

// upload sends the table while its most urgent event is of priority prio
// or more urgent; true when it ran out of such events without a failure
// (UploaderEngine.a(int), EventManager.a(int)).
func (c *Client) upload(prio int) bool {
	for {
		rows, err := c.DB.Rows()
		if err != nil {
			c.App.Log.Warn("onetrack: table unreadable", "app", c.App.Package, "err", err)
			return false
		}
		batch := nextBatch(rows, prio)
		if len(batch) == 0 {
			return true
		}
		if !c.send(batch) {
			return false
		}
	}
}

// nextBatch orders rows by priority then age and takes them until their
// JSON reaches the batch limit, if the first is of priority prio or more
// urgent. Only events for the first one's endpoint go together.
func nextBatch(rows []eventdb.Event, prio int) []eventdb.Event {
	rows = slices.Clone(rows)
	slices.SortStableFunc(rows, func(a, b eventdb.Event) int { return a.Priority - b.Priority })
	if len(rows) == 0 || rows[0].Priority > prio {
		return nil
	}
	var out []eventdb.Event
	size := 0
	for _, r := range rows {
		if r.Host != rows[0].Host || r.Path != rows[0].Path {
			continue
		}
		b, _ := json.Marshal(r.Data)
		out = append(out, r)
		if size += len(b); size >= protocols.OneTrackMaxBatch {
			break
		}
	}
	return out
}

// send uploads one batch and records what became of it.
func (c *Client) send(rows []eventdb.Event) bool {
	upload := c.DB.NextUpload()
	ctx, cancel := context.WithTimeout(context.Background(), c.App.Timeout)
	defer cancel()
	reply, err := c.post(ctx, rows)
	o := device.Outcome(upload, reply, err)
	if err == nil {
		c.DB.Sent(rows, o)
		return true
	}
	c.DB.Failed(rows, o)
	if c.Debug() {
		// Unit tests' immediate timing gives up at once (modeled).
		c.DB.Drop(rows, "debug-mode")
	}
	return false
}

func (c *Client) post(ctx context.Context, rows []eventdb.Event) (uplink.Reply, error) {
	key, sid, err := c.keys(ctx, rows[0])
	if err != nil {
		return uplink.Reply{Route: uplink.RouteOf(err)}, err
	}
	events := make([]map[string]any, len(rows))
	for i, r := range rows {
		events[i] = r.Data
	}
	body, err := protocols.SealOneTrack(key, events)
	if err != nil {
		return uplink.Reply{}, uplink.Fail("encode", err)
	}
	req, err := c.App.Request(ctx, http.MethodPost, rows[0].Host, rows[0].Path, body)
	if err != nil {
		return uplink.Reply{}, err
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set(protocols.OneTrackHeaderSID, sid)
	req.Header.Set(protocols.OneTrackHeaderTime, strconv.FormatInt(c.App.Clock.Now().UnixMilli(), 10))
	req.Header.Set(protocols.OneTrackHeaderNet, device.Type(c.App.Network))
	req.Header.Set(protocols.OneTrackHeaderSender, c.App.Package)
	req.Header.Set(protocols.OneTrackHeaderProtocol, protocols.OneTrackProtocol)
	reply, err := c.App.Send(ctx, req)
	if err != nil {
		return reply, err
	}
	// The reply's code decides (UploaderEngine.b): 0 accepted, -3 the key
	// expired and is fetched again before the next attempt.
	var r struct {
		Code *int `json:"code"`
	}
	switch {
	case json.Unmarshal(reply.Body, &r) != nil || r.Code == nil:
		return reply, uplink.Fail("rejected", fmt.Errorf("reply %d %.64q is not OneTrack's", reply.Status, reply.Body))
	case *r.Code == protocols.OneTrackKeyExpired:
		c.mu.Lock()
		c.key, c.sid = nil, ""
		c.mu.Unlock()
		return reply, uplink.Fail("key", errors.New("the server says the key expired"))
	case *r.Code != protocols.OneTrackOK:
		return reply, uplink.Fail("rejected", fmt.Errorf("reply code %d", *r.Code))
	}
	return reply, nil
}

// keys returns the AES key and session id, fetching them first if the
// client has none. The real SDK RSA-encrypts a key it made; the simulated
// server answers with the key to use (protocols: modeled), so what is sent
// only has to look the part.
func (c *Client) keys(ctx context.Context, to eventdb.Event) ([]byte, string, error) {
	c.mu.Lock()
	key, sid := c.key, c.sid
	c.mu.Unlock()
	if key != nil {
		return key, sid, nil
	}
	secret := make([]byte, 128)
	_, _ = rand.Read(secret)
	sk := base64.StdEncoding.EncodeToString(secret)
	sum := md5.Sum([]byte(sk + c.App.Identity.AndroidID))
	form := url.Values{"secretKey": {sk}, "sign": {hex.EncodeToString(sum[:])}}
	req, err := c.App.Request(ctx, http.MethodPost, to.Host, protocols.OneTrackKeyPath, []byte(form.Encode()))
	if err != nil {
		return nil, "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	reply, err := c.App.Send(ctx, req)
	if err != nil {
		return nil, "", err
	}
	key, sid, err = protocols.ParseOneTrackKeyReply(reply.Body)
	if err != nil {
		return nil, "", &uplink.SendError{Reason: "key", Route: reply.Route, Err: err}
	}
	c.mu.Lock()
	c.key, c.sid = key, sid
	c.mu.Unlock()
	return key, sid, nil
}

// event is the event as OneTrack stores it: a header "H" of identifiers
// and a body "B" of the event's own values (f/b.java: an event is valid
// only with both). International builds leave the IMEI and OAID out.
func (c *Client) event(name string, own map[string]any) map[string]any {
	id := c.App.Identity
	h := map[string]any{
		"event": name, "android_id": id.AndroidID, "mfrs": "Xiaomi", "model": id.Model, "platform": "Android",
		"miui": id.MIUIVersion, "build": id.Device, "os_ver": id.Android, "app_ver": c.App.Version,
		"e_ts": c.App.Clock.Now().UnixMilli(), "tz": "UTC", "net": device.Type(c.App.Network), "region": id.Region,
		"sdk_ver": protocols.OneTrackSDKVersion, "app_id": c.App.Package, "pkg": c.App.Package, "channel": "default",
	}
	if !id.International() {
		h["imei"] = id.IMEI
	}
	return map[string]any{"H": h, "B": own}
}
