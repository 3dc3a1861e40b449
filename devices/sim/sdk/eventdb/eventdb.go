// Package eventdb is an SDK's table of events waiting to be uploaded, kept
// in its app's data directory so that events survive the app's death and
// the phone's reboots, are retried after a failed upload, and go when the
// app's data is cleared. Every change to an event is also a line in the
// ground-truth log (devices/sim/sdk/groundtruth).
//
// Where: both SDKs keep SQLite databases under /data/data/PKG/databases/:
// Sensors Analytics "sensorsdata" (sa-sdk-android DbParams), OneTrack
// "onetrack" with table events(_id, appid, package, event_name, priority,
// data, timestamp) (decompiled com/xiaomi/onetrack/c/b.java, "EventManager").
// The file here holds the same rows as one JSON document, not SQLite:
// modeled (nothing on the phone reads it but the SDK).
package eventdb

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"sync"
	"sync/atomic"
	"time"

	"telltale.dev/devices/sim/clock"
	"telltale.dev/devices/sim/identity"
	"telltale.dev/devices/sim/sdk/groundtruth"
	"telltale.dev/devices/sim/vfs"
)

// Event is one row: an event as the SDK stored it, plus what the ground
// truth needs to know about it.
type Event struct {
	Row      int64  `json:"_id"`
	Truth    string `json:"truth_id"`
	Name     string `json:"event_name"`
	Priority int    `json:"priority,omitempty"`
	// Host and Path are where the event goes; Format names its encoding.
	Host   string `json:"host"`
	Path   string `json:"path"`
	Format string `json:"format"`
	// Time is when it was queued.
	Time time.Time `json:"timestamp"`
	// Data is the event as the SDK serialises it (its JSON object).
	Data map[string]any `json:"data"`
	// Action and Values are the ground truth: the user action behind the
	// event ("" for the SDK's own) and the plain values it leaks.
	Action   string            `json:"action,omitempty"`
	Values   map[string]string `json:"values,omitempty"`
	Attempts int               `json:"attempts,omitempty"`
}

// Config opens a table.
type Config struct {
	Files *vfs.FS
	// Package and UID own the app's data directory.
	Package string
	UID     uint32
	// Name is the database's file name under databases/.
	Name  string
	Clock clock.Clock
	Truth *groundtruth.Writer
	// Serial and SDK are stamped on every ground-truth line.
	Serial, SDK string
	// IDs numbers events across the phone, for the ground truth.
	IDs *atomic.Int64
	Log *slog.Logger
}

// DB is one SDK's table in one app. Safe for concurrent use; the file is
// read on every call, so what happens to it from outside (a data clear)
// is seen at once.
type DB struct {
	cfg  Config
	path string

	mu      sync.Mutex
	uploads int
	// known is the rows as last read or written: what Clear reports when
	// the package manager removed the file first (installd clears the data
	// before the broadcast).
	known []Event
}

type file struct {
	// Seq is the last row id given out (AUTOINCREMENT's sqlite_sequence).
	Seq  int64   `json:"seq"`
	Rows []Event `json:"rows"`
}

// Open returns the table; the file is made on the first insert.
func Open(cfg Config) *DB {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &DB{cfg: cfg, path: path.Join("/data/data", cfg.Package, "databases", cfg.Name)}
}

// NextUpload names a new upload from this table for the ground truth
// ("com.mi.globalbrowser/sensorsdata/3").
func (d *DB) NextUpload() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.uploads++
	return fmt.Sprintf("%s/%s/%d", d.cfg.Package, d.cfg.Name, d.uploads)
}

// Path is the database file on the phone.
func (d *DB) Path() string { return d.path }

func (d *DB) load() (file, error) {
	b, err := d.cfg.Files.ReadFile(d.path)
	if errors.Is(err, fs.ErrNotExist) {
		return file{}, nil
	}
	if err != nil {
		return file{}, fmt.Errorf("read %s: %w", d.path, err)
	}
	var f file
	if err := json.Unmarshal(b, &f); err != nil {
		return file{}, fmt.Errorf("%s is damaged: %w", d.path, err)
	}
	d.known = f.Rows
	return f, nil
}

func (d *DB) store(f file) error {
	b, err := json.Marshal(f)
	if err != nil {
		return err
	}
	if err := d.makeDirs(); err != nil {
		return err
	}
	if err := d.cfg.Files.WriteFile(d.path, b, 0o660, d.cfg.UID, false); err != nil {
		return fmt.Errorf("write %s: %w", d.path, err)
	}
	d.known = f.Rows
	return nil
}

// makeDirs lays out /data/data/PKG/databases as installd and the app would:
// /data/data system's, the package's directory the app's (AOSP
// installd's create_app_data: 0700 for the app's uid; modeled here where
// the package manager has not made it).
func (d *DB) makeDirs() error {
	fsys := d.cfg.Files
	pkgDir := path.Dir(path.Dir(d.path))
	for _, dir := range []struct {
		p     string
		perm  uint32
		owner uint32
	}{{"/data/data", 0o771, identity.System}, {pkgDir, 0o700, d.cfg.UID}} {
		if _, err := fsys.StatInfo(dir.p); err == nil {
			continue
		}
		if err := fsys.MkdirAll(dir.p, dir.perm, vfs.RootUID); err != nil {
			return fmt.Errorf("make %s: %w", dir.p, err)
		}
		if err := fsys.Chown(dir.p, dir.owner, dir.owner, vfs.RootUID); err != nil {
			return fmt.Errorf("chown %s: %w", dir.p, err)
		}
	}
	return fsys.MkdirAll(path.Dir(d.path), 0o771, d.cfg.UID)
}

// Insert queues ev, stamping its row, ground-truth id and time.
func (d *DB) Insert(ev Event) (Event, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	f, err := d.load()
	if err != nil {
		return ev, err
	}
	f.Seq++
	ev.Row, ev.Time = f.Seq, d.cfg.Clock.Now()
	ev.Truth = fmt.Sprintf("ev%d", d.cfg.IDs.Add(1))
	f.Rows = append(f.Rows, ev)
	if err := d.store(f); err != nil {
		return ev, err
	}
	d.record(ev, groundtruth.Record{State: groundtruth.Queued})
	return ev, nil
}

// Refuse records an event the SDK would not store (too large) as dropped
// at once.
func (d *DB) Refuse(ev Event, reason string) {
	ev.Time, ev.Truth = d.cfg.Clock.Now(), fmt.Sprintf("ev%d", d.cfg.IDs.Add(1))
	d.record(ev, groundtruth.Record{State: groundtruth.Dropped, Reason: reason})
}

// Rows are the queued events in row order.
func (d *DB) Rows() ([]Event, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	f, err := d.load()
	return f.Rows, err
}

// Len counts the queued events (0 when the table cannot be read).
func (d *DB) Len() int {
	rows, _ := d.Rows()
	return len(rows)
}

// Sent deletes the events an upload carried and the server accepted:
// sent, or bypassed when the request went around every capture
// (groundtruth.Delivered).
func (d *DB) Sent(evs []Event, o groundtruth.Outcome) {
	d.update(evs, true, func(ev Event) groundtruth.Record {
		return groundtruth.Record{State: groundtruth.Delivered(o.Route), Attempt: ev.Attempts + 1, Upload: o.Upload,
			Delivered: true, Status: o.Status, Route: o.Route}
	})
}

// Failed counts a failed upload attempt against the events it carried;
// they stay queued.
func (d *DB) Failed(evs []Event, o groundtruth.Outcome) {
	d.update(evs, false, func(ev Event) groundtruth.Record {
		return groundtruth.Record{State: groundtruth.Failed, Attempt: ev.Attempts + 1, Upload: o.Upload, Reason: o.Reason,
			Status: o.Status, Route: o.Route}
	})
}

// Drop deletes events the SDK gives up on.
func (d *DB) Drop(evs []Event, reason string) {
	d.update(evs, true, func(ev Event) groundtruth.Record {
		return groundtruth.Record{State: groundtruth.Dropped, Attempt: ev.Attempts, Reason: reason}
	})
}

// Clear records every queued event as dropped and deletes the file: the
// app's data was cleared or the app uninstalled (its directory is the
// package manager's to remove; the file may already be gone with it).
func (d *DB) Clear(reason string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	rows := d.known
	if f, err := d.load(); err == nil && len(f.Rows) > 0 {
		rows = f.Rows
	}
	for _, ev := range rows {
		d.record(ev, groundtruth.Record{State: groundtruth.Dropped, Attempt: ev.Attempts, Reason: reason})
	}
	d.known = nil
	_ = d.cfg.Files.Remove(d.path, false, vfs.RootUID)
}

// update applies an upload's outcome to evs: remove deletes their rows,
// otherwise their attempt count goes up. A table that cannot be read or
// written is logged and left as it is: the SDK goes on, as an app's does
// when its database fails.
func (d *DB) update(evs []Event, remove bool, line func(Event) groundtruth.Record) {
	d.mu.Lock()
	defer d.mu.Unlock()
	f, err := d.load()
	if err != nil {
		d.cfg.Log.Warn("sdk table unreadable", "table", d.path, "err", err)
		return
	}
	rows := map[int64]bool{}
	for _, ev := range evs {
		rows[ev.Row] = true
	}
	kept := f.Rows[:0]
	var done []Event
	for _, ev := range f.Rows {
		if !rows[ev.Row] {
			kept = append(kept, ev)
			continue
		}
		done = append(done, ev)
		if !remove {
			ev.Attempts++
			kept = append(kept, ev)
		}
	}
	f.Rows = kept
	if err := d.store(f); err != nil {
		d.cfg.Log.Warn("sdk table not written", "table", d.path, "err", err)
		return
	}
	for _, ev := range done {
		d.record(ev, line(ev))
	}
}

func (d *DB) record(ev Event, r groundtruth.Record) {
	r.Time, r.Serial, r.ID = d.cfg.Clock.Now(), d.cfg.Serial, ev.Truth
	r.SDK, r.App, r.Host, r.Path, r.Format = d.cfg.SDK, d.cfg.Package, ev.Host, ev.Path, ev.Format
	r.Event, r.Action, r.Values, r.Queued = ev.Name, ev.Action, ev.Values, ev.Time
	if r.Values == nil {
		r.Values = map[string]string{}
	}
	// A failing log must not stop the phone.
	if err := d.cfg.Truth.Write(r); err != nil {
		d.cfg.Log.Warn("ground-truth log write failed", "err", err)
	}
}
