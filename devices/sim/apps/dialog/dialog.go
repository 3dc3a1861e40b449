// Package dialog is a system dialog that asks the user one question at a
// time, shows a countdown on the phone's clock, and answers no by itself
// when the countdown runs out. Magisk's su prompt (apps/magisk) and MIUI's
// adb-install confirmation (apps/securitycenter) both behave this way; each
// draws its own window from a View.
//
// A dialog is a window above the apps (a window.Source), not an activity
// in the activity manager's task stack: `dumpsys window` shows it focused
// under its activity's name, `dumpsys activity` does not list it
// (modeled).
package dialog

import (
	"context"
	"sync"
	"time"

	"telltale.dev/devices/sim/clock"
	"telltale.dev/devices/sim/ui"
)

// Countdown is a dialog's timer: the number shown first, when it first
// drops, how often it drops after that. The dialog answers no when it
// reaches 0.
type Countdown struct {
	From      int
	FirstTick time.Duration
	Tick      time.Duration
}

// Left is the number shown elapsed after the dialog appeared; 0 once the
// countdown has run out.
func (c Countdown) Left(elapsed time.Duration) int {
	if elapsed < c.FirstTick {
		return c.From
	}
	return max(0, c.From-1-int((elapsed-c.FirstTick)/c.Tick))
}

// Duration is how long the countdown runs.
func (c Countdown) Duration() time.Duration {
	return c.FirstTick + time.Duration(c.From-1)*c.Tick
}

// View is what a dialog's window is drawn from, at the time it is drawn.
type View[Q any] struct {
	Question Q
	// Left is the countdown's number now; Elapsed is how long the dialog has
	// been up.
	Left    int
	Elapsed time.Duration
	// Answer answers the question (a button's OnClick); later answers and
	// answers after the countdown ran out are ignored.
	Answer func(yes bool)
}

// Window names the dialog's window as `dumpsys window` shows it.
type Window struct {
	Package, Title string
	Layer          int
}

// keyBack is KEYCODE_BACK: both dialogs treat it as no (modeled).
const keyBack = 4

// Dialog asks questions of type Q.
type Dialog[Q any] struct {
	clk   clock.Clock
	count Countdown
	win   Window
	draw  func(v View[Q], bounds ui.Rect) *ui.Node

	turn chan struct{}

	mu  sync.Mutex
	cur *pending[Q]
}

type pending[Q any] struct {
	q     Q
	shown time.Time
	done  chan bool // buffered: the answer
	timer clock.Timer
}

// New returns a dialog that draws its window with draw.
func New[Q any](clk clock.Clock, count Countdown, win Window, draw func(View[Q], ui.Rect) *ui.Node) *Dialog[Q] {
	return &Dialog[Q]{clk: clk, count: count, win: win, draw: draw, turn: make(chan struct{}, 1)}
}

// Ask shows q once the dialog is free and returns the user's answer, false
// when the countdown runs out, or ctx's error when ctx ends first (the
// dialog goes away unanswered).
func (d *Dialog[Q]) Ask(ctx context.Context, q Q) (bool, error) {
	select {
	case d.turn <- struct{}{}:
	case <-ctx.Done():
		return false, ctx.Err()
	}
	defer func() { <-d.turn }()
	p := &pending[Q]{q: q, shown: d.clk.Now(), done: make(chan bool, 1)}
	d.mu.Lock()
	p.timer = d.clk.AfterFunc(d.count.Duration(), func() { d.answer(p, false) })
	d.cur = p
	d.mu.Unlock()
	select {
	case yes := <-p.done:
		return yes, nil
	case <-ctx.Done():
		d.mu.Lock()
		if d.cur == p {
			d.cur = nil
			p.timer.Stop()
		}
		d.mu.Unlock()
		return false, ctx.Err()
	}
}

// answer settles p once; the window goes with it.
func (d *Dialog[Q]) answer(p *pending[Q], yes bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cur != p {
		return
	}
	d.cur = nil
	p.timer.Stop()
	p.done <- yes
}

// Showing says whether a question is on the screen.
func (d *Dialog[Q]) Showing() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.cur != nil
}

// Windows is the dialog's window while it asks (window.Source).
func (d *Dialog[Q]) Windows() []*ui.Window {
	d.mu.Lock()
	p := d.cur
	d.mu.Unlock()
	if p == nil {
		return nil
	}
	answer := func(yes bool) { d.answer(p, yes) }
	return []*ui.Window{{
		Package: d.win.Package, Title: d.win.Title, Layer: d.win.Layer,
		Content: func(b ui.Rect) *ui.Node {
			elapsed := d.clk.Since(p.shown)
			return d.draw(View[Q]{Question: p.q, Left: d.count.Left(elapsed), Elapsed: elapsed, Answer: answer}, b)
		},
		// A dialog keeps the keys from the app behind it; BACK says no.
		Key: func(code int) bool {
			if code == keyBack {
				answer(false)
			}
			return true
		},
	}}
}

// Layout builds a dialog's views: nodes of one package, positions given in
// the pixels of a 1080-pixel-wide design and scaled to the screen.
type Layout struct {
	Package string
	Screen  ui.Rect
}

// Px scales a design length to the screen.
func (l Layout) Px(px int) int { return px * l.Screen.Width() / 1080 }

// Node is a view of class with resource id id ("" for none).
func (l Layout) Node(class, id string, r ui.Rect, children ...*ui.Node) *ui.Node {
	return &ui.Node{Class: class, ResourceID: id, Package: l.Package, Bounds: r, Children: children}
}

// Text is a TextView-like view showing text.
func (l Layout) Text(class, id, text string, r ui.Rect) *ui.Node {
	n := l.Node(class, id, r)
	n.Text = text
	return n
}

// Button is a clickable, focusable android.widget.Button.
func (l Layout) Button(id, text string, r ui.Rect, onClick func()) *ui.Node {
	n := l.Text("android.widget.Button", id, text, r)
	n.Clickable, n.Focusable, n.OnClick = true, true, onClick
	return n
}
