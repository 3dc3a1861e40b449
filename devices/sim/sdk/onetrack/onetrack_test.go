package onetrack_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"telltale.dev/devices/sim/event"
	"telltale.dev/devices/sim/sdk/device"
	"telltale.dev/devices/sim/sdk/eventdb"
	"telltale.dev/devices/sim/sdk/groundtruth"
	"telltale.dev/devices/sim/sdk/onetrack"
	"telltale.dev/devices/sim/sdk/sdktest"
	"telltale.dev/protocols"
)

const app = "com.miui.powerkeeper"

func start(t *testing.T, timing device.Timing) (*sdktest.Rig, *onetrack.Client) {
	t.Helper()
	r := sdktest.New(t, timing)
	c := onetrack.New(r.App(app))
	t.Cleanup(c.Close)
	return r, c
}

func track(c *onetrack.Client, name string, prio int) {
	c.Track(eventdb.Event{Name: name, Priority: prio, Host: "tracking.intl.miui.com", Path: protocols.OneTrackUploadPath,
		Format: "onetrack", Action: "charge", Values: map[string]string{"plugged": "ac"}, Data: map[string]any{"plugged": "ac", "level": 57}})
}

// uploads lists what reached the proxy since the last call: "key" for a
// key exchange, "T name,name" for an upload, its events opened with the key.
func uploads(t *testing.T, r *sdktest.Rig) []string {
	t.Helper()
	var out []string
	for _, q := range r.NewRequests() {
		if q.Path == protocols.OneTrackKeyPath {
			out = append(out, "key")
			continue
		}
		ms, _ := strconv.ParseInt(q.Header.Get(protocols.OneTrackHeaderTime), 10, 64)
		at := time.UnixMilli(ms).Sub(sdktest.Start).String()
		js, err := protocols.OpenOneTrack(r.Proxy.Key, q.Body)
		if err != nil {
			t.Fatalf("upload at %s: %v", at, err)
		}
		var evs []map[string]map[string]any
		if err := json.Unmarshal(js, &evs); err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, ev := range evs {
			names = append(names, ev["H"]["event"].(string))
		}
		out = append(out, at+" "+strings.Join(names, ","))
	}
	return out
}

var eq = sdktest.Equal

// Each priority waits its own interval (1 s, 15 s, 15 min); an upload takes
// every queued event, most urgent first, once the most urgent is of its
// priority; the key is fetched before the first upload only.
func TestPriorities(t *testing.T) {
	r, c := start(t, device.Realistic)
	track(c, "slow", 2)
	r.Advance(t, 10*time.Second, c)
	track(c, "normal", 1)
	track(c, "urgent", 0)
	r.Advance(t, time.Second-time.Millisecond, c)
	eq(t, "before 1 s", uploads(t, r))
	r.Advance(t, time.Millisecond, c)
	eq(t, "the priority-0 upload", uploads(t, r), "key", "11s urgent,normal,slow")
	// The timers outlive the events they were set for: this priority-1
	// event goes with the timer the first one set at 10 s, the next
	// priority-2 one with the timer the first set at 0 s (UploadTimer keeps
	// a pending message).
	track(c, "normal", 1)
	r.Advance(t, 14*time.Second, c)
	eq(t, "priority 1", uploads(t, r), "25s normal")
	track(c, "slow", 2)
	r.Advance(t, 15*time.Minute-25*time.Second-time.Millisecond, c)
	eq(t, "before 15 min", uploads(t, r))
	r.Advance(t, time.Millisecond, c)
	eq(t, "priority 2", uploads(t, r), "15m0s slow")
	track(c, "slow", 2)
	r.Advance(t, 15*time.Minute, c)
	eq(t, "a priority-2 timer of its own", uploads(t, r), "30m0s slow")
	if q := c.Queue(); q.Length != 0 {
		t.Errorf("queue: %+v", q)
	}
}

// A failed upload arms the retry: 10 s, then doubling; while it is armed
// new events wait for it; a success sets it back to 10 s.
func TestRetryDoubles(t *testing.T) {
	r, c := start(t, device.Realistic)
	r.SetReverse(false)
	track(c, "charging", 1)
	var tries []string
	for _, d := range []time.Duration{15 * time.Second, 10 * time.Second, 20 * time.Second, 40 * time.Second} {
		r.Advance(t, d, c)
		for _, rec := range r.Records(t) {
			if rec.Reason != "" {
				tries = append(tries, fmt.Sprintf("%s@%s", rec.Reason, rec.Time.Sub(sdktest.Start)))
			}
		}
	}
	eq(t, "failed attempts", tries, "no-reverse@15s", "no-reverse@25s", "no-reverse@45s", "no-reverse@1m25s")
	if q := c.Queue(); q.Length != 1 || !q.Next.Equal(sdktest.Start.Add(2*time.Minute+45*time.Second)) {
		t.Errorf("queue in retry: %+v", q)
	}
	track(c, "urgent", 0) // the retry is pending: no upload of its own
	r.SetReverse(true)
	r.Advance(t, 80*time.Second-time.Millisecond, c)
	eq(t, "waiting for the retry", uploads(t, r))
	r.Advance(t, time.Millisecond, c)
	eq(t, "the retry", uploads(t, r), "key", "2m45s urgent,charging")
	var sent []string
	for _, rec := range r.Records(t) {
		if rec.State == groundtruth.Sent {
			sent = append(sent, fmt.Sprintf("%s attempt %d in %s", rec.Event, rec.Attempt, rec.Upload))
		}
	}
	eq(t, "sent lines", sent, "charging attempt 5 in com.miui.powerkeeper/onetrack/5", "urgent attempt 1 in com.miui.powerkeeper/onetrack/5")
	// Back to 10 s after a success.
	r.SetReverse(false)
	track(c, "charging", 1)
	r.Advance(t, 15*time.Second, c)
	r.SetReverse(true)
	r.Advance(t, 10*time.Second, c)
	eq(t, "a retry after a success", uploads(t, r), "3m10s charging")
}

// Without a network the timers do nothing; a network coming up schedules
// every priority; the screen turning on asks for priority 0 only.
func TestNetworkAndScreen(t *testing.T) {
	r, c := start(t, device.Realistic)
	r.Wifi.Set(false)
	track(c, "charging", 1)
	r.Advance(t, time.Hour, c)
	eq(t, "offline", uploads(t, r))
	if recs := r.Records(t); len(recs) != 1 {
		t.Errorf("offline ground truth: %+v", recs)
	}
	r.Bus.Publish(event.ScreenChanged{On: true})
	r.Advance(t, time.Minute, c)
	eq(t, "screen on while offline", uploads(t, r))
	r.Wifi.Set(true)
	r.Advance(t, 15*time.Second, c)
	eq(t, "back online", uploads(t, r), "key", "1h1m15s charging")
}

// The event is OneTrack's header and body; a global build sends no IMEI;
// the body is opaque without the key; the headers name the sender.
func TestEventAndHeaders(t *testing.T) {
	r, c := start(t, device.Immediate)
	track(c, "battery_charging", 1)
	sdktest.Wait(t, c)
	reqs := r.Proxy.Requests()
	if len(reqs) != 2 {
		t.Fatalf("requests: %d", len(reqs))
	}
	up := reqs[1]
	for _, h := range []string{"OT_SID", "OT_ts", "OT_net", "OT_protocol"} {
		if up.Header.Get(h) == "" {
			t.Errorf("upload lacks %s", h)
		}
	}
	if up.Header.Get("OT_sender") != app || up.Header.Get("Content-Type") != "application/octet-stream" || bytes.Contains(up.Body, []byte("plugged")) {
		t.Errorf("upload headers %v", up.Header)
	}
	js, err := protocols.OpenOneTrack(r.Proxy.Key, up.Body)
	if err != nil {
		t.Fatal(err)
	}
	var evs []map[string]map[string]any
	if err := json.Unmarshal(js, &evs); err != nil {
		t.Fatal(err)
	}
	h, b := evs[0]["H"], evs[0]["B"]
	if h["event"] != "battery_charging" || h["android_id"] != sdktest.Identity.AndroidID || h["pkg"] != app || h["net"] != "WIFI" ||
		b["plugged"] != "ac" || b["level"] != float64(57) {
		t.Errorf("event %s", js)
	}
	if _, ok := h["imei"]; ok {
		t.Errorf("a global build sent the IMEI: %s", js)
	}
}

// Debug mode uploads at once and gives up after a failure; a reboot ends
// the key, so the next upload fetches a new one.
func TestDebugModeAndReboot(t *testing.T) {
	r, c := start(t, device.Immediate)
	track(c, "one", 2)
	sdktest.Wait(t, c)
	r.SetReverse(false)
	track(c, "lost", 2)
	sdktest.Wait(t, c)
	r.SetReverse(true)
	r.Bus.Publish(event.Rebooted{})
	sdktest.Wait(t, c)
	track(c, "two", 2)
	sdktest.Wait(t, c)
	eq(t, "debug mode", uploads(t, r), "key", "0s one", "key", "0s two")
}
