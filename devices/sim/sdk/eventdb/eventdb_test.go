package eventdb_test

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"telltale.dev/devices/sim/clock"
	"telltale.dev/devices/sim/sdk/eventdb"
	"telltale.dev/devices/sim/sdk/groundtruth"
	"telltale.dev/devices/sim/vfs"
)

var start = time.Date(2020, 4, 30, 12, 0, 0, 0, time.UTC)

type table struct {
	fs  *vfs.FS
	clk *clock.Fake
	log *groundtruth.Log
	ids atomic.Int64
}

func newTable() *table {
	return &table{fs: vfs.New(), clk: clock.NewFake(start), log: &groundtruth.Log{}}
}

// open opens the browser's table, as its process does each time it starts.
func (tb *table) open() *eventdb.DB {
	return eventdb.Open(eventdb.Config{Files: tb.fs, Package: "com.mi.globalbrowser", UID: 10057, Name: "sensorsdata",
		Clock: tb.clk, Truth: groundtruth.NewWriter(tb.log), Serial: "127.0.0.1:1", SDK: "sensors-analytics", IDs: &tb.ids})
}

func lines(t *testing.T, log *groundtruth.Log) []string {
	t.Helper()
	recs, err := log.Drain()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range recs {
		s := fmt.Sprintf("%s %s %s@%s", r.ID, r.State, r.Event, r.Time.Sub(start))
		if r.Attempt > 0 {
			s += fmt.Sprintf(" attempt=%d upload=%s", r.Attempt, r.Upload)
		}
		if r.Reason != "" {
			s += " reason=" + r.Reason
		}
		out = append(out, s)
	}
	return out
}

func check(t *testing.T, got []string, want ...string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("ground truth:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// Events live in a file of the app's own, survive the table being opened
// again (a process restart, a reboot), and every change is a ground-truth
// line: queued, each failed attempt, sent or dropped.
func TestTableLifecycle(t *testing.T) {
	tb := newTable()
	fs, clk, log, db := tb.fs, tb.clk, tb.log, tb.open()
	visit, err := db.Insert(eventdb.Event{Name: "browser_visit", Host: "sa.api.intl.miui.com", Path: "/sa?project=p",
		Action: "browse-incognito", Values: map[string]string{"url": "https://canary.example/"}, Data: map[string]any{"url": "https://canary.example/"}})
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Second)
	if _, err := db.Insert(eventdb.Event{Name: "$AppEnd"}); err != nil {
		t.Fatal(err)
	}
	check(t, lines(t, log), "ev1 queued browser_visit@0s", "ev2 queued $AppEnd@1s")

	info, err := fs.StatInfo("/data/data/com.mi.globalbrowser")
	if err != nil || info.UID != 10057 || info.Mode&0o777 != 0o700 {
		t.Fatalf("app data directory: %+v %v", info, err)
	}
	if b, err := fs.ReadFile(db.Path()); err != nil || !strings.Contains(string(b), "https://canary.example/") {
		t.Fatalf("%s holds %q (%v)", db.Path(), b, err)
	}

	again := tb.open()
	rows, err := again.Rows()
	if err != nil || len(rows) != 2 || rows[0].Row != 1 || rows[0].Data["url"] != "https://canary.example/" || rows[1].Name != "$AppEnd" {
		t.Fatalf("rows after reopening: %+v %v", rows, err)
	}
	clk.Advance(14 * time.Second)
	up := again.NextUpload()
	again.Failed(rows, groundtruth.Outcome{Upload: up, Reason: "no-reverse"})
	clk.Advance(10 * time.Second)
	rows, _ = again.Rows()
	if rows[0].Attempts != 1 {
		t.Fatalf("attempts after a failure: %+v", rows[0])
	}
	again.Sent(rows[:1], groundtruth.Outcome{Upload: again.NextUpload(), Status: 200, Route: "proxy"})
	again.Drop(rows[1:], "rejected")
	check(t, lines(t, log),
		"ev1 failed browser_visit@15s attempt=1 upload=com.mi.globalbrowser/sensorsdata/1 reason=no-reverse",
		"ev2 failed $AppEnd@15s attempt=1 upload=com.mi.globalbrowser/sensorsdata/1 reason=no-reverse",
		"ev1 sent browser_visit@25s attempt=2 upload=com.mi.globalbrowser/sensorsdata/2",
		"ev2 dropped $AppEnd@25s attempt=1 upload= reason=rejected")
	if again.Len() != 0 {
		t.Errorf("%d rows left", again.Len())
	}
	again.Refuse(eventdb.Event{Name: "huge"}, "too-large")
	check(t, lines(t, log), "ev3 dropped huge@25s reason=too-large")
	// Row ids keep counting after the table emptied (AUTOINCREMENT).
	ev, _ := again.Insert(eventdb.Event{Name: "x"})
	if ev.Row != 3 || ev.Truth != "ev4" || !ev.Time.Equal(start.Add(25*time.Second)) {
		t.Errorf("next row %+v", ev)
	}
	if !strings.Contains(visit.Truth, "ev1") {
		t.Errorf("first event's id %q", visit.Truth)
	}
}

// Clearing the app's data drops what was queued and removes the file.
func TestClear(t *testing.T) {
	tb := newTable()
	fs, log, db := tb.fs, tb.log, tb.open()
	for _, n := range []string{"a", "b"} {
		if _, err := db.Insert(eventdb.Event{Name: n}); err != nil {
			t.Fatal(err)
		}
	}
	lines(t, log)
	db.Clear("data-cleared")
	check(t, lines(t, log), "ev1 dropped a@0s reason=data-cleared", "ev2 dropped b@0s reason=data-cleared")
	if _, err := fs.StatInfo(db.Path()); err == nil || db.Len() != 0 {
		t.Errorf("the table survived clearing: %d rows", db.Len())
	}
	// `pm clear` removes the app's files before it tells the app: the
	// events it held are still reported dropped.
	if _, err := db.Insert(eventdb.Event{Name: "c"}); err != nil {
		t.Fatal(err)
	}
	lines(t, log)
	if err := fs.Remove("/data/data/com.mi.globalbrowser/databases", true, vfs.RootUID); err != nil {
		t.Fatal(err)
	}
	db.Clear("data-cleared")
	check(t, lines(t, log), "ev3 dropped c@0s reason=data-cleared")
}
