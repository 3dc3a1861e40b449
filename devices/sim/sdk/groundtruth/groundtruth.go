// Package groundtruth is the simulated phone's ground-truth log: for every
// telemetry event, one JSON line each time its state changes (queued in the
// app's database, each upload attempt that failed, sent, or dropped), with
// the plain values it leaks. Our own end-to-end tests measure the detector
// against it, and it proves when a canary left the phone.
package groundtruth

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"
)

// States an event goes through. An event is queued once, may fail any
// number of times, and ends sent, bypassed or dropped (or still queued
// when the log ends: the phone still holds it).
const (
	Queued  = "queued"
	Failed  = "failed"  // an upload attempt failed; the event stays queued
	Sent    = "sent"    // the server accepted the upload that carried it
	Dropped = "dropped" // the SDK gave up on it (Reason says why)
	// Bypassed: the server accepted it, and the request went straight to
	// the server (Route "outside"): it left the phone and nothing on the
	// way captured it.
	Bypassed = "bypassed"
)

// RouteOutside is the Route of a request that went straight to the
// server (netstack.RouteOutside).
const RouteOutside = "outside"

// Delivered is the state of an event whose upload the server accepted:
// Bypassed when the request took route RouteOutside, else Sent.
func Delivered(route string) string {
	if route == RouteOutside {
		return Bypassed
	}
	return Sent
}

// Record is one line: what happened to one event, and when (the phone's clock).
type Record struct {
	Time   time.Time `json:"time"`
	Serial string    `json:"serial,omitempty"`
	// ID names the event across its lines, unique per phone
	// ("com.mi.globalbrowser/sensorsdata/3").
	ID    string `json:"id"`
	State string `json:"state"`
	// SDK is the reporting service (protocols service ID), App the package
	// whose SDK holds the event.
	SDK    string `json:"sdk"`
	App    string `json:"app"`
	Host   string `json:"host"`
	Path   string `json:"path"`
	Format string `json:"format"`
	Event  string `json:"event"`
	// Action is the user action behind the event; empty for what the SDK
	// or the firmware sends on its own ($AppEnd, heartbeats).
	Action string `json:"action"`
	// Values are the plain values the event carries (the leak).
	Values map[string]string `json:"values"`
	// Queued is when the event entered the queue (on every line).
	Queued time.Time `json:"queued"`
	// Attempt counts upload attempts so far (failed and sent lines).
	Attempt int `json:"attempt,omitempty"`
	// Upload names the request that carried the event (failed, sent and
	// bypassed lines): events of one batch share it.
	Upload string `json:"upload,omitempty"`
	// Delivered is true on the sent and bypassed lines.
	Delivered bool `json:"delivered"`
	// Reason says why an attempt failed or the event was dropped:
	// unreachable (no route), no-reverse (a loopback port, the proxy's or
	// a REDIRECT's, without its adb reverse rule), connect, proxy-refused,
	// tls, http, encode, key (no OneTrack key, or it expired), rejected
	// (the server's reply); dropped: rejected, too-large, data-cleared,
	// uninstalled, debug-mode (an immediate-timing phone gives up after
	// one attempt), or an app's own client's reason (it does not retry).
	Reason string `json:"reason,omitempty"`
	// Status is the HTTP status of the reply, when there was one.
	Status int `json:"status,omitempty"`
	// Route is how the phone's network carried the request, on attempt
	// lines whose connection was made: proxy (a CONNECT through the global
	// proxy), redirected (an iptables REDIRECT to a port on the phone: a
	// transparent capture), outside (straight to the server: uncaptured).
	Route string `json:"route,omitempty"`
}

// Outcome is how one upload attempt went.
type Outcome struct {
	// Upload names the request.
	Upload string
	// Status is the reply's HTTP status; 0 without a reply.
	Status int
	// Route is which way the phone's network carried the request
	// (Record.Route); "" when no connection was made.
	Route string
	// Reason is why a failed attempt failed.
	Reason string
}

// Writer appends records as JSON lines; safe for concurrent use.
type Writer struct {
	mu sync.Mutex
	w  io.Writer
}

// NewWriter writes records to w; a nil w discards them.
func NewWriter(w io.Writer) *Writer { return &Writer{w: w} }

// Write appends one record in a single Write. Errors are returned for the
// caller to log: a failing log must not stop the phone.
func (t *Writer) Write(r Record) error {
	if t == nil || t.w == nil {
		return nil
	}
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	_, err = t.w.Write(append(b, '\n'))
	return err
}

// Once writes an event that is attempted once and never queued for a
// retry (a request made on a timer, an app's upload with a client of its
// own): its queued line at rec.Queued, then at the attempt's end (at)
// what became of it: delivered (Delivered's state) or dropped with o's
// reason. rec names the event; its state and attempt fields are set here.
func (t *Writer) Once(rec Record, at time.Time, o Outcome, delivered bool) error {
	rec.Time, rec.State = rec.Queued, Queued
	if rec.Values == nil {
		rec.Values = map[string]string{}
	}
	err := t.Write(rec)
	rec.Time, rec.Attempt, rec.Upload, rec.Status, rec.Route = at, 1, o.Upload, o.Status, o.Route
	if delivered {
		rec.State, rec.Delivered = Delivered(o.Route), true
	} else {
		rec.State, rec.Reason = Dropped, o.Reason
	}
	return errors.Join(err, t.Write(rec))
}

// Log keeps a ground-truth log in memory, for tests that check what phones
// sent: phones may write to it while it is read back.
type Log struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *Log) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// Records parses every line written so far.
func (l *Log) Records() ([]Record, error) {
	l.mu.Lock()
	data := bytes.Clone(l.b.Bytes())
	l.mu.Unlock()
	return Parse(bytes.NewReader(data))
}

// Drain parses the lines written since the last Drain and forgets them.
func (l *Log) Drain() ([]Record, error) {
	l.mu.Lock()
	data := bytes.Clone(l.b.Bytes())
	l.b.Reset()
	l.mu.Unlock()
	return Parse(bytes.NewReader(data))
}

// Parse reads a ground-truth log (a file a phone wrote, or a Log's lines).
func Parse(r io.Reader) ([]Record, error) {
	var out []Record
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		var rec Record
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			return nil, fmt.Errorf("ground-truth line %d %q: %w", n, sc.Text(), err)
		}
		out = append(out, rec)
	}
	return out, sc.Err()
}

// Latest is each event's last line, in the order the events were first
// seen: the state every event is in at the end of recs.
func Latest(recs []Record) []Record {
	at := map[string]int{}
	var out []Record
	for _, r := range recs {
		if i, ok := at[r.ID]; ok {
			out[i] = r
			continue
		}
		at[r.ID] = len(out)
		out = append(out, r)
	}
	return out
}

// Uploads counts the requests that carried sent events: what a proxy in
// the way should have seen accepted.
func Uploads(recs []Record) int {
	seen := map[string]bool{}
	for _, r := range recs {
		if r.State == Sent {
			seen[r.Upload] = true
		}
	}
	return len(seen)
}
