package attribution

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Nudge runs the flush nudges (Options.Nudges). A nudge the phone refuses
// is an error: without it the phone keeps what it holds.
func (t *Tracker) Nudge(ctx context.Context) error {
	for _, n := range t.opts.Nudges {
		out, err := t.s.Shell(ctx, n)
		if err == nil && refused(out) {
			err = errors.New(firstLine(out))
		}
		if err != nil {
			return fmt.Errorf("flush nudge %q: %w (the profile's flush.nudges must work on this phone: on MIUI turn on Developer options > \"USB debugging (Security settings)\", or remove the nudge)", n, err)
		}
	}
	return nil
}

// quiesce nudges the apps and waits until what earlier actions queued has
// left the phone: its telemetry queues empty (at most Options.Drain), or
// one flush interval on a phone that cannot report them. A window that
// plants no canary is judged by its differential view alone, and an
// earlier action's batch without a canary (an app_open the SDK holds for
// its 15 s timer, which locking the screen sends at once) would otherwise
// read as something this action added.
func (t *Tracker) quiesce(ctx context.Context) error {
	if err := t.Nudge(ctx); err != nil {
		return err
	}
	begin := time.Now()
	reported, err := t.hasQueues(ctx)
	if err != nil {
		return err
	}
	if !reported {
		_, err := t.fixed(ctx, t.opts.Flush)
		return err
	}
	drained, err := t.waitUntil(ctx, begin.Add(t.opts.Drain), queuePoll, func() (bool, error) { return t.drained(ctx) })
	if err == nil && !drained {
		t.mu.Lock()
		_, busy := holding(t.queues.last)
		t.mu.Unlock()
		err = fmt.Errorf("the phone's telemetry queues did not drain in %s (%s): what earlier actions queued would show in this window", t.opts.Drain, busy)
	}
	return err
}

// refused says whether a command's output is Android refusing it: tools
// such as input and am print the exception or error and may exit 0.
func refused(out string) bool {
	return strings.Contains(out, "Exception") || strings.HasPrefix(strings.TrimSpace(out), "Error")
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return line
}

// Swept is what a Sweep waited for and found.
type Swept struct {
	// Waited is how long it waited for telemetry after the nudges.
	Waited time.Duration
	// Reported is true on a phone that reports its queues; Queues are
	// then their state when the wait ended and Drained says they were
	// empty. A phone that cannot report them was given one flush interval.
	Reported bool
	Drained  bool
	Queues   []Queue
	// Unseen is true when an open --pipeline window had not seen all it
	// expected when the wait ended (its assertion will say what).
	Unseen bool
	// Ended are the --pipeline windows the sweep ended, in start order.
	Ended []*Result
}

// Queued is how many events the phone still held when the sweep ended.
func (s Swept) Queued() int {
	n, _ := holding(s.Queues)
	return n
}

// Sweep gets every flow the run caused into the tracker before teardown:
// it nudges the apps, waits until the phone's telemetry queues are empty
// (at most Options.Drain) and what the open --pipeline windows expect has
// come, or on a phone that cannot report its queues until those windows
// have seen what they expect (at most Options.Timeout) and at least one
// flush interval has passed; then it ends the open windows and reads the
// log to a final mark. Late then finds every leak that came after its
// window. A sweep whose queues did not drain says so (Drained false):
// what they hold would leave the phone after the proxy is gone.
func (t *Tracker) Sweep(ctx context.Context) (Swept, error) {
	var sw Swept
	if err := t.Nudge(ctx); err != nil {
		return sw, err
	}
	t.mu.Lock()
	open := t.open
	t.open = nil
	t.mu.Unlock()
	seen := t.seenAll(open)
	begin := time.Now()
	reported, err := t.hasQueues(ctx)
	if err != nil {
		return sw, t.endAll(ctx, open, err)
	}
	sw.Reported = reported
	if len(open) > 0 {
		t.progress("sweep: %d action(s) run back to back, waiting once for their telemetry", len(open))
	}
	if reported {
		_, err = t.waitUntil(ctx, begin.Add(t.opts.Drain), queuePoll, func() (bool, error) {
			drained, err := t.drained(ctx)
			sw.Drained = drained
			return drained && seen(), err
		})
	} else {
		t.progress("sweep: the phone cannot report its telemetry queues; waiting one flush interval (%s)", t.opts.Flush)
		if _, err = t.waitUntil(ctx, begin.Add(t.opts.Timeout), 0, func() (bool, error) { return seen(), nil }); err == nil {
			_, err = t.fixed(ctx, time.Until(begin.Add(t.opts.Flush)))
		}
	}
	sw.Waited = time.Since(begin)
	sw.Unseen = !seen()
	t.mu.Lock()
	sw.Queues = t.queues.last
	t.mu.Unlock()
	sw.Ended = open
	return sw, t.endAll(ctx, open, err)
}

// seenAll is true once every open window's plan has seen what it expects.
func (t *Tracker) seenAll(open []*Result) func() bool {
	var checks []func() bool
	t.mu.Lock()
	for _, r := range open {
		if w := t.windows[r.Window]; w != nil && w.plan.Seen != nil {
			v, seen := &View{t: t, r: r, w: w}, w.plan.Seen
			checks = append(checks, func() bool { return seen(v) })
		}
	}
	t.mu.Unlock()
	return func() bool {
		for _, c := range checks {
			if !c() {
				return false
			}
		}
		return true
	}
}

// endAll ends the open windows and reads the log to a final mark, also
// after an error (err) or a Ctrl-C, so nothing that arrived is left unread.
func (t *Tracker) endAll(ctx context.Context, open []*Result, err error) error {
	errs := []error{err}
	for _, r := range open {
		r.Settle, r.Ended = time.Since(r.Acted), EndSwept
		if err := t.end(ctx, r); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", r.Window, err))
		}
	}
	ctx = context.WithoutCancel(ctx)
	mark, merr := t.s.Mark(ctx, "sweep")
	if merr == nil {
		merr = t.readTo(ctx, mark.Seq)
	}
	if merr != nil {
		errs = append(errs, fmt.Errorf("sweep: read the flow log to its end: %w", merr))
	}
	return errors.Join(errs...)
}
