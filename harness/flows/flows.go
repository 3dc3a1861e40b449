// Package flows runs a profile's UI flows (telltale.dev/devices/profiles)
// on a phone through a telltale.dev/harness/ui driver: launch an app, tap,
// type, press keys, wait, scroll, toggle a switch, as a person would. A step
// that fails stops the flow with a *StepError that carries the step, where
// it is written, the selectors it tried, the screen's hierarchy and a
// screenshot, for the report.
//
// Its steps follow Maestro's commands (launchApp, tapOn, inputText,
// eraseText, pressKey, assertVisible, scrollUntilVisible, runFlow with env,
// optional and when-visible conditions), over adb alone.
package flows

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"strings"
	"time"

	"telltale.dev/devices/profiles"
	"telltale.dev/harness/ui"
)

// Phone is what a flow drives.
type Phone struct {
	UI *ui.Driver
	// Shell runs a command line on the phone and fails on a non-zero exit
	// (a session's Shell, with its deadlines and lost-device detection).
	Shell Shell
	// Lost, when set, says why the phone is gone; a step failing then is
	// reported without reading the screen again.
	Lost func() error
}

// DefaultTimeout is how long a step waits for what it looks for unless the
// step says otherwise: screens of real phones take seconds to settle.
const DefaultTimeout = 10 * time.Second

// Runner runs the flows of one phone.
type Runner struct {
	phone   Phone
	flows   profiles.Flows
	globals map[string]string
	// Timeout is a step's default wait (DefaultTimeout when zero).
	Timeout time.Duration
	// Log gets one line per step run, with its time.
	Log io.Writer
}

// New returns a runner of flows on phone; globals are parameters every flow
// gets (the profile's browser component as ${browser}).
func New(phone Phone, flows profiles.Flows, globals map[string]string) *Runner {
	return &Runner{phone: phone, flows: flows, globals: globals, Log: io.Discard}
}

// Has says whether the phone has a flow of that name.
func (r *Runner) Has(name string) bool { return r.flows[name] != nil }

// Run runs flow name with params (over the globals). A failing step stops
// it with a *StepError.
func (r *Runner) Run(ctx context.Context, name string, params map[string]string) error {
	all := maps.Clone(r.globals)
	if all == nil {
		all = map[string]string{}
	}
	maps.Copy(all, params)
	return r.run(ctx, []string{name}, all)
}

func (r *Runner) run(ctx context.Context, chain []string, params map[string]string) error {
	name := chain[len(chain)-1]
	f, ok := r.flows[name]
	if !ok {
		return fmt.Errorf("the phone's profile has no flow %q: add one to its flows (see devices/profiles/flows/)", name)
	}
	for i := range f.Steps {
		s := &f.Steps[i]
		start := time.Now()
		err := r.step(ctx, chain, s, params)
		var sub *StepError
		switch {
		case errors.As(err, &sub):
			return err // a step of a flow this step ran: already described
		case err == errSkipped:
			fmt.Fprintf(r.Log, "flow %s: %s: skipped (condition)\n", strings.Join(chain, " > "), s)
			continue
		case err != nil && s.Optional && ctx.Err() == nil && !errors.Is(err, ErrPhone):
			fmt.Fprintf(r.Log, "flow %s: %s: skipped (optional): %v\n", strings.Join(chain, " > "), s, err)
			continue
		case err != nil:
			return r.fail(ctx, chain, i, s, params, err)
		}
		fmt.Fprintf(r.Log, "flow %s: %s (%s)\n", strings.Join(chain, " > "), s, time.Since(start).Round(time.Millisecond))
	}
	return nil
}

// errSkipped is a step whose if/unless condition did not hold.
var errSkipped = errors.New("skipped")

// ErrPhone marks failures no retry or alternative fixes: the phone refuses
// injected input, has no uiautomator, or an app would not start.
var ErrPhone = errors.New("the phone refused")

func (r *Runner) timeout(s *profiles.Step) time.Duration {
	switch {
	case s.Timeout > 0:
		return s.Timeout
	case r.Timeout > 0:
		return r.Timeout
	}
	return DefaultTimeout
}

// step runs one step with params expanded.
func (r *Runner) step(ctx context.Context, chain []string, s *profiles.Step, params map[string]string) error {
	x, err := expand(s, params)
	if err != nil {
		return err
	}
	if len(x.If)+len(x.Unless) > 0 {
		sc, err := r.phone.UI.Dump(ctx)
		if err != nil {
			return classify(err)
		}
		if _, _, shown := sc.FindVisible(x.If...); len(x.If) > 0 && !shown {
			return errSkipped
		}
		if _, _, shown := sc.FindVisible(x.Unless...); len(x.Unless) > 0 && shown {
			return errSkipped
		}
	}
	drv, wait := r.phone.UI, r.timeout(s)
	switch s.Do {
	case profiles.StepLaunch:
		return Launch(ctx, r.phone.Shell, x.Value, s.Stop)
	case profiles.StepTap:
		sc, n, err := r.find(ctx, wait, x.On, x.Row)
		if err != nil {
			return err
		}
		p, err := pointIn(sc, n, x.Point)
		if err != nil {
			return err
		}
		return classify(drv.TapAt(ctx, p))
	case profiles.StepToggle:
		return r.toggle(ctx, wait, x)
	case profiles.StepType:
		return classify(drv.Type(ctx, x.Value))
	case profiles.StepErase:
		return r.erase(ctx, wait, x.On)
	case profiles.StepKey:
		return classify(drv.Key(ctx, keyName(x.Value)))
	case profiles.StepBack:
		return classify(drv.Key(ctx, ui.KeyBack))
	case profiles.StepHome:
		return classify(drv.Key(ctx, ui.KeyHome))
	case profiles.StepWait:
		_, _, err := drv.WaitVisible(ctx, wait, x.On...)
		return classify(err)
	case profiles.StepGone:
		return classify(drv.WaitGone(ctx, wait, x.On...))
	case profiles.StepAssert:
		_, _, err := drv.Find(ctx, x.On...)
		return classify(err)
	case profiles.StepScroll:
		swipes := s.Max
		if swipes <= 0 {
			swipes = 10
		}
		_, _, err := drv.ScrollUntilVisible(ctx, direction(s.Direction), swipes, x.On...)
		return classify(err)
	case profiles.StepSwipe:
		return r.swipe(ctx, wait, x)
	case profiles.StepRun:
		sub := maps.Clone(params)
		maps.Copy(sub, x.params)
		return r.run(ctx, append(chain, x.Value), sub)
	}
	return fmt.Errorf("unknown step %q", s.Do)
}

// Shell runs a command on the phone, each argument one word, and fails on
// a non-zero exit.
type Shell func(ctx context.Context, cmd string, args ...string) (string, error)

// Launch starts an activity (force-stopping its app first when stop, so it
// opens on its first screen) and
// reads what `am start -W` printed: it exits 0 even when nothing started,
// printing "Error: ..." instead (AOSP ActivityManagerShellCommand;
// appium-adb startApp reads the output too), and "Status: ok" once the
// activity is up.
func Launch(ctx context.Context, shell Shell, component string, stop bool) error {
	if stop {
		// What `am start -S` does, as its own command: every build has
		// `am force-stop` (AOSP ActivityManagerShellCommand).
		pkg, _, _ := strings.Cut(component, "/")
		out, err := shell(ctx, "am force-stop", pkg)
		if err != nil {
			return err
		}
		if bad := errorLine(out); bad != "" {
			return fmt.Errorf("%w: am force-stop %s: %s", ErrPhone, pkg, bad)
		}
	}
	out, err := shell(ctx, "am start -W -n", component)
	if err != nil {
		return err
	}
	if bad := errorLine(out); bad != "" || !strings.Contains(out, "Status: ok") {
		if bad == "" {
			bad = "no \"Status: ok\" in its output"
		}
		return fmt.Errorf("%w: am start %s: %s (output: %s)", ErrPhone, component, bad, oneLine(out))
	}
	return nil
}

// errorLine is the first line of am's output that reports a failure.
func errorLine(out string) string {
	for line := range strings.Lines(out) {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "Error") || strings.HasPrefix(line, "Exception") || strings.HasPrefix(line, "Status: timeout") {
			return line
		}
	}
	return ""
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return s
}

// find waits for a visible node On matches; with row, the one sharing the
// smallest container with a visible node row matches (the switch beside
// its label).
func (r *Runner) find(ctx context.Context, wait time.Duration, on, row []ui.Selector) (*ui.Screen, *ui.Node, error) {
	if len(row) == 0 {
		sc, n, err := r.phone.UI.WaitVisible(ctx, wait, on...)
		return sc, n, classify(err)
	}
	sc, anchor, err := r.phone.UI.WaitVisible(ctx, wait, row...)
	if err != nil {
		return nil, nil, classify(err)
	}
	n := beside(sc, anchor, func(c *ui.Node) bool {
		for _, s := range on {
			if s.Match(c) {
				return true
			}
		}
		return false
	})
	if n == nil {
		return sc, nil, &ui.NotFoundError{Selectors: on, Screen: sc}
	}
	return sc, n, nil
}

// toggle sets the switch on a row to the wanted state: it reads the checked
// attribute of the row's checkable node, taps only when it differs, and
// checks the result where the row is still on screen (a menu item closes
// its menu).
func (r *Runner) toggle(ctx context.Context, wait time.Duration, x *expanded) error {
	sc, label, err := r.find(ctx, wait, x.On, x.Row)
	if err != nil {
		return err
	}
	want := x.Value == "on"
	w := switchOf(sc, label)
	if w == nil {
		return fmt.Errorf("nothing checkable beside %s %q: point on: at the switch's label, whose row holds a checkable node", label.Class(), label.Text())
	}
	if checked(w) == want {
		return nil
	}
	p, _ := sc.TapPoint(w)
	if err := r.phone.UI.TapAt(ctx, p); err != nil {
		return classify(err)
	}
	after, err := r.phone.UI.Dump(ctx)
	if err != nil {
		return classify(err)
	}
	n, _, shown := after.FindVisible(x.On...)
	if !shown {
		return nil
	}
	if w := switchOf(after, n); w != nil && checked(w) != want {
		return fmt.Errorf("tapped the switch beside %q but it is still %s", n.Text(), onOff(!want))
	}
	return nil
}

// switchOf is the label itself when it is checkable, else the checkable
// node in its row.
func switchOf(sc *ui.Screen, label *ui.Node) *ui.Node {
	if v, _ := label.Attr("checkable"); v == "true" {
		return label
	}
	return beside(sc, label, func(n *ui.Node) bool { v, _ := n.Attr("checkable"); return v == "true" })
}

func checked(n *ui.Node) bool { v, _ := n.Attr("checked"); return v == "true" }

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// erase empties a text field as a person does on a keyboard: focus it, go
// to the end, delete as many characters as it shows. The count may be too
// high (an empty field shows its hint as its text), which is harmless.
func (r *Runner) erase(ctx context.Context, wait time.Duration, on []ui.Selector) error {
	sc, n, err := r.phone.UI.WaitVisible(ctx, wait, on...)
	if err != nil {
		return classify(err)
	}
	p, _ := sc.TapPoint(n)
	if err := r.phone.UI.TapAt(ctx, p); err != nil {
		return classify(err)
	}
	count := len([]rune(n.Text()))
	if count == 0 {
		return nil
	}
	// 123 KEYCODE_MOVE_END, 67 KEYCODE_DEL (AOSP KeyEvent.java); one
	// `input keyevent` takes them all.
	keys := []string{"123"}
	for range count {
		keys = append(keys, "67")
	}
	return classify(r.phone.UI.Key(ctx, keys...))
}

// swipe drags inside a node (or the whole screen) between two points given
// in percent of its bounds.
func (r *Runner) swipe(ctx context.Context, wait time.Duration, x *expanded) error {
	var sc *ui.Screen
	var n *ui.Node
	var err error
	if len(x.On) > 0 {
		sc, n, err = r.phone.UI.WaitVisible(ctx, wait, x.On...)
	} else {
		sc, err = r.phone.UI.Dump(ctx)
	}
	if err != nil {
		return classify(err)
	}
	from, err := pointIn(sc, n, x.Point)
	if err != nil {
		return err
	}
	to, err := pointIn(sc, n, x.To)
	if err != nil {
		return err
	}
	return classify(r.phone.UI.Swipe(ctx, from, to, 300*time.Millisecond))
}

// pointIn is where a tap lands: the centre of the node's visible part, or
// the point "X%,Y%" of it; n nil means the whole display.
func pointIn(sc *ui.Screen, n *ui.Node, point string) (ui.Point, error) {
	area := sc.Display()
	if n != nil {
		if point == "" {
			p, _ := sc.TapPoint(n)
			return p, nil
		}
		area = sc.VisibleBounds(n)
	}
	if point == "" {
		return area.Center(), nil
	}
	fx, fy, err := profiles.ParsePoint(point)
	if err != nil {
		return ui.Point{}, err
	}
	// Bounds are [x1,x2): the last pixel in is x2-1.
	at := func(lo, hi int, f float64) int { return lo + int(f*float64(max(hi-lo-1, 0))) }
	return ui.Point{X: at(area.X1, area.X2, fx), Y: at(area.Y1, area.Y2, fy)}, nil
}

// beside returns the first visible node match accepts inside the smallest
// container that holds anchor and such a node: in a settings list of
// identical switches, the one in the anchor's row.
func beside(sc *ui.Screen, anchor *ui.Node, match func(*ui.Node) bool) *ui.Node {
	idx := map[*ui.Node]int{}
	for i, n := range sc.Nodes {
		idx[n] = i
	}
	within := func(n *ui.Node, container int) bool {
		for p := idx[n]; p >= 0; p = sc.Nodes[p].Parent {
			if p == container {
				return true
			}
		}
		return false
	}
	for c := idx[anchor]; c >= 0; c = sc.Nodes[c].Parent {
		for _, n := range sc.Nodes {
			if n != anchor && match(n) && sc.Visible(n) && within(n, c) {
				return n
			}
		}
	}
	return nil
}

// keyName turns a flow's short key name (ENTER, BACK) into the KEYCODE_
// name `input keyevent` takes; numbers and full names pass as they are.
func keyName(k string) string {
	k = strings.ToUpper(strings.TrimSpace(k))
	if strings.HasPrefix(k, "KEYCODE_") || strings.Trim(k, "0123456789") == "" {
		return k
	}
	return "KEYCODE_" + k
}

func direction(d string) ui.Direction {
	switch d {
	case "up":
		return ui.Up
	case "left":
		return ui.Left
	case "right":
		return ui.Right
	}
	return ui.Down
}

// classify marks what no alternative or retry fixes as ErrPhone.
func classify(err error) error {
	if errors.Is(err, ui.ErrInputRefused) || errors.Is(err, ui.ErrNoUIAutomator) {
		return fmt.Errorf("%w: %w", ErrPhone, err)
	}
	return err
}
