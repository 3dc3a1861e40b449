package attribution

import (
	"path/filepath"
	"sync"

	"telltale.dev/harness/session"
)

// Trackers by session. The actions take a *session.Session (their bodies
// drive the phone, and know nothing of windows); the window each one runs
// in must find the tracker of its session, which the session package
// cannot hold without depending on this one.
var (
	mu       sync.Mutex
	trackers = map[*session.Session]*Tracker{}
)

// For returns the tracker of s. The framework attaches one with the run's
// options (Attach); elsewhere, such as a test driving actions on a
// session, the first call makes one that waits fixed settle windows of the
// session's Settle, as actions always did.
func For(s *session.Session) *Tracker {
	mu.Lock()
	defer mu.Unlock()
	prune()
	if t := trackers[s]; t != nil {
		return t
	}
	opts := Defaults(s)
	opts.Settle = s.Settle()
	t := New(s, opts)
	trackers[s] = t
	return t
}

// Attach gives s a new tracker with opts; Detach (or the session's end)
// drops it.
func Attach(s *session.Session, opts Options) *Tracker {
	mu.Lock()
	defer mu.Unlock()
	prune()
	t := New(s, opts)
	trackers[s] = t
	return t
}

// Detach drops s's tracker.
func Detach(s *session.Session) {
	mu.Lock()
	delete(trackers, s)
	mu.Unlock()
}

// prune drops the trackers of sessions that ended (closed or lost), so
// sessions nobody detached do not pile up. mu is held.
func prune() {
	for s := range trackers {
		if s.Lost() != nil {
			delete(trackers, s)
		}
	}
}

// Defaults are the options s's profile implies: its flush interval and
// nudges, windows that wait at most 1.5 flush intervals (the session's
// Settle on a profile with no flush interval), and the planted file in the
// session's directory.
func Defaults(s *session.Session) Options {
	p := s.Profile()
	o := Options{Flush: p.FlushInterval(), Nudges: p.Flush.Nudges, Planted: filepath.Join(s.Dir(), PlantedFile)}
	if o.Flush <= 0 {
		o.Flush = s.Settle()
	}
	o.Timeout = o.Flush + o.Flush/2
	return o
}
