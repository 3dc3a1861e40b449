// Package attribution runs each user action inside a marked window of a
// device session's flow log and attributes every leak to the action whose
// canary it carries, however late the leak arrives.
//
// One Tracker follows one session's log. It reads the proxy's flows as they
// arrive (a long poll from the last seq it read, never a re-read of the
// log), plants a window's canaries when it reads the window's start mark,
// and feeds every flow once to a leak.Session, which checks it against every
// canary planted before it. Keys from key exchanges carry forward. A
// window's cost is its own flows; the length of the log does not enter it.
//
// Real telemetry SDKs batch (Sensors Analytics uploads 15 s after the first
// queued event), so a window waits well: it ends as soon as what its action
// is expected to send has been seen (its Plan), else, when nothing is
// expected, once the phone's telemetry queues are empty, else at its
// timeout. The profile's flush nudges (HOME) run after each action. A leak
// that comes after its window ended is still its action's: Sweep, run before
// teardown, nudges, waits until the queues drain (on a real phone, which
// cannot tell, one flush interval), and reads the log to its end, so Late
// finds every leak that arrived after its window.
//
// With Options.Pipeline the actions run back to back: each window stays
// open after its action, and Sweep waits once for all of them and ends them
// together. Attribution by canary gives the same findings; the windows then
// overlap, so the differential view (what a window added to the idle
// baseline, by time) can no longer tell the actions apart.
package attribution

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"telltale.dev/fixtures/canary"
	"telltale.dev/harness/bypass"
	"telltale.dev/harness/capture"
	"telltale.dev/harness/leak"
)

// Session is what a Tracker needs of a device session; harness/session's
// Session has it.
type Session interface {
	// Mark appends a named mark to the flow log and returns it with its seq.
	Mark(ctx context.Context, name string) (capture.Flow, error)
	// WaitFlows returns the records above since, waiting up to wait for one.
	WaitFlows(ctx context.Context, since int64, wait time.Duration) ([]capture.Flow, error)
	// Shell runs a command on the device and fails on a non-zero exit.
	Shell(ctx context.Context, cmd string, args ...string) (string, error)
	// NextWindow names a new window of action, unique in the session.
	NextWindow(action string) string
}

// Options say how a Tracker's windows wait.
type Options struct {
	// Timeout is the longest a window waits for what it expects.
	Timeout time.Duration
	// Settle, when not zero, makes every window wait exactly this long
	// whatever it has seen: fixed settle windows, for comparison and for
	// callers that want the old behaviour.
	Settle time.Duration
	// Pipeline leaves each window open after its action; Sweep ends them.
	Pipeline bool
	// Flush is how long the phone's SDKs hold a queued event once nudged
	// (the profile's flush interval): what Sweep waits on a phone that
	// cannot report its queues.
	Flush time.Duration
	// Drain bounds Sweep's wait for the queues to empty (default 3 Flush).
	Drain time.Duration
	// Nudges are shell commands run after each action and before Sweep
	// waits, that make apps upload what they hold.
	Nudges []string
	// Planted, when not "", is a file each window's canaries are appended
	// to (JSON lines, ReadPlanted) before its action runs, so what a run
	// planted is known even when it is killed mid-action.
	Planted string
	// Progress receives a line for each long wait.
	Progress io.Writer
}

// Tracker follows one device session's flow log. Its methods are safe for
// concurrent use, though one device's actions run one at a time.
type Tracker struct {
	s    Session
	opts Options

	reading sync.Mutex // one reader of the log at a time

	mu       sync.Mutex
	det      *leak.Session
	seq      int64              // the last seq read
	windows  map[string]*window // by name, from Run until its end mark is read
	baseline []capture.Flow     // the idle window, nil until recorded
	armed    armed
	open     []*Result // pipeline windows still open, in start order
	queues   queueState
	// plantings are the windows' start seqs and canary ids, in order.
	plantings []planting
}

type planting struct {
	seq int64
	ids []string
}

// New returns a tracker on s. It reads nothing until a window needs it.
func New(s Session, opts Options) *Tracker {
	if opts.Drain <= 0 {
		opts.Drain = 3 * opts.Flush
	}
	return &Tracker{s: s, opts: opts, det: leak.NewSession(), windows: map[string]*window{}}
}

// Options are the tracker's options.
func (t *Tracker) Options() Options { return t.opts }

// window is a window being collected: from Run until its end mark is read.
type window struct {
	name     string
	canaries []canary.Canary
	plan     Plan
	started  bool // its start mark was read and its canaries planted
	ended    bool // its end mark was read
	flows    []capture.Flow
	watch    *bypass.Watch // the phone's sockets, watched while it is open
}

// read adds the flows that arrived after the last one read, waiting up to
// wait for one.
func (t *Tracker) read(ctx context.Context, wait time.Duration) error {
	t.reading.Lock()
	defer t.reading.Unlock()
	t.mu.Lock()
	since := t.seq
	t.mu.Unlock()
	flows, err := t.s.WaitFlows(ctx, since, wait)
	if err != nil {
		return fmt.Errorf("read the flow log after seq %d: %w", since, err)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.add(flows)
}

// add takes flows in log order: a start mark plants its window's canaries
// before any later flow reaches the detector, which is what makes a
// canary count only in flows after its action began. t.mu is held.
func (t *Tracker) add(flows []capture.Flow) error {
	var batch []capture.Flow
	var errs []error
	for _, f := range flows {
		if f.Seq <= t.seq {
			continue
		}
		t.seq = f.Seq
		if f.Kind != capture.KindMark {
			batch = append(batch, f)
			for _, w := range t.windows {
				if w.started && !w.ended {
					w.flows = append(w.flows, f)
				}
			}
			continue
		}
		if name, ok := strings.CutPrefix(f.Mark, "end:"); ok {
			if w := t.windows[name]; w != nil {
				w.ended = true
			}
		}
		if name, ok := strings.CutPrefix(f.Mark, "start:"); ok {
			if w := t.windows[name]; w != nil && !w.started {
				t.det.Add(batch...)
				batch = batch[:0]
				w.started = true
				if err := t.det.Plant(leak.Planting{Seq: f.Seq, Time: f.Start}, w.canaries...); err != nil {
					errs = append(errs, fmt.Errorf("plant the canaries of %s: %w", name, err))
				}
			}
		}
	}
	t.det.Add(batch...)
	return errors.Join(errs...)
}

// readTo reads the log until the record with seq has been read.
func (t *Tracker) readTo(ctx context.Context, seq int64) error {
	ctx, cancel := context.WithTimeoutCause(ctx, time.Minute, fmt.Errorf("the flow log did not reach seq %d within a minute", seq))
	defer cancel()
	for {
		t.mu.Lock()
		done := t.seq >= seq
		t.mu.Unlock()
		if done {
			return nil
		}
		if err := t.read(ctx, 5*time.Second); err != nil {
			return err
		}
	}
}

// waitUntil reads flows until done holds or deadline passes, and says
// which. done is checked after every batch of flows, and at least every
// poll when poll is not zero (for conditions the log cannot signal, such as
// the phone's queues).
func (t *Tracker) waitUntil(ctx context.Context, deadline time.Time, poll time.Duration, done func() (bool, error)) (bool, error) {
	for {
		ok, err := done()
		if err != nil || ok {
			return ok, err
		}
		left := time.Until(deadline)
		if left <= 0 {
			return false, nil
		}
		if poll > 0 {
			left = min(left, poll)
		}
		if err := t.read(ctx, left); err != nil {
			return false, err
		}
	}
}

// Attributed are the places r's canaries reached that belong to r's
// action: in its window and after it (Late).
func (t *Tracker) Attributed(r *Result) []leak.Place {
	return append(slices.Clone(r.Places), t.Late(r)...)
}

// Late are the places of r's canaries first reached after r's window
// ended, each with its delay since the planting. A canary is its action's
// until another window plants it again (an app installed by one action and
// opened by the next): what comes after that is the later action's. A
// place r's window already had is not late when the SDK sends it again.
// Read the log to its end first (Sweep).
func (t *Tracker) Late(r *Result) []leak.Place {
	if r.EndSeq == 0 {
		return nil
	}
	had := map[string]bool{}
	for _, p := range r.Places {
		had[placeKey(p)] = true
	}
	var late []leak.Place
	for _, c := range r.Canaries {
		q := leak.Query{Canaries: []string{c.ID}, After: r.EndSeq, Before: t.replanted(c, r.StartSeq)}
		if q.Before != 0 && q.Before <= q.After {
			continue
		}
		for _, p := range t.det.Places(q) {
			if !had[placeKey(p)] {
				late = append(late, p)
			}
		}
	}
	return late
}

// replanted is the start seq of the first window after the one started at
// seq that plants c again; 0 when none does.
func (t *Tracker) replanted(c canary.Canary, seq int64) int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, p := range t.plantings {
		if p.seq > seq && slices.Contains(p.ids, c.ID) {
			return p.seq
		}
	}
	return 0
}

// placeKey names a place: canary, host, part of the request and chain.
func placeKey(p leak.Place) string {
	return p.Canary + "\x00" + p.Host + "\x00" + p.Where + "\x00" + strings.Join(p.Chain, "\x00")
}

func ids(cs []canary.Canary) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.ID
	}
	return out
}

func (t *Tracker) progress(format string, args ...any) {
	if t.opts.Progress != nil {
		fmt.Fprintf(t.opts.Progress, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
	}
}
