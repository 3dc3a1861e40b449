package ui

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Find dumps the screen once and returns the first visible node the
// selectors match, trying them in order.
func (d *Driver) Find(ctx context.Context, sels ...Selector) (*Screen, *Node, error) {
	if len(sels) == 0 {
		return nil, nil, errNoSelector
	}
	sc, err := d.Dump(ctx)
	if err != nil {
		return nil, nil, err
	}
	if n, _, ok := sc.FindVisible(sels...); ok {
		return sc, n, nil
	}
	return sc, nil, d.notFound(ctx, sels, 0, sc, nil)
}

// WaitVisible dumps the screen until one of the selectors matches a visible
// node or timeout passes. Dumps that fail on a changing screen count as "not
// yet"; a phone without uiautomator or a lost device ends the wait at once.
func (d *Driver) WaitVisible(ctx context.Context, timeout time.Duration, sels ...Selector) (*Screen, *Node, error) {
	w, err := d.waitFor(ctx, timeout, sels, func(sc *Screen) bool {
		_, _, ok := sc.FindVisible(sels...)
		return ok
	})
	if err != nil {
		return nil, nil, err
	}
	if !w.ok {
		return w.screen, nil, d.notFound(ctx, sels, w.waited, w.screen, w.last)
	}
	n, _, _ := w.screen.FindVisible(sels...)
	return w.screen, n, nil
}

// WaitGone dumps the screen until none of the selectors matches a visible
// node or timeout passes.
func (d *Driver) WaitGone(ctx context.Context, timeout time.Duration, sels ...Selector) error {
	w, err := d.waitFor(ctx, timeout, sels, func(sc *Screen) bool {
		_, _, ok := sc.FindVisible(sels...)
		return !ok
	})
	switch {
	case err != nil:
		return err
	case w.ok:
		return nil
	case w.screen == nil:
		return fmt.Errorf("cannot tell whether %s went away: no dump succeeded in %v: %w", describeSelectors(sels), w.waited.Round(10*time.Millisecond), w.last)
	}
	n, _, _ := w.screen.FindVisible(sels...)
	return fmt.Errorf("%s still visible after %v: %s %s at %s", describeSelectors(sels), w.waited.Round(10*time.Millisecond), n.Class(), strconv.Quote(n.Text()), n.Bounds)
}

// waitResult is how a wait ended: ok when the condition held for screen, else
// screen is the last good dump (nil if none) and last the latest failure.
type waitResult struct {
	screen *Screen
	ok     bool
	waited time.Duration
	last   error
}

// waitFor dumps until done holds for a dump or timeout passes. Its error is
// for what ends a wait early: the caller's context, or a failure that no
// amount of waiting fixes.
func (d *Driver) waitFor(ctx context.Context, timeout time.Duration, sels []Selector, done func(*Screen) bool) (waitResult, error) {
	if len(sels) == 0 {
		return waitResult{}, errNoSelector
	}
	start := time.Now()
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var w waitResult
	for {
		sc, err := d.Dump(wctx)
		var de *DumpError
		switch {
		case err == nil:
			w.screen, w.last = sc, nil
			if done(sc) {
				w.ok, w.waited = true, time.Since(start)
				return w, nil
			}
		case ctx.Err() != nil:
			return w, context.Cause(ctx)
		case errors.As(err, &de):
			w.last = err
		case wctx.Err() == nil:
			return w, err
		}
		// A dump the wait's own deadline cut short ends here too.
		if wctx.Err() != nil || pause(wctx, d.opts.Poll) != nil {
			if ctx.Err() != nil {
				return w, context.Cause(ctx)
			}
			w.waited = time.Since(start)
			return w, nil
		}
	}
}

// notFound builds a NotFoundError, reading the screen state so the message
// can say when the phone is off or locked.
func (d *Driver) notFound(ctx context.Context, sels []Selector, waited time.Duration, sc *Screen, last error) error {
	e := &NotFoundError{Selectors: sels, Waited: waited, Screen: sc, Last: last}
	if ctx.Err() == nil {
		// Only a hint for the message: a hung phone must not hold it up long.
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		if st, err := d.State(sctx); err == nil {
			e.State = &st
		}
		cancel()
	}
	return e
}

var errNoSelector = errors.New("look for what? give at least one selector")
