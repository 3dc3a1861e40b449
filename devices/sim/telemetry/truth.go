package telemetry

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"time"
)

// Record is one line of the ground-truth log: an event the phone sent (or
// tried to), the action behind it and the plain values it carried.
type Record struct {
	Time   time.Time `json:"time"`
	Serial string    `json:"serial,omitempty"`
	Host   string    `json:"host"`
	Path   string    `json:"path"`
	Format string    `json:"format"`
	Event  string    `json:"event"`
	// Action is empty for background noise.
	Action    string            `json:"action"`
	Values    map[string]string `json:"values"`
	Delivered bool              `json:"delivered"`
	// Reason says why an event was not delivered: no-proxy, proxy-not-loopback,
	// no-reverse, connect, proxy-refused, tls, key (no OneTrack key), http,
	// queue-full, closed.
	Reason string `json:"reason,omitempty"`
	// Status is the HTTP status of a delivered event.
	Status int `json:"status,omitempty"`
}

// Truth appends records as JSON lines; safe for concurrent use.
type Truth struct {
	mu sync.Mutex
	w  io.Writer
}

// NewTruth writes records to w; a nil w discards them.
func NewTruth(w io.Writer) *Truth { return &Truth{w: w} }

// Write appends one record. Errors are returned for the caller to log: a
// failing log must not stop the phone.
func (t *Truth) Write(r Record) error {
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

// TruthLog keeps a ground-truth log in memory, for tests that check what
// phones sent: phones may write to it while it is read back.
type TruthLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *TruthLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// Records parses every line written so far.
func (l *TruthLog) Records() ([]Record, error) {
	l.mu.Lock()
	data := bytes.Clone(l.b.Bytes())
	l.mu.Unlock()
	return parseRecords(data)
}

// Drain parses the lines written since the last Drain and forgets them.
func (l *TruthLog) Drain() ([]Record, error) {
	l.mu.Lock()
	data := bytes.Clone(l.b.Bytes())
	l.b.Reset()
	l.mu.Unlock()
	return parseRecords(data)
}

func parseRecords(data []byte) ([]Record, error) {
	var out []Record
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var rec Record
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			return nil, fmt.Errorf("ground-truth line %q: %w", sc.Text(), err)
		}
		out = append(out, rec)
	}
	return out, sc.Err()
}
