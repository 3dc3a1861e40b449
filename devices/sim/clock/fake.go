package clock

import (
	"context"
	"slices"
	"sync"
	"time"
)

// Fake is a Clock that moves only when told to. Timers fire in deadline
// order (ties in the order they were set) inside Advance, so when Advance
// returns every callback that was due has run: tests need no sleeps.
type Fake struct {
	mu      sync.Mutex
	now     time.Time
	seq     uint64
	pending []*fakeTimer
	// changed is closed and replaced whenever a timer is set, so WaitTimers
	// can wait for a goroutine to reach its timer without polling.
	changed chan struct{}
}

// NewFake returns a Fake that reads start until advanced.
func NewFake(start time.Time) *Fake {
	return &Fake{now: start, changed: make(chan struct{})}
}

type fakeTimer struct {
	f    *Fake
	when time.Time
	seq  uint64
	fn   func()
	ch   chan time.Time
}

func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *Fake) Since(t time.Time) time.Duration { return f.Now().Sub(t) }

func (f *Fake) AfterFunc(d time.Duration, fn func()) Timer {
	return f.add(&fakeTimer{f: f, fn: fn}, d)
}

func (f *Fake) NewTimer(d time.Duration) Timer {
	return f.add(&fakeTimer{f: f, ch: make(chan time.Time, 1)}, d)
}

func (f *Fake) add(t *fakeTimer, d time.Duration) *fakeTimer {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.arm(t, d)
	return t
}

// arm schedules t; f.mu is held.
func (f *Fake) arm(t *fakeTimer, d time.Duration) {
	f.seq++
	t.when, t.seq = f.now.Add(d), f.seq
	f.pending = append(f.pending, t)
	close(f.changed)
	f.changed = make(chan struct{})
}

// remove unschedules t and says whether it was pending; f.mu is held.
func (f *Fake) remove(t *fakeTimer) bool {
	i := slices.Index(f.pending, t)
	if i < 0 {
		return false
	}
	f.pending = slices.Delete(f.pending, i, i+1)
	return true
}

// Advance moves the clock forward by d, firing every timer that falls due
// on the way at its own time.
func (f *Fake) Advance(d time.Duration) {
	f.mu.Lock()
	target := f.now.Add(d)
	for {
		t := f.next(target)
		if t == nil {
			break
		}
		f.remove(t)
		f.now = t.when
		f.mu.Unlock()
		t.fire()
		f.mu.Lock()
	}
	f.now = target
	f.mu.Unlock()
}

// next is the earliest timer due by target; f.mu is held.
func (f *Fake) next(target time.Time) *fakeTimer {
	var best *fakeTimer
	for _, t := range f.pending {
		if t.when.After(target) {
			continue
		}
		if best == nil || t.when.Before(best.when) || (t.when.Equal(best.when) && t.seq < best.seq) {
			best = t
		}
	}
	return best
}

// Pending is how many timers are waiting to fire.
func (f *Fake) Pending() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.pending)
}

// WaitTimers blocks until at least n timers are pending, so a test can let
// another goroutine reach its sleep before advancing the clock.
func (f *Fake) WaitTimers(ctx context.Context, n int) error {
	for {
		f.mu.Lock()
		have, changed := len(f.pending), f.changed
		f.mu.Unlock()
		if have >= n {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (t *fakeTimer) fire() {
	if t.fn != nil {
		t.fn()
		return
	}
	select {
	case t.ch <- t.when:
	default: // like time.Timer, a value not yet received is not doubled
	}
}

func (t *fakeTimer) C() <-chan time.Time { return t.ch }

func (t *fakeTimer) Stop() bool {
	t.f.mu.Lock()
	defer t.f.mu.Unlock()
	return t.f.remove(t)
}

func (t *fakeTimer) Reset(d time.Duration) bool {
	t.f.mu.Lock()
	defer t.f.mu.Unlock()
	was := t.f.remove(t)
	t.f.arm(t, d)
	return was
}
