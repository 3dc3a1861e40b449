package ui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Tap waits (up to Options.Wait) for one of the selectors to match a visible
// node and taps the centre of its visible part.
func (d *Driver) Tap(ctx context.Context, sels ...Selector) (*Node, error) {
	sc, n, err := d.WaitVisible(ctx, d.opts.Wait, sels...)
	if err != nil {
		return nil, err
	}
	p, _ := sc.TapPoint(n)
	return n, d.TapAt(ctx, p)
}

// TapAt taps a point in the display's current coordinates.
func (d *Driver) TapAt(ctx context.Context, p Point) error {
	return d.input(ctx, fmt.Sprintf("input tap %d %d", p.X, p.Y))
}

// Swipe drags from one point to another over dur (at least 1 ms).
func (d *Driver) Swipe(ctx context.Context, from, to Point, dur time.Duration) error {
	ms := max(dur.Milliseconds(), 1)
	return d.input(ctx, fmt.Sprintf("input swipe %d %d %d %d %d", from.X, from.Y, to.X, to.Y, ms))
}

// Type types text into the focused field; see typeCommand for what can be
// typed. Empty text types nothing.
func (d *Driver) Type(ctx context.Context, text string) error {
	cmd, err := typeCommand(text)
	if err != nil || cmd == "" {
		return err
	}
	return d.input(ctx, cmd)
}

// Key presses keys in order: names such as KeyBack or "KEYCODE_SEARCH", or
// numeric key codes.
func (d *Driver) Key(ctx context.Context, keys ...string) error {
	if len(keys) == 0 {
		return errors.New("press which key? give a KEYCODE_ name or a number")
	}
	for _, k := range keys {
		if !keyForm.MatchString(k) {
			return fmt.Errorf("key %q: want a KEYCODE_ name (KEYCODE_BACK) or a key code number (4)", k)
		}
	}
	return d.input(ctx, "input keyevent "+strings.Join(keys, " "))
}

// input runs an `input` command and reads what it printed: `input` reports
// bad arguments and MIUI's refusal on its output, sometimes with exit 0.
func (d *Driver) input(ctx context.Context, cmd string) error {
	r, err := d.shell(ctx, cmd)
	if err != nil {
		return err
	}
	out := withoutThemeTrace(string(r.Stdout) + "\n" + string(r.Stderr))
	switch {
	case strings.Contains(out, "INJECT_EVENTS"):
		return fmt.Errorf("%s: %w", cmd, ErrInputRefused)
	case r.ExitKnown && r.ExitCode != 0,
		strings.Contains(out, "Error:"), strings.Contains(out, "Exception"):
		return fmt.Errorf("%s failed (exit %d): %s", cmd, r.ExitCode, excerpt(out))
	}
	return nil
}

// withoutThemeTrace drops the stack trace MIUI prints on stderr whenever an
// app_process tool (uiautomator, input on Android 10) starts: a harmless
// FileNotFoundException for theme_compatibility.xml (miui-ui.md section 7;
// TencentQQGYLab/AppAgent#101), which must not read as the command failing.
func withoutThemeTrace(out string) string {
	var b strings.Builder
	inTrace := false
	for line := range strings.Lines(out) {
		t := strings.TrimSpace(line)
		switch {
		case strings.Contains(t, "theme_compatibility.xml") && strings.Contains(t, "FileNotFoundException"):
			inTrace = true
			continue
		case inTrace && (strings.HasPrefix(t, "at ") || strings.HasPrefix(t, "...") || strings.HasPrefix(t, "Caused by:")):
			continue
		}
		inTrace = false
		b.WriteString(line)
	}
	return strings.TrimSpace(b.String())
}

// Direction is where ScrollUntilVisible looks: Down reveals what is below
// (the finger moves up), and so on.
type Direction int

const (
	Down Direction = iota
	Up
	Right
	Left
)

// ScrollUntilVisible swipes inside the largest scrollable view on screen
// (the whole display when there is none) until one of the selectors matches
// a visible node. It gives up after maxSwipes, or as soon as a swipe leaves
// the screen unchanged (the end of the list).
func (d *Driver) ScrollUntilVisible(ctx context.Context, dir Direction, maxSwipes int, sels ...Selector) (*Screen, *Node, error) {
	if len(sels) == 0 {
		return nil, nil, errNoSelector
	}
	sc, err := d.Dump(ctx)
	if err != nil {
		return nil, nil, err
	}
	for swipes := 0; ; swipes++ {
		if n, _, ok := sc.FindVisible(sels...); ok {
			return sc, n, nil
		}
		if swipes == maxSwipes {
			return sc, nil, d.notFound(ctx, sels, 0, sc, fmt.Errorf("gave up after %d swipes", swipes))
		}
		from, to := swipeFor(scrollArea(sc), dir)
		if err := d.Swipe(ctx, from, to, 300*time.Millisecond); err != nil {
			return sc, nil, err
		}
		next, err := d.Dump(ctx)
		if err != nil {
			return sc, nil, err
		}
		if fingerprint(next) == fingerprint(sc) {
			return next, nil, d.notFound(ctx, sels, 0, next, fmt.Errorf("the screen stopped changing after %d swipes (end of the list)", swipes+1))
		}
		sc = next
	}
}

// scrollArea is the visible part of the largest scrollable node, else the display.
func scrollArea(sc *Screen) Rect {
	best := sc.Display()
	bestArea := 0
	for _, n := range sc.Nodes {
		if n.get("scrollable") != "true" {
			continue
		}
		v := sc.VisibleBounds(n)
		if a := (v.X2 - v.X1) * (v.Y2 - v.Y1); !v.Empty() && a > bestArea {
			best, bestArea = v, a
		}
	}
	return best
}

// swipeFor drags across the middle 50% of the area, away from its edges
// where the system's gesture areas lie.
func swipeFor(r Rect, dir Direction) (from, to Point) {
	c := r.Center()
	h, w := r.Y2-r.Y1, r.X2-r.X1
	switch dir {
	case Up:
		return Point{c.X, r.Y1 + h/4}, Point{c.X, r.Y1 + 3*h/4}
	case Right:
		return Point{r.X1 + 3*w/4, c.Y}, Point{r.X1 + w/4, c.Y}
	case Left:
		return Point{r.X1 + w/4, c.Y}, Point{r.X1 + 3*w/4, c.Y}
	}
	return Point{c.X, r.Y1 + 3*h/4}, Point{c.X, r.Y1 + h/4}
}

// fingerprint tells two dumps of the same screen content apart from a scrolled one.
func fingerprint(sc *Screen) string {
	var b strings.Builder
	for _, n := range sc.Nodes {
		b.WriteString(n.Text())
		b.WriteByte(0)
		b.WriteString(n.Desc())
		b.WriteByte(0)
		b.WriteString(n.get("bounds"))
		b.WriteByte(0)
	}
	return b.String()
}
