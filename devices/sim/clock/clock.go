// Package clock is the simulated phone's sense of time. Everything on the
// phone that stamps a time (logcat, events, telemetry) or waits for one
// (sleep, SDK batching, timeouts) asks a Clock, so tests can run the phone on
// a Fake and move time forward without sleeping. Deadlines on real host
// sockets are the host's business and stay on context deadlines.
package clock

import "time"

// Clock tells the time and schedules work.
type Clock interface {
	Now() time.Time
	Since(t time.Time) time.Duration
	// AfterFunc calls f in its own goroutine once d has passed.
	AfterFunc(d time.Duration, f func()) Timer
	// NewTimer sends the time on C once d has passed.
	NewTimer(d time.Duration) Timer
}

// Timer is a pending AfterFunc or NewTimer.
type Timer interface {
	// C delivers the firing time; nil for an AfterFunc timer.
	C() <-chan time.Time
	// Stop cancels the timer; false if it had already fired or stopped.
	Stop() bool
	// Reset re-arms the timer for d from now; false if it had fired or stopped.
	Reset(d time.Duration) bool
}

// Real is the host's clock.
func Real() Clock { return realClock{} }

type realClock struct{}

func (realClock) Now() time.Time                  { return time.Now() }
func (realClock) Since(t time.Time) time.Duration { return time.Since(t) }

func (realClock) AfterFunc(d time.Duration, f func()) Timer {
	return realTimer{t: time.AfterFunc(d, f)}
}

func (realClock) NewTimer(d time.Duration) Timer { return realTimer{t: time.NewTimer(d)} }

type realTimer struct{ t *time.Timer }

func (r realTimer) C() <-chan time.Time        { return r.t.C }
func (r realTimer) Stop() bool                 { return r.t.Stop() }
func (r realTimer) Reset(d time.Duration) bool { return r.t.Reset(d) }
