package attribution

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"telltale.dev/fixtures/canary"
	"telltale.dev/harness/bypass"
	"telltale.dev/harness/capture"
	"telltale.dev/harness/leak"
)

// Result is one action's window and what was attributed to it.
type Result struct {
	Action string
	// Window is the window's name: its marks are "start:"+Window and
	// "end:"+Window.
	Window   string
	Canaries []canary.Canary
	// Flows are the window's flows, marks excluded.
	Flows []capture.Flow
	// Report is what the window's canaries reached inside the window, with
	// entries numbering the window's requests.
	Report leak.Report
	// Places are the same findings, one per canary, host, part of the
	// request and chain, each with its delay since the planting.
	Places []leak.Place
	// Diff is what appeared in the window and not in the idle baseline.
	Diff             leak.Diff
	StartSeq, EndSeq int64
	Start, End       time.Time
	// Acted is when the action and its nudges were done; the rest of the
	// window is waiting.
	Acted time.Time
	// Settle is the part of End-Start spent waiting for telemetry; the rest
	// is the harness's own overhead plus the device's command time.
	Settle time.Duration
	// Ended says why the window ended (End* constants).
	Ended string
	// Open is true while a --pipeline window waits for Sweep to end it.
	Open bool
	// Bypassed are the connections the phone opened around the proxy while
	// the window was open; Unwatched says why they could not be watched.
	Bypassed  []bypass.Bypass
	Unwatched string
}

// Why a window ended.
const (
	EndSeen    = "seen"    // everything it expected was seen
	EndDrained = "drained" // it expected nothing, and the phone's queues emptied
	EndTimeout = "timeout" // its timeout passed first
	EndSettled = "settled" // a fixed settle window (Options.Settle) ran out
	EndFailed  = "failed"  // the action failed; the window ended at once
	EndSwept   = "swept"   // a --pipeline window, ended by Sweep
)

// Overhead is the window's length minus the settle wait.
func (r *Result) Overhead() time.Duration { return r.End.Sub(r.Start) - r.Settle }

// Plan is what a window expects to see, armed before its action (Arm).
type Plan struct {
	// Seen says whether the window has seen all its action is expected to
	// send. nil: nothing is expected; the window then waits for the phone's
	// telemetry queues to empty, so that a leak that must not happen has
	// had its chance to, or for its timeout on a phone that cannot tell.
	Seen func(*View) bool
}

// View is a window as it fills, for Plan.Seen.
type View struct {
	t *Tracker
	r *Result
	w *window
}

// Places are the places the window's canaries have reached since it began.
func (v *View) Places() []leak.Place {
	if len(v.r.Canaries) == 0 {
		return nil
	}
	return v.t.det.Places(leak.Query{Canaries: ids(v.r.Canaries), After: v.r.StartSeq})
}

// Diff is what the window has added so far to the idle baseline.
func (v *View) Diff() leak.Diff {
	v.t.mu.Lock()
	flows, baseline := v.w.flows, v.t.baseline
	v.t.mu.Unlock()
	return leak.Differential(baseline, v.t.unexplained(v.r.StartSeq, flows))
}

type armed struct {
	action string
	plan   func([]canary.Canary) Plan
}

// Arm sets how the next window of action makes its plan from the canaries
// it plants; the window takes it. Disarm after the action, so a plan an
// action never used (it failed before its window) cannot reach the next.
func (t *Tracker) Arm(action string, plan func([]canary.Canary) Plan) {
	t.mu.Lock()
	t.armed = armed{action: action, plan: plan}
	t.mu.Unlock()
}

// Disarm drops a plan no window took.
func (t *Tracker) Disarm() {
	t.mu.Lock()
	t.armed = armed{}
	t.mu.Unlock()
}

func (t *Tracker) take(action string, cs []canary.Canary) Plan {
	t.mu.Lock()
	a := t.armed
	t.armed = armed{}
	t.mu.Unlock()
	if a.plan != nil && a.action == action {
		return a.plan(cs)
	}
	return Plan{}
}

// Run runs do between a start and an end mark of a new window of action,
// with cs planted at the start mark: cs count in every flow after it,
// however late. After do come the flush nudges, then the wait (see the
// package doc); with Options.Pipeline the window is left open for Sweep. On
// an error from do the window ends at once, the end mark is still posted so
// the log stays well formed, and the partial result comes back with the
// error.
func (t *Tracker) Run(ctx context.Context, action string, cs []canary.Canary, do func(context.Context) error) (*Result, error) {
	return t.run(ctx, action, cs, t.take(action, cs), do, 0)
}

// Baseline records the idle window once: idle long with no action. Every
// later window's Diff is taken against it.
func (t *Tracker) Baseline(ctx context.Context, idle time.Duration) (*Result, error) {
	t.mu.Lock()
	b := t.baseline
	t.mu.Unlock()
	if b != nil {
		return &Result{Action: "idle", Flows: b}, nil
	}
	r, err := t.run(ctx, "idle", nil, Plan{}, func(context.Context) error { return nil }, max(idle, time.Millisecond))
	if err != nil {
		return r, err
	}
	t.mu.Lock()
	t.baseline = r.Flows
	if t.baseline == nil {
		t.baseline = []capture.Flow{}
	}
	t.mu.Unlock()
	return r, nil
}

// run is Run; an idle window (idle > 0) has no nudges, waits exactly idle
// and is never left open. A window planting no canary starts quiet
// (quiesce).
func (t *Tracker) run(ctx context.Context, action string, cs []canary.Canary, plan Plan, do func(context.Context) error, idle time.Duration) (*Result, error) {
	if err := t.endReplanted(ctx, cs); err != nil {
		return nil, fmt.Errorf("%s: %w", action, err)
	}
	// With --pipeline windows overlap anyway (the weaker differential
	// view it documents), so waiting here would only slow it down.
	if len(cs) == 0 && idle == 0 && !t.opts.Pipeline {
		if err := t.quiesce(ctx); err != nil {
			return nil, fmt.Errorf("%s: before its window: %w", action, err)
		}
	}
	name := t.s.NextWindow(action)
	r := &Result{Action: action, Window: name, Canaries: cs}
	w := &window{name: name, canaries: cs, plan: plan}
	t.mu.Lock()
	t.windows[name] = w
	t.mu.Unlock()
	r.Start = time.Now()
	start, err := t.s.Mark(ctx, "start:"+name)
	if err != nil {
		t.forget(name)
		return r, fmt.Errorf("%s: mark window start: %w", action, err)
	}
	r.StartSeq = start.Seq
	t.mu.Lock()
	t.plantings = append(t.plantings, planting{seq: start.Seq, ids: ids(cs)})
	t.mu.Unlock()
	t.watchSockets(ctx, w, r)
	if err := t.recordPlanted(Planted{Window: name, Action: action, Seq: start.Seq, Time: start.Start, Canaries: cs}); err != nil {
		return r, errors.Join(fmt.Errorf("%s: %w", action, err), t.end(ctx, r))
	}
	doErr := do(ctx)
	if doErr == nil && idle == 0 {
		doErr = t.Nudge(ctx)
	}
	r.Acted = time.Now()
	switch {
	case doErr != nil:
		r.Ended = EndFailed
	case idle > 0:
		r.Ended, doErr = t.fixed(ctx, idle)
	case t.opts.Pipeline:
		r.Open = true
		t.mu.Lock()
		t.open = append(t.open, r)
		t.mu.Unlock()
		return r, nil
	default:
		r.Ended, doErr = t.settle(ctx, r, w, plan)
	}
	r.Settle = time.Since(r.Acted)
	if err := t.end(ctx, r); err != nil {
		doErr = errors.Join(doErr, err)
	}
	if doErr != nil {
		return r, fmt.Errorf("%s: %w", action, doErr)
	}
	return r, nil
}

// endReplanted ends the open --pipeline windows that planted one of cs
// before a new window plants it again (the app one action installed and
// the next opens): a canary is the later action's from its planting on, so
// the earlier window first waits for what it expects, as it would have
// without --pipeline, and ends.
func (t *Tracker) endReplanted(ctx context.Context, cs []canary.Canary) error {
	t.mu.Lock()
	var earlier []*Result
	t.open = slices.DeleteFunc(t.open, func(r *Result) bool {
		replanted := slices.ContainsFunc(r.Canaries, func(c canary.Canary) bool {
			return slices.ContainsFunc(cs, func(n canary.Canary) bool { return n.ID == c.ID })
		})
		if replanted {
			earlier = append(earlier, r)
		}
		return replanted
	})
	t.mu.Unlock()
	var errs []error
	for _, r := range earlier {
		t.mu.Lock()
		w := t.windows[r.Window]
		t.mu.Unlock()
		ended, err := EndFailed, errors.New("its window was lost")
		if w != nil {
			ended, err = t.settle(ctx, r, w, w.plan)
		}
		r.Settle, r.Ended = time.Since(r.Acted), ended
		errs = append(errs, err, t.end(ctx, r))
	}
	return errors.Join(errs...)
}

// settle waits the way the options and the plan say, and says why it
// stopped.
func (t *Tracker) settle(ctx context.Context, r *Result, w *window, plan Plan) (string, error) {
	if t.opts.Settle > 0 {
		return t.fixed(ctx, t.opts.Settle)
	}
	deadline := time.Now().Add(t.opts.Timeout)
	if plan.Seen != nil {
		v := &View{t: t, r: r, w: w}
		seen, err := t.waitUntil(ctx, deadline, 0, func() (bool, error) { return plan.Seen(v), nil })
		if seen {
			return EndSeen, err
		}
		return EndTimeout, err
	}
	drained, err := t.waitUntil(ctx, deadline, queuePoll, func() (bool, error) { return t.drained(ctx) })
	if drained {
		return EndDrained, err
	}
	return EndTimeout, err
}

// fixed reads the log for d, whatever comes.
func (t *Tracker) fixed(ctx context.Context, d time.Duration) (string, error) {
	_, err := t.waitUntil(ctx, time.Now().Add(d), 0, func() (bool, error) { return false, nil })
	return EndSettled, err
}

// end posts r's end mark, reads the log up to it and fills r from the
// window. The mark is posted even after a Ctrl-C, so the log stays well
// formed.
func (t *Tracker) end(ctx context.Context, r *Result) error {
	ctx = context.WithoutCancel(ctx)
	t.stopWatch(ctx, r)
	mark, err := t.s.Mark(ctx, "end:"+r.Window)
	r.End = time.Now()
	if err != nil {
		t.forget(r.Window)
		return fmt.Errorf("mark window end: %w", err)
	}
	r.EndSeq = mark.Seq
	if err := t.readTo(ctx, mark.Seq); err != nil {
		t.forget(r.Window)
		return err
	}
	t.fill(r)
	return nil
}

func (t *Tracker) forget(name string) {
	t.mu.Lock()
	delete(t.windows, name)
	t.mu.Unlock()
}

// fill takes the ended window's flows and findings into r.
func (t *Tracker) fill(r *Result) {
	t.mu.Lock()
	w := t.windows[r.Window]
	delete(t.windows, r.Window)
	baseline := t.baseline
	t.mu.Unlock()
	if w != nil {
		r.Flows = w.flows
	}
	r.Open = false
	r.Report = leak.Report{Findings: []leak.Finding{}, Capped: []leak.Capped{}}
	r.Places = []leak.Place{}
	if len(r.Canaries) > 0 {
		// Overlapping --pipeline windows end together: a canary planted
		// again by a later window is that window's from its start.
		for _, c := range r.Canaries {
			q := leak.Query{Canaries: []string{c.ID}, After: r.StartSeq, Before: r.EndSeq}
			if next := t.replanted(c, r.StartSeq); next != 0 && next < q.Before {
				q.Before = next
			}
			r.Report.Findings = append(r.Report.Findings, t.det.Report(q).Findings...)
			r.Places = append(r.Places, t.det.Places(q)...)
		}
		slices.SortStableFunc(r.Report.Findings, func(a, b leak.Finding) int { return a.Entry - b.Entry })
		r.Report.Capped = t.det.Report(leak.Query{Canaries: ids(r.Canaries), After: r.StartSeq, Before: r.EndSeq}).Capped
	}
	for i := range r.Flows {
		if f := &r.Flows[i]; f.Request != nil && (f.Kind == capture.KindHTTP || f.Kind == capture.KindWebSocket) {
			r.Report.Entries++
		}
	}
	r.Diff = leak.Differential(baseline, t.unexplained(r.StartSeq, r.Flows))
}

// unexplained leaves out of flows those that carry a canary planted
// before start: a batch an earlier action's SDK uploads late is that
// action's (attribution by canary), not something this window added to the
// idle baseline. A batch mixing both is left out whole, one way the
// differential view is weaker when uploads come late.
func (t *Tracker) unexplained(start int64, flows []capture.Flow) []capture.Flow {
	t.mu.Lock()
	var earlier []string
	for _, p := range t.plantings {
		if p.seq < start {
			earlier = append(earlier, p.ids...)
		}
	}
	t.mu.Unlock()
	if len(earlier) == 0 || len(flows) == 0 {
		return flows
	}
	carried := map[int64]bool{}
	for _, f := range t.det.Report(leak.Query{Canaries: earlier, After: start}).Findings {
		carried[f.Seq] = true
	}
	if len(carried) == 0 {
		return flows
	}
	out := make([]capture.Flow, 0, len(flows))
	for _, f := range flows {
		if !carried[f.Seq] {
			out = append(out, f)
		}
	}
	return out
}
