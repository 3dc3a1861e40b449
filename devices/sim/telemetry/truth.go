package telemetry

import (
	"encoding/json"
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
