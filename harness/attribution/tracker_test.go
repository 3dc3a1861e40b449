package attribution

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"telltale.dev/fixtures/canary"
	"telltale.dev/harness/capture"
	"telltale.dev/harness/leak"
)

// seeAll is the plan of a window that expects each canary somewhere.
func seeAll(cs []canary.Canary) Plan {
	return Plan{Seen: func(v *View) bool {
		for _, c := range cs {
			if !slices.ContainsFunc(v.Places(), func(p leak.Place) bool { return p.Canary == c.ID }) {
				return false
			}
		}
		return true
	}}
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// TestWindowEndsWhenWhatItExpectsArrives: a window whose plan is met ends
// then, not at its timeout (a minute here: the test would take that long
// if it waited), and holds the leak with its chain and delay.
func TestWindowEndsWhenWhatItExpectsArrives(t *testing.T) {
	ctx := testCtx(t)
	m := newMemLog()
	tr := New(m, Options{Timeout: time.Minute, Flush: time.Minute})
	if _, err := tr.Baseline(ctx, time.Millisecond); err != nil {
		t.Fatal(err)
	}
	c := canary.NewGenerator(1).URL("url-1")
	tr.Arm("browse-incognito", seeAll)
	r, err := tr.Run(ctx, "browse-incognito", []canary.Canary{c}, func(context.Context) error {
		m.add(configFetch(1), visit(c))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if r.Ended != EndSeen {
		t.Fatalf("window ended %q, want %q", r.Ended, EndSeen)
	}
	if len(r.Places) != 1 || r.Places[0].Host != "sa.api.intl.miui.com" || r.Places[0].Requests != 1 ||
		!strings.HasPrefix(strings.Join(r.Places[0].Chain, " > "), "form:data_list > base64 > gzip > json:") {
		t.Fatalf("places %+v", r.Places)
	}
	if r.Report.Entries != 2 || len(r.Report.Findings) != 1 || r.Report.Findings[0].Entry != 1 {
		t.Errorf("report %+v: want the window's 2 requests, the leak in the second", r.Report)
	}
	if len(r.Flows) != 2 || r.StartSeq >= r.Flows[0].Seq || r.EndSeq <= r.Flows[1].Seq {
		t.Errorf("window [%d, %d] holds %d flows", r.StartSeq, r.EndSeq, len(r.Flows))
	}
	if !slices.Contains(r.Diff.Hosts, "sa.api.intl.miui.com") {
		t.Errorf("diff %+v lacks the upload's host", r.Diff)
	}
}

// TestLateLeakIsItsActionsWithItsDelay: an upload held past its window
// (the window times out, the next action's window is open when it comes)
// is attributed by its canary to the action that planted it, as late,
// with its delay from the planting; the next action gets nothing.
func TestLateLeakIsItsActionsWithItsDelay(t *testing.T) {
	ctx := testCtx(t)
	m := newMemLog()
	tr := New(m, Options{Timeout: 20 * time.Millisecond, Flush: time.Millisecond})
	g := canary.NewGenerator(2)
	first, second := g.URL("url-1"), g.Folder("folder-2")
	tr.Arm("browse-incognito", seeAll)
	r1, err := tr.Run(ctx, "browse-incognito", []canary.Canary{first}, func(context.Context) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	if r1.Ended != EndTimeout || len(r1.Places) != 0 {
		t.Fatalf("first window ended %q with %v; want a timeout with nothing", r1.Ended, r1.Places)
	}
	var planted time.Time
	for _, f := range m.flows {
		if f.Mark == "start:"+r1.Window {
			planted = f.Start
		}
	}
	late := visit(first)
	late.Start = planted.Add(17 * time.Second) // the SDK's batch, as the proxy stamps it
	r2, err := tr.Run(ctx, "create-folder", []canary.Canary{second}, func(context.Context) error {
		m.add(late)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(r2.Places) != 0 || len(r2.Flows) != 1 {
		t.Fatalf("the second window took the first action's leak: %+v (%d flows)", r2.Places, len(r2.Flows))
	}
	// Nor does it count in the second window's differential view: the
	// batch is the first action's, found by its canary.
	if len(r2.Diff.Hosts) != 0 || len(r2.Diff.Paths) != 0 {
		t.Errorf("the second window's diff %+v holds the first action's late upload", r2.Diff)
	}
	sw, err := tr.Sweep(ctx)
	if err != nil || sw.Reported {
		t.Fatalf("sweep: %v, reported %v", err, sw.Reported)
	}
	got := tr.Late(r1)
	if len(got) != 1 || got[0].Canary != first.ID || got[0].Seq <= r1.EndSeq || got[0].Delay != 17*time.Second {
		t.Fatalf("late places of the first action: %+v", got)
	}
	if got[0].Planted.Seq != r1.StartSeq {
		t.Errorf("planted at seq %d, want the window's start mark %d", got[0].Planted.Seq, r1.StartSeq)
	}
	if l := tr.Late(r2); len(l) != 0 {
		t.Errorf("the second action has late places %+v", l)
	}
}

// TestPipelineAttributesAsWindowsDo: the same phone behaviour (each
// upload after its action, the last after every action ran) gives each
// canary the same places in window mode and with --pipeline, where the
// windows stay open until the sweep ends them together.
func TestPipelineAttributesAsWindowsDo(t *testing.T) {
	ctx := testCtx(t)
	places := map[bool]map[string]string{}
	for _, pipeline := range []bool{false, true} {
		m := newMemLog()
		tr := New(m, Options{Timeout: time.Minute, Flush: time.Millisecond, Pipeline: pipeline})
		g := canary.NewGenerator(3)
		cs := []canary.Canary{g.URL("url-1"), g.Search("search-2"), g.Folder("folder-3")}
		var pending []canary.Canary // what the phone has queued
		var results []*Result
		for _, c := range cs {
			tr.Arm("act", seeAll)
			r, err := tr.Run(ctx, "act", []canary.Canary{c}, func(context.Context) error {
				for _, p := range pending {
					m.add(visit(p)) // the earlier action's batch leaves now
				}
				pending = []canary.Canary{c}
				if !pipeline {
					m.add(visit(c)) // in window mode the window waits for it
					pending = nil
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if r.Open != pipeline {
				t.Fatalf("pipeline %v: window open %v", pipeline, r.Open)
			}
			results = append(results, r)
		}
		m.onMark = nil
		for _, p := range pending {
			m.add(visit(p))
		}
		sw, err := tr.Sweep(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if pipeline && len(sw.Ended) != len(cs) {
			t.Fatalf("the sweep ended %d windows, want %d", len(sw.Ended), len(cs))
		}
		places[pipeline] = map[string]string{}
		for _, r := range results {
			if r.Open || r.EndSeq == 0 {
				t.Fatalf("pipeline %v: %s still open after the sweep", pipeline, r.Window)
			}
			if pipeline && r.Ended != EndSwept {
				t.Errorf("%s ended %q, want %q", r.Window, r.Ended, EndSwept)
			}
			if l := tr.Late(r); len(l) != 0 {
				t.Errorf("pipeline %v: %s has late places %+v", pipeline, r.Window, l)
			}
			for _, p := range r.Places {
				places[pipeline][p.Canary] = p.Host + " " + strings.Join(p.Chain, " > ")
			}
		}
	}
	if len(places[false]) != 3 || !mapsEqual(places[false], places[true]) {
		t.Fatalf("window mode %v\npipeline    %v", places[false], places[true])
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// queuePhone scripts dumpsys on a phone that reports its queues: it holds
// n events until the test lets them go.
type queuePhone struct {
	held atomic.Int32
	// onRead runs on each read of the queues, before the answer.
	onRead func()
}

func (q *queuePhone) shell(cmd string) (string, error) {
	switch cmd {
	case "dumpsys -l":
		return "Currently running services:\n  activity\n  " + QueueService + "\n  window\n", nil
	case "dumpsys " + QueueService:
		if q.onRead != nil {
			q.onRead()
		}
		n := q.held.Load()
		next := "next_flush=none"
		if n > 0 {
			next = "next_flush=2020-04-30T12:00:15.000Z in_ms=12000"
		}
		return "Telltale telemetry queues (simulated phone only: real phones have no telltale_telemetry service)\n" +
			"now=2020-04-30T12:00:03.000Z timing=realistic network=WIFI\n" +
			"queue sdk=sensors-analytics app=com.mi.globalbrowser length=" + itoa(n) + " " + next + " db=/data/data/com.mi.globalbrowser/databases/sensorsdata\n" +
			"queue sdk=onetrack app=com.miui.analytics length=0 next_flush=none db=/data/data/com.miui.analytics/databases/onetrack\n" +
			"total length=" + itoa(n) + " " + next + "\n", nil
	}
	return "", nil
}

func itoa(n int32) string { return strconv.Itoa(int(n)) }

// TestNothingExpectedWaitsForTheQueues: a window that expects nothing (a
// leak that must not happen) ends when the phone's queues are empty, so
// an upload the phone still held has come by then; a sweep waits for the
// same, and says so when the queues do not drain in time.
func TestNothingExpectedWaitsForTheQueues(t *testing.T) {
	ctx := testCtx(t)
	m := newMemLog()
	q := &queuePhone{}
	m.shell = q.shell
	tr := New(m, Options{Timeout: time.Minute, Flush: time.Minute, Drain: 50 * time.Millisecond})
	c := canary.NewGenerator(4).URL("url-1")
	q.held.Store(1)
	reads := 0
	q.onRead = func() {
		if reads++; reads == 2 { // the SDK's flush time comes while the harness waits
			m.add(visit(c))
			q.held.Store(0)
		}
	}
	r, err := tr.Run(ctx, "browse-incognito", []canary.Canary{c}, func(context.Context) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	if r.Ended != EndDrained || len(r.Places) != 1 {
		t.Fatalf("window ended %q with places %+v; want drained, with the upload", r.Ended, r.Places)
	}
	q.onRead = nil
	q.held.Store(2)
	sw, err := tr.Sweep(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !sw.Reported || sw.Drained || sw.Queued() != 2 || len(sw.Queues) != 2 {
		t.Fatalf("sweep %+v: want the 2 events it could not drain reported", sw)
	}
	if s := sw.Queues[0].String(); s != "sensors-analytics in com.mi.globalbrowser: 2 queued, next upload in 12s" {
		t.Errorf("queue reads %q", s)
	}
}

// TestWindowWithoutCanaryStartsQuiet: an action that plants nothing (lock
// the screen) is judged by what its window adds, so it starts only once
// the phone has sent what earlier actions queued: a held batch that goes
// out meanwhile is not in its window, and its own request is.
func TestWindowWithoutCanaryStartsQuiet(t *testing.T) {
	ctx := testCtx(t)
	m := newMemLog()
	q := &queuePhone{}
	m.shell = q.shell
	tr := New(m, Options{Timeout: 20 * time.Millisecond, Flush: time.Minute, Drain: time.Minute})
	q.held.Store(1)
	reads := 0
	q.onRead = func() {
		if reads++; reads == 2 { // the earlier action's batch, no canary in it
			m.add(saUpload("app_open", map[string]any{"$screen_name": "BrowserActivity"}))
			q.held.Store(0)
		}
	}
	lock := capture.Flow{Kind: capture.KindHTTP, Request: &capture.Request{
		Method: "POST", URL: "https://data.mistat.intl.xiaomi.com/mistats/v3", Proto: "HTTP/1.1"},
		Response: &capture.Response{Status: 200, Proto: "HTTP/1.1"}}
	r, err := tr.Run(ctx, "lock-screen", nil, func(context.Context) error {
		m.add(lock)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if reads < 2 || len(r.Flows) != 1 || !slices.Equal(r.Diff.Hosts, []string{"data.mistat.intl.xiaomi.com"}) {
		t.Fatalf("after %d queue reads the window holds %d flows, diff %+v; want only the lock's request", reads, len(r.Flows), r.Diff)
	}
}

// TestNudgesRunAndARefusalStopsTheAction: the profile's nudges run after
// every action and before the sweep waits; a phone that refuses one (MIUI
// without its USB debugging security toggle) fails the action with what to
// do, and the window is still closed.
func TestNudgesRunAndARefusalStopsTheAction(t *testing.T) {
	ctx := testCtx(t)
	m := newMemLog()
	refuse := false
	m.shell = func(cmd string) (string, error) {
		if strings.HasPrefix(cmd, "input") && refuse {
			return "java.lang.SecurityException: Injecting to another application requires INJECT_EVENTS permission\n\tat android.os.Parcel.createException(Parcel.java:2071)", nil
		}
		return "", nil
	}
	tr := New(m, Options{Timeout: 10 * time.Millisecond, Flush: time.Millisecond, Nudges: []string{"input keyevent KEYCODE_HOME"}})
	c := canary.NewGenerator(5).URL("url-1")
	if _, err := tr.Run(ctx, "a", []canary.Canary{c}, func(context.Context) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if got := m.commands(); !slices.Equal(got, []string{"input keyevent KEYCODE_HOME", "dumpsys -l", "input keyevent KEYCODE_HOME"}) {
		t.Errorf("commands %q: want the nudge after the action, the queue check, the nudge before the sweep's wait", got)
	}
	refuse = true
	r, err := tr.Run(ctx, "a", []canary.Canary{canary.NewGenerator(6).URL("url-2")}, func(context.Context) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "INJECT_EVENTS") || !strings.Contains(err.Error(), "USB debugging (Security settings)") {
		t.Fatalf("refused nudge: %v", err)
	}
	if r.Ended != EndFailed || r.EndSeq == 0 {
		t.Errorf("window after a refused nudge: ended %q at seq %d", r.Ended, r.EndSeq)
	}
}

// TestPlantedBeforeTheActionRuns: a run killed mid-action still says what
// it planted: the planted file holds the window's canaries, synced, when
// the action begins.
func TestPlantedBeforeTheActionRuns(t *testing.T) {
	ctx := testCtx(t)
	path := filepath.Join(t.TempDir(), PlantedFile)
	tr := New(newMemLog(), Options{Timeout: time.Millisecond, Flush: time.Millisecond, Planted: path})
	c := canary.NewGenerator(7).SSID("ssid-1")
	errStop := errors.New("killed")
	_, err := tr.Run(ctx, "connect-wifi", []canary.Canary{c}, func(context.Context) error {
		got, err := ReadPlanted(path)
		if err != nil || len(got) != 1 || got[0].Window != "connect-wifi-1" || !slices.Equal(got[0].Canaries, []canary.Canary{c}) {
			t.Errorf("planted file during the action: %+v (%v)", got, err)
		}
		return errStop
	})
	if !errors.Is(err, errStop) {
		t.Fatalf("Run: %v", err)
	}
}

// TestParseQueues reads the simulated phone's answer and refuses what is
// not one: an answer cut before its total, or one whose total disagrees.
func TestParseQueues(t *testing.T) {
	q := &queuePhone{}
	q.held.Store(3)
	out, _ := q.shell("dumpsys " + QueueService)
	qs, err := ParseQueues(out)
	if err != nil || len(qs) != 2 || qs[0].Length != 3 || qs[0].Due != 12*time.Second || qs[1].Due >= 0 || qs[1].SDK != "onetrack" {
		t.Fatalf("ParseQueues: %+v, %v", qs, err)
	}
	empty := "Telltale telemetry queues (simulated phone only)\nnow=2020-04-30T12:00:03.000Z timing=realistic network=NONE\ntotal length=0 next_flush=none\n"
	if qs, err := ParseQueues(empty); err != nil || len(qs) != 0 {
		t.Errorf("a phone with no queue: %+v, %v", qs, err)
	}
	for _, bad := range []string{
		"", "Can't find service: telltale_telemetry",
		strings.Split(out, "total")[0], // cut short
		strings.Replace(out, "total length=3", "total length=4", 1),
	} {
		if _, err := ParseQueues(bad); err == nil {
			t.Errorf("ParseQueues(%q) accepted it", bad)
		}
	}
}

// TestACanaryPlantedAgainIsTheLaterActions: an app installed by one action
// (its package name the canary) and opened by the next: what comes in or
// after the second window is the second action's, not the first's late
// leak. With --pipeline the first window waits for what it expects and
// ends before the second plants the canary again, as without.
func TestACanaryPlantedAgainIsTheLaterActions(t *testing.T) {
	ctx := testCtx(t)
	for _, pipeline := range []bool{false, true} {
		m := newMemLog()
		tr := New(m, Options{Timeout: time.Minute, Flush: time.Millisecond, Pipeline: pipeline})
		pkg := canary.NewGenerator(8).Package("pkg-1")
		installed := saUpload("app_install", map[string]any{"package": pkg.Value})
		opened := saUpload("app_open", map[string]any{"pkg": pkg.Value})
		tr.Arm("install-app", seeAll)
		install, err := tr.Run(ctx, "install-app", []canary.Canary{pkg}, func(context.Context) error {
			go m.add(installed) // the upload comes after the action
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		tr.Arm("open-app", seeAll)
		open, err := tr.Run(ctx, "open-app", []canary.Canary{pkg}, func(context.Context) error { m.add(opened); return nil })
		if err != nil {
			t.Fatal(err)
		}
		if install.Open || (pipeline && install.Ended != EndSeen) {
			t.Fatalf("pipeline %v: install-app's window open %v, ended %q: it must end, on what it expected, before open-app plants the canary again", pipeline, install.Open, install.Ended)
		}
		m.add(opened) // the SDK sends it again after open-app's window
		if _, err := tr.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		at := func(r *Result) (paths []string) {
			for _, p := range tr.Attributed(r) {
				paths = append(paths, strings.Join(p.Chain, " > "))
			}
			return paths
		}
		if got := at(install); len(got) != 1 || !strings.HasSuffix(got[0], ".package") {
			t.Errorf("pipeline %v: install-app has %q, want only its own event", pipeline, got)
		}
		if got := at(open); len(got) != 1 || !strings.HasSuffix(got[0], ".pkg") {
			t.Errorf("pipeline %v: open-app has %q, want its event once (the resend is not a new place)", pipeline, got)
		}
	}
}
