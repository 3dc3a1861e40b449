// Package sensors is the Sensors Analytics Android SDK as an app on the
// simulated phone embeds it (the Mi Browser's "SensorDataAPI"): events
// stored in the app's database, uploaded 15 s after the first one queued,
// at once past 100, 50 to a request, and with $AppEnd and a synchronous
// flush 30 s after the app leaves the screen. Behaviour follows
// sa-sdk-android (SensorsAnalyticsSDK/src/main/java/com/sensorsdata/
// analytics/android/sdk/, 2020): AnalyticsMessages.java (enqueue, flush,
// sendData), SensorsDataActivityLifecycleCallbacks.java ($AppStart,
// $AppEnd); wire format and constants in telltale.dev/protocols.
package sensors

import (
	"context"
	"crypto/rand"
	"fmt"
	"math/big"
	"net/http"
	"sync"
	"time"

	"telltale.dev/devices/sim/event"
	"telltale.dev/devices/sim/netstack/uplink"
	"telltale.dev/devices/sim/sdk/device"
	"telltale.dev/devices/sim/sdk/eventdb"
	"telltale.dev/protocols"
)

// Message codes, as the SDK names them: AnalyticsMessages.FLUSH_QUEUE and
// the lifecycle callbacks' MESSAGE_CODE_APP_END.
const (
	flushQueue = 3
	appEnd     = 0
)

// LibVersion is the $lib_version the events carry. Which SDK version the
// Mi Browser embeds is not known (miui-ui.md section 8): modeled.
const LibVersion = "4.4.6"

// Client is the SDK in one app.
type Client struct {
	device.Core
	// host and path are the server URL the SDK was set up with, where its
	// own events ($AppStart, $AppEnd) go.
	host, path string

	mu sync.Mutex
	// foreground is true between the app's activity starting (at since)
	// and its leaving the screen (or its process dying); ended is when it
	// last left (0: never).
	foreground   bool
	since, ended time.Time
	started      bool // an $AppStart was ever tracked: $is_first_time
	// running is the app's process being alive since it last started:
	// $resume_from_background is the SDK's in-memory flag.
	running bool
	// owed is the session whose $AppEnd is not tracked yet. The SDK keeps
	// its start and end in its database (the end refreshed every 2 s while
	// the app is in front), so a process that dies before its $AppEnd
	// (force-stop, reboot) owes it to the next start past the session
	// interval, which tracks it first, its end 2 s on (onActivityStarted's
	// "超时尝试补发 $AppEnd", MESSAGE_CODE_APP_END with TIME_INTERVAL).
	owed *session
}

// session is one stretch of the app in front.
type session struct{ start, end time.Time }

// reissueDelay is what a reissued $AppEnd adds to the stored end
// (SensorsDataActivityLifecycleCallbacks.TIME_INTERVAL, 2000 ms).
const reissueDelay = 2 * time.Second

// New starts the SDK in app, set up to upload to https://host+path.
func New(app device.App, host, path string) *Client {
	c := &Client{Core: device.NewCore(app, protocols.SensorsAnalytics, protocols.SADatabase, flushQueue, appEnd), host: host, path: path}
	// The app's process dies with a reboot or a force-stop: its pending
	// messages die with it, its table stays. The activity lifecycle
	// follows the app leaving or reaching the front, and the display's
	// sleep, which stops the activity in front (onActivityStopped
	// schedules $AppEnd there as for leaving the app), and unlocking, which
	// starts it again (SensorsDataActivityLifecycleCallbacks; the sleep:
	// system/activity's screen).
	mine := func(pkg string, fn func()) {
		if pkg == app.Package {
			fn()
		}
	}
	c.Unsub = append(app.Watch(c.DB, c.died),
		event.On(app.Bus, func(e event.ActivityStarted) { mine(e.Package, c.activityStarted) }),
		event.On(app.Bus, func(e event.ActivityRestarted) { mine(e.Package, c.activityStarted) }),
		event.On(app.Bus, func(e event.AppBackgrounded) { mine(e.Package, c.activityStopped) }),
		event.On(app.Bus, func(e event.ActivityStopped) { mine(e.Package, c.activityStopped) }))
	return c
}

// Track queues an event named ev.Name whose own properties are ev.Data.
func (c *Client) Track(ev eventdb.Event) {
	ev.Data = c.event(ev.Name, ev.Data)
	c.enqueue(ev)
}

// enqueue stores ev and schedules the flush (enqueueEventMessage).
func (c *Client) enqueue(ev eventdb.Event) {
	if _, err := c.DB.Insert(ev); err != nil {
		c.App.Log.Warn("sensors analytics: event not stored", "app", c.App.Package, "event", ev.Name, "err", err)
		return
	}
	switch {
	case c.Debug() || c.DB.Len() > protocols.SAFlushBulkSize:
		c.H.Post(flushQueue, c.flush)
	case !c.H.Has(flushQueue):
		c.H.PostDelayed(flushQueue, protocols.SAFlushInterval, c.flush)
	}
}

// Resumed tells an SDK met after its app came to the front that it is
// there.
func (c *Client) Resumed() { c.activityStarted() }

// activityStarted: the first started activity after more than the session
// interval away tracks $AppStart, after the $AppEnd a dead process owed,
// and any pending $AppEnd is withdrawn (onActivityStarted). That the apps
// turn on the SDK's auto-tracking of $AppStart and $AppEnd is modeled
// (what the brief's $AppEnd flush presumes; Cîrlig saw screens viewed
// reported). Debug mode (immediate timing) leaves them out so that unit
// tests see only what they caused.
func (c *Client) activityStarted() {
	c.mu.Lock()
	if c.foreground {
		c.mu.Unlock()
		return
	}
	c.foreground = true
	now := c.App.Clock.Now()
	c.since = now
	timedOut := c.ended.IsZero() || now.Sub(c.ended) > protocols.SASessionInterval
	resumed, first := c.running && !c.ended.IsZero(), !c.started
	c.started = c.started || timedOut
	c.running = true
	owed := c.owed
	if timedOut {
		c.owed = nil
	}
	c.mu.Unlock()
	c.H.Remove(appEnd)
	if !timedOut || c.Debug() {
		return
	}
	if owed != nil {
		c.Track(c.appEnd(session{start: owed.start, end: owed.end.Add(reissueDelay)}))
	}
	c.Track(c.own("$AppStart", map[string]any{"$resume_from_background": resumed, "$is_first_time": first}))
}

// activityStopped: the app left the screen; $AppEnd follows after the
// session interval with a synchronous flush (onActivityStopped, trackAppEnd).
func (c *Client) activityStopped() {
	c.mu.Lock()
	if !c.foreground {
		c.mu.Unlock()
		return
	}
	s := c.leave()
	c.mu.Unlock()
	if c.Debug() {
		return
	}
	c.H.PostDelayed(appEnd, protocols.SASessionInterval, func() {
		c.mu.Lock()
		c.owed = nil
		c.mu.Unlock()
		c.Track(c.appEnd(s))
		c.flush() // flushSync
	})
}

// leave ends the session in front, which owes its $AppEnd; c.mu is held.
func (c *Client) leave() session {
	c.foreground = false
	c.ended = c.App.Clock.Now()
	s := session{start: c.since, end: c.ended}
	c.owed = &s
	return s
}

// appEnd is the $AppEnd of session s.
func (c *Client) appEnd(s session) eventdb.Event {
	return c.own("$AppEnd", map[string]any{"event_time": s.end.UnixMilli(),
		"event_duration": fmt.Sprintf("%.3f", s.end.Sub(s.start).Seconds())})
}

// own is one of the SDK's own events.
func (c *Client) own(name string, props map[string]any) eventdb.Event {
	return eventdb.Event{Name: name, Host: c.host, Path: c.path, Format: "sa", Data: props}
}

// died is the app's process ending: its messages die with it (a pending
// $AppEnd stays owed), and an app in front leaves it where it stood
// (modeled: the 2-s refresh of the stored end is taken as the moment of
// death).
func (c *Client) died() {
	c.H.RemoveAll()
	c.mu.Lock()
	if c.foreground {
		c.leave()
	}
	c.running = false
	c.mu.Unlock()
}

// flush sends the table 50 events at a time until it is empty or a request
// fails (sendData). Without a network it sends nothing and the events wait.
func (c *Client) flush() {
	if !device.Online(c.App.Network) {
		return
	}
	batch := protocols.SABatchSize
	if c.Debug() {
		batch = protocols.SADebugBatchSize
	}
	for {
		rows, err := c.DB.Rows()
		if err != nil {
			c.App.Log.Warn("sensors analytics: table unreadable", "app", c.App.Package, "err", err)
			return
		}
		rows = sameEndpoint(rows, batch)
		if len(rows) == 0 || !c.upload(rows) {
			return
		}
	}
}

// sameEndpoint is up to n of the oldest rows that go where the oldest goes.
func sameEndpoint(rows []eventdb.Event, n int) []eventdb.Event {
	var out []eventdb.Event
	for _, r := range rows {
		if len(out) == n {
			break
		}
		if r.Host == rows[0].Host && r.Path == rows[0].Path {
			out = append(out, r)
		}
	}
	return out
}

// upload sends one request; true when the events left the table.
func (c *Client) upload(rows []eventdb.Event) bool {
	upload := c.DB.NextUpload()
	flushTime := c.App.Clock.Now().UnixMilli()
	events := make([]map[string]any, len(rows))
	for i, r := range rows {
		ev := make(map[string]any, len(r.Data)+1)
		for k, v := range r.Data {
			ev[k] = v
		}
		ev["_flush_time"] = flushTime
		events[i] = ev
	}
	reply, err := c.post(rows[0], events)
	o := device.Outcome(upload, reply, err)
	if err == nil {
		c.DB.Sent(rows, o)
		return true
	}
	c.DB.Failed(rows, o)
	switch {
	case c.Debug():
		// Debug mode deletes events whatever became of their request.
		c.DB.Drop(rows, "debug-mode")
	case reply.Status != 0 && !protocols.SAKeepsEvents(reply.Status):
		c.DB.Drop(rows, "rejected")
	}
	return false
}

func (c *Client) post(to eventdb.Event, events []map[string]any) (uplink.Reply, error) {
	body, err := protocols.EncodeSA(events)
	if err != nil {
		return uplink.Reply{}, uplink.Fail("encode", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.App.Timeout)
	defer cancel()
	req, err := c.App.Request(ctx, http.MethodPost, to.Host, to.Path, body)
	if err != nil {
		return uplink.Reply{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.App.Send(ctx, req)
}

// event builds a track event with the SDK's preset properties, read when
// the event is tracked (telemetry.md "Sensors Analytics").
func (c *Client) event(name string, own map[string]any) map[string]any {
	id := c.App.Identity
	nettype := device.Type(c.App.Network)
	props := map[string]any{
		"$os": "Android", "$os_version": id.Android, "$manufacturer": "Xiaomi", "$model": id.Model,
		"$brand": id.Brand, "$app_version": c.App.Version, "$screen_width": 1080, "$screen_height": 2340,
		"$carrier": "", "$device_id": id.AndroidID, "$timezone_offset": 0, "$app_id": c.App.Package, "$app_name": c.App.Package,
		"$wifi": nettype == device.TypeWifi, "$network_type": nettype, "$is_first_day": false, "miui_version": id.MIUIVersion,
	}
	for k, v := range own {
		props[k] = v
	}
	return map[string]any{
		"_track_id": randInt(1 << 31), "time": c.App.Clock.Now().UnixMilli(), "type": "track",
		"distinct_id": id.AndroidID, "anonymous_id": id.AndroidID, "login_id": "", "event": name,
		"lib":        map[string]any{"$lib": "Android", "$lib_version": LibVersion, "$app_version": c.App.Version, "$lib_method": "code"},
		"properties": props,
	}
}

func randInt(n int64) int64 {
	v, err := rand.Int(rand.Reader, big.NewInt(n))
	if err != nil {
		return 0
	}
	return v.Int64()
}
