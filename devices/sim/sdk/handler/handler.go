// Package handler runs an SDK's work the way an android.os.Handler on its
// HandlerThread does: messages identified by a code, run one at a time, now
// or after a delay on the phone's clock, which the SDK can ask about
// (hasMessages) and withdraw (removeMessages). Both SDKs the phone models
// schedule their uploads this way (Sensors Analytics' AnalyticsMessages
// Worker, OneTrack's UploadTimer).
//
// A delayed message runs in the goroutine its timer fires in: on a
// clock.Fake that is inside Advance, at the message's own time, so a test
// that advances the clock sees each upload stamped when it was due.
package handler

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"telltale.dev/devices/sim/clock"
)

// Handler is one SDK's message queue. The zero value is not usable; use New.
type Handler struct {
	clock clock.Clock

	mu      sync.Mutex
	pending []*message
	ready   []*message // posted to run now, in order
	looping bool       // a goroutine runs ready
	closed  bool
	active  int           // messages running or posted to run now
	idle    chan struct{} // closed while active is zero

	run sync.Mutex // one message at a time
}

type message struct {
	what  int
	when  time.Time
	timer clock.Timer // nil for a message posted to run now
	fn    func()
}

// New returns a handler on clk.
func New(clk clock.Clock) *Handler {
	h := &Handler{clock: clk, idle: make(chan struct{})}
	close(h.idle)
	return h
}

// Post runs fn as soon as the messages before it have run (sendMessage).
func (h *Handler) Post(what int, fn func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	m := &message{what: what, when: h.clock.Now(), fn: fn}
	h.pending = append(h.pending, m)
	h.ready = append(h.ready, m)
	h.busy(1)
	if !h.looping {
		h.looping = true
		go h.loop()
	}
}

// loop runs the messages posted to run now, in the order they came.
func (h *Handler) loop() {
	for {
		h.mu.Lock()
		if len(h.ready) == 0 {
			h.looping = false
			h.mu.Unlock()
			return
		}
		m := h.ready[0]
		h.ready = h.ready[1:]
		h.mu.Unlock()
		h.runNow(m)
	}
}

// PostDelayed runs fn once d has passed on the phone's clock
// (sendMessageDelayed).
func (h *Handler) PostDelayed(what int, d time.Duration, fn func()) {
	if d <= 0 {
		h.Post(what, fn)
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	m := &message{what: what, when: h.clock.Now().Add(d), fn: fn}
	h.pending = append(h.pending, m)
	m.timer = h.clock.AfterFunc(d, func() { h.fire(m) })
}

// Has says whether a message with code what waits to run (hasMessages).
func (h *Handler) Has(what int) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.ContainsFunc(h.pending, func(m *message) bool { return m.what == what })
}

// Remove withdraws the waiting messages with code what (removeMessages);
// one already running finishes.
func (h *Handler) Remove(what int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.pending = slices.DeleteFunc(h.pending, func(m *message) bool {
		if m.what != what {
			return false
		}
		stop(m)
		return true
	})
}

// RemoveAll withdraws every waiting message: what a process's death does
// to its handlers.
func (h *Handler) RemoveAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, m := range h.pending {
		stop(m)
	}
	h.pending = nil
}

// stop stops a delayed message's timer; a message posted to run now finds
// itself withdrawn when its turn comes.
func stop(m *message) {
	if m.timer != nil {
		m.timer.Stop()
	}
}

// Next is when the earliest waiting message with one of the codes is due;
// false when none waits.
func (h *Handler) Next(codes ...int) (time.Time, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	var next time.Time
	found := false
	for _, m := range h.pending {
		if slices.Contains(codes, m.what) && (!found || m.when.Before(next)) {
			next, found = m.when, true
		}
	}
	return next, found
}

// Idle waits until no message is running or due to run now. Messages
// waiting for their time do not count: on a clock.Fake they run when the
// clock is advanced.
func (h *Handler) Idle(ctx context.Context) error {
	h.mu.Lock()
	idle := h.idle
	h.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("sdk handler still busy: %w", ctx.Err())
	}
}

// Close withdraws every waiting message, refuses new ones and waits for
// the running one.
func (h *Handler) Close() {
	h.mu.Lock()
	h.closed = true
	h.mu.Unlock()
	h.RemoveAll()
	h.run.Lock()
	defer h.run.Unlock()
}

// busy moves the count of active messages; h.mu is held.
func (h *Handler) busy(n int) {
	if h.active == 0 && n > 0 {
		h.idle = make(chan struct{})
	}
	h.active += n
	if h.active == 0 {
		close(h.idle)
	}
}

// take removes m from the waiting list; false when it was withdrawn.
func (h *Handler) take(m *message) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	i := slices.Index(h.pending, m)
	if i < 0 {
		return false
	}
	h.pending = slices.Delete(h.pending, i, i+1)
	return true
}

func (h *Handler) fire(m *message) {
	h.mu.Lock()
	h.busy(1)
	h.mu.Unlock()
	h.runNow(m)
}

// runNow runs m unless it was withdrawn; m was counted active.
func (h *Handler) runNow(m *message) {
	defer func() {
		h.mu.Lock()
		h.busy(-1)
		h.mu.Unlock()
	}()
	h.run.Lock()
	defer h.run.Unlock()
	if h.take(m) {
		m.fn()
	}
}
