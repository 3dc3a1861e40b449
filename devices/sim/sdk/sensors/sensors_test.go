package sensors_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"telltale.dev/devices/sim/event"
	"telltale.dev/devices/sim/sdk/device"
	"telltale.dev/devices/sim/sdk/eventdb"
	"telltale.dev/devices/sim/sdk/groundtruth"
	"telltale.dev/devices/sim/sdk/sdktest"
	"telltale.dev/devices/sim/sdk/sensors"
	"telltale.dev/protocols"
)

const browser = "com.mi.globalbrowser"

var saHost, saPath = "sa.api.intl.miui.com", protocols.SAUploadPath("mibrowser_global")

func start(t *testing.T, timing device.Timing) (*sdktest.Rig, *sensors.Client) {
	t.Helper()
	r := sdktest.New(t, timing)
	c := sensors.New(r.App(browser), saHost, saPath)
	t.Cleanup(c.Close)
	return r, c
}

func visit(c *sensors.Client, url string) {
	c.Track(eventdb.Event{Name: "browser_visit", Host: saHost, Path: saPath,
		Format: "sa", Action: "browse-incognito", Values: map[string]string{"url": url}, Data: map[string]any{"url": url}})
}

// uploads are the SA requests the proxy got since the last call: for each,
// its events' names (and url) and their _flush_time relative to the start.
func uploads(t *testing.T, r *sdktest.Rig) []string {
	t.Helper()
	var out []string
	for _, q := range r.NewRequests() {
		evs, err := protocols.DecodeSA(q.Body)
		if err != nil {
			t.Fatalf("request %s%s: %v", q.Host, q.Path, err)
		}
		var names []string
		flushed := ""
		for _, ev := range evs {
			name := ev["event"].(string)
			if u, ok := ev["properties"].(map[string]any)["url"]; ok {
				name += "(" + u.(string) + ")"
			}
			names = append(names, name)
			ft := time.UnixMilli(int64(ev["_flush_time"].(float64)))
			flushed = ft.Sub(sdktest.Start).String()
		}
		out = append(out, flushed+" "+strings.Join(names, ","))
	}
	return out
}

var eq = sdktest.Equal

// states is the ground truth since the last call as "event state@time".
func states(t *testing.T, r *sdktest.Rig) []string {
	t.Helper()
	var out []string
	for _, rec := range r.Records(t) {
		s := fmt.Sprintf("%s %s@%s", rec.Event, rec.State, rec.Time.Sub(sdktest.Start))
		if rec.Reason != "" {
			s += "(" + rec.Reason + ")"
		}
		out = append(out, s)
	}
	return out
}

// The first queued event starts a 15 s flush timer; later events ride in
// the same upload, which stamps _flush_time (AnalyticsMessages).
func TestFlushFifteenSecondsAfterTheFirstEvent(t *testing.T) {
	r, c := start(t, device.Realistic)
	visit(c, "https://one.example/")
	r.Advance(t, 5*time.Second, c)
	visit(c, "https://two.example/")
	r.Advance(t, 10*time.Second-time.Millisecond, c)
	eq(t, "before 15 s", uploads(t, r))
	if q := c.Queue(); q.Length != 2 || !q.Next.Equal(sdktest.Start.Add(15*time.Second)) {
		t.Errorf("queue before the flush: %+v", q)
	}
	r.Advance(t, time.Millisecond, c)
	eq(t, "at 15 s", uploads(t, r), "15s browser_visit(https://one.example/),browser_visit(https://two.example/)")
	eq(t, "ground truth", states(t, r), "browser_visit queued@0s", "browser_visit queued@5s", "browser_visit sent@15s", "browser_visit sent@15s")
	if q := c.Queue(); q.Length != 0 || !q.Next.IsZero() {
		t.Errorf("queue after the flush: %+v", q)
	}
}

// Past 100 queued events the SDK flushes at once, 50 to a request, until
// the table is empty.
func TestBulkFlushFiftyToARequest(t *testing.T) {
	r, c := start(t, device.Realistic)
	for i := range protocols.SAFlushBulkSize {
		visit(c, fmt.Sprintf("https://%d.example/", i))
	}
	sdktest.Wait(t, c)
	eq(t, "at 100 queued", uploads(t, r))
	visit(c, "https://last.example/")
	sdktest.Wait(t, c)
	var sizes []int
	for _, q := range r.Proxy.Requests() {
		evs, err := protocols.DecodeSA(q.Body)
		if err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, len(evs))
	}
	if fmt.Sprint(sizes) != "[50 50 1]" {
		t.Errorf("requests carried %v events, want [50 50 1]", sizes)
	}
	if got := groundtruth.Uploads(r.Records(t)); got != 3 {
		t.Errorf("ground truth counts %d uploads", got)
	}
}

// The app leaving the screen tracks $AppEnd 30 s later and flushes at once;
// coming back within 30 s withdraws it, and only a start after more than
// 30 s away is a new session with its $AppStart
// (SensorsDataActivityLifecycleCallbacks).
func TestAppEndFlushesThirtySecondsAfterLeaving(t *testing.T) {
	r, c := start(t, device.Realistic)
	r.Bus.Publish(event.ActivityStarted{Package: browser})
	visit(c, "https://canary.example/")
	r.Advance(t, 2*time.Second, c)
	r.Bus.Publish(event.AppBackgrounded{Package: browser})
	r.Advance(t, 13*time.Second, c)
	eq(t, "the 15 s flush", uploads(t, r), "15s $AppStart,browser_visit(https://canary.example/)")
	r.Advance(t, 10*time.Second, c)
	visit(c, "https://late.example/") // at 25 s: its flush is due at 40 s
	r.Advance(t, 7*time.Second-time.Millisecond, c)
	eq(t, "before $AppEnd", uploads(t, r))
	r.Advance(t, time.Millisecond, c)
	eq(t, "$AppEnd at 32 s", uploads(t, r), "32s browser_visit(https://late.example/),$AppEnd")

	r.Advance(t, 8*time.Second, c)
	r.Bus.Publish(event.ActivityStarted{Package: browser}) // at 40 s, 38 s after leaving: a new session
	r.Advance(t, time.Second, c)
	r.Bus.Publish(event.AppBackgrounded{Package: browser})
	r.Advance(t, 20*time.Second, c)
	r.Bus.Publish(event.ActivityStarted{Package: browser}) // back 20 s later: no $AppEnd, no $AppStart
	r.Advance(t, 10*time.Minute, c)
	eq(t, "a return within the session", uploads(t, r), "55s $AppStart")
}

// Without a network nothing is sent and the events wait; an upload that
// fails keeps them for the next flush, which a new event schedules.
func TestNoNetworkAndFailuresKeepEvents(t *testing.T) {
	r, c := start(t, device.Realistic)
	r.Wifi.Set(false)
	visit(c, "https://offline.example/")
	r.Advance(t, time.Minute, c)
	eq(t, "offline", uploads(t, r))
	eq(t, "offline truth", states(t, r), "browser_visit queued@0s")
	r.Wifi.Set(true)
	r.SetReverse(false)
	visit(c, "https://unreachable.example/")
	r.Advance(t, 15*time.Second, c)
	eq(t, "unreachable truth", states(t, r), "browser_visit queued@1m0s",
		"browser_visit failed@1m15s(no-reverse)", "browser_visit failed@1m15s(no-reverse)")
	r.SetReverse(true)
	r.Advance(t, time.Hour, c)
	eq(t, "nothing retries by itself", uploads(t, r))
	visit(c, "https://again.example/")
	r.Advance(t, 15*time.Second, c)
	eq(t, "the next flush", uploads(t, r),
		"1h1m30s browser_visit(https://offline.example/),browser_visit(https://unreachable.example/),browser_visit(https://again.example/)")
	recs := r.Records(t)
	for _, rec := range recs[1:] {
		want := 2
		if rec.Values["url"] == "https://again.example/" {
			want = 1
		}
		if rec.State != groundtruth.Sent || rec.Attempt != want {
			t.Errorf("%s: %s attempt %d, want sent at attempt %d", rec.Values["url"], rec.State, rec.Attempt, want)
		}
	}
}

// A reboot kills the app with its flush timer; the table survives and goes
// with the flush that the app's next start schedules.
func TestRebootKeepsQueuedEvents(t *testing.T) {
	r, c := start(t, device.Realistic)
	visit(c, "https://before-reboot.example/")
	r.Advance(t, 5*time.Second, c)
	r.Bus.Publish(event.Rebooted{})
	r.Advance(t, 10*time.Minute, c)
	eq(t, "after the reboot", uploads(t, r))
	if q := c.Queue(); q.Length != 1 || !q.Next.IsZero() {
		t.Errorf("queue after the reboot: %+v", q)
	}
	r.Bus.Publish(event.ActivityStarted{Package: browser}) // the app's process starts anew
	r.Advance(t, 15*time.Second, c)
	eq(t, "the next start", uploads(t, r), "10m20s browser_visit(https://before-reboot.example/),$AppStart")
}

// Debug mode (immediate timing) sends each event at once in its own request
// and drops it whatever became of it; it tracks no lifecycle events.
func TestDebugModeSendsAtOnce(t *testing.T) {
	r, c := start(t, device.Immediate)
	r.Bus.Publish(event.ActivityStarted{Package: browser})
	visit(c, "https://one.example/")
	visit(c, "https://two.example/")
	sdktest.Wait(t, c)
	eq(t, "debug mode", uploads(t, r), "0s browser_visit(https://one.example/)", "0s browser_visit(https://two.example/)")
	r.SetReverse(false)
	visit(c, "https://lost.example/")
	sdktest.Wait(t, c)
	r.Records(t)
	r.SetReverse(true)
	visit(c, "https://three.example/")
	sdktest.Wait(t, c)
	eq(t, "after a failure", uploads(t, r), "0s browser_visit(https://three.example/)")
}

// Clearing the app's data drops its queue.
func TestDataClearedDropsTheQueue(t *testing.T) {
	r, c := start(t, device.Realistic)
	visit(c, "https://cleared.example/")
	r.Records(t)
	r.Bus.Publish(event.PackageDataCleared{Package: browser})
	r.Advance(t, time.Minute, c)
	eq(t, "after pm clear", states(t, r), "browser_visit dropped@0s(data-cleared)")
	if n := len(r.Proxy.Requests()); n != 0 {
		t.Errorf("%d requests after the data was cleared", n)
	}
}
