// Package apptest runs one app's activity on a test screen, with the
// services it uses played by small fakes, and acts on it as input does:
// a tap lands where ui.HitTest says, text goes to the focused view, keys to
// the topmost window. The phone-level tests (through adb) live with each
// app; these are for what is quicker to check one screen at a time.
package apptest

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"telltale.dev/devices/sim/app"
	"telltale.dev/devices/sim/clock"
	"telltale.dev/devices/sim/content"
	"telltale.dev/devices/sim/event"
	"telltale.dev/devices/sim/ui"
	"telltale.dev/devices/sim/vfs"
)

// Display is the test screen: the Redmi Note 8's.
var Display = ui.R(0, 0, 1080, 2340)

// Env is an app.Env of fakes for pkg, and what it records.
type Env struct {
	app.Env
	Events   *Events
	Starts   *Starts
	Settings *Settings
	Props    Props
}

// NewEnv returns the fakes for pkg running as uid, on a real file system
// with the user storage.
func NewEnv(t testing.TB, pkg string, uid uint32) Env {
	t.Helper()
	fs := vfs.New()
	if err := fs.MkdirAll("/sdcard", 0o777, vfs.RootUID); err != nil {
		t.Fatal(err)
	}
	if err := fs.Chown("/sdcard", vfs.ShellUID, vfs.ShellUID, vfs.RootUID); err != nil {
		t.Fatal(err)
	}
	bus := &event.Bus{}
	ev := &Events{}
	bus.Subscribe(ev.add)
	e := Env{Events: ev, Starts: &Starts{}, Settings: &Settings{values: map[string]string{}}, Props: Props{}}
	e.Env = app.Env{Package: pkg, UID: uid, Clock: clock.Real(), Bus: bus, Activities: e.Starts,
		Settings: e.Settings, Files: fs, Props: e.Props}
	return e
}

// Events records what the app published.
type Events struct {
	mu  sync.Mutex
	all []event.Event
}

func (e *Events) add(ev event.Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.all = append(e.all, ev)
}

// Take returns the events so far, each as %T%+v, and forgets them.
func (e *Events) Take() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]string, len(e.all))
	for i, ev := range e.all {
		out[i] = fmt.Sprintf("%T%+v", ev, ev)
	}
	e.all = nil
	return out
}

// Starts records the activities the app started and how often it finished.
type Starts struct {
	mu      sync.Mutex
	Intents []content.Intent
	Backs   int
}

func (s *Starts) Start(in content.Intent, _ uint32) (content.ComponentName, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Intents = append(s.Intents, in)
	return in.Component, nil
}

func (s *Starts) Back() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Backs++
}

// Settings is a settings provider that records who wrote what.
type Settings struct {
	mu     sync.Mutex
	values map[string]string
	Writes []string // "ns:key=value by uid"
}

func (s *Settings) Setting(ns, key string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.values[ns+":"+key]
	return v, ok
}

func (s *Settings) Put(ns, key, value string, uid uint32) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.values[ns+":"+key] = value
	s.Writes = append(s.Writes, fmt.Sprintf("%s:%s=%s by %d", ns, key, value, uid))
	return nil
}

// Props are system properties.
type Props map[string]string

func (p Props) Get(name string) string { return p[name] }

// Screen is an activity shown on Display.
type Screen struct {
	T   testing.TB
	Act app.Activity
}

// windows are the activity's window and its overlays, topmost first.
func (s Screen) windows() []*ui.Window {
	ws := []*ui.Window{{Content: s.Act.Screen, Key: s.Act.Key}}
	if ov, ok := s.Act.(app.Overlays); ok {
		ws = append(ws, ov.Overlays()...)
	}
	for i, j := 0, len(ws)-1; i < j; i, j = i+1, j-1 {
		ws[i], ws[j] = ws[j], ws[i]
	}
	return ws
}

// Top is the topmost window's tree: what `uiautomator dump` shows.
func (s Screen) Top() *ui.Node { return s.windows()[0].Content(Display) }

// Find is the first node of the topmost window sel matches, nil if none.
func (s Screen) Find(sel Selector) *ui.Node {
	var found *ui.Node
	s.Top().Walk(func(n *ui.Node) bool {
		if sel.match(n) {
			found = n
			return false
		}
		return true
	})
	return found
}

// Must is Find failing the test when nothing matches.
func (s Screen) Must(sel Selector) *ui.Node {
	s.T.Helper()
	n := s.Find(sel)
	if n == nil {
		s.T.Fatalf("no %s on screen:\n%s", sel, Outline(s.Top()))
	}
	return n
}

// Tap taps the centre of the node sel matches, as a driver does.
func (s Screen) Tap(sel Selector) {
	s.T.Helper()
	x, y := s.Must(sel).Bounds.Center()
	s.TapAt(x, y)
}

// TapAt taps a point; nothing reacting there fails the test.
func (s Screen) TapAt(x, y int) {
	s.T.Helper()
	ws := s.windows()
	roots := make([]*ui.Node, len(ws))
	for i, w := range ws {
		roots[i] = w.Content(Display)
	}
	hit := ui.HitTest(roots, x, y)
	if hit == nil || hit.OnClick == nil {
		s.T.Fatalf("a tap at (%d,%d) reached nothing:\n%s", x, y, Outline(roots[0]))
	}
	hit.OnClick()
}

// Swipe drags from one point to another.
func (s Screen) Swipe(from, to ui.Point) {
	s.T.Helper()
	ws := s.windows()
	roots := make([]*ui.Node, len(ws))
	for i, w := range ws {
		roots[i] = w.Content(Display)
	}
	if ui.Dispatch(roots, from, to, ui.TouchSlop(Display)) == nil {
		s.T.Fatalf("a swipe from %v to %v moved nothing", from, to)
	}
}

// Type types into the focused view of the topmost window.
func (s Screen) Type(text string) {
	s.T.Helper()
	f := s.Top().Focus()
	if f == nil || f.OnText == nil {
		s.T.Fatalf("nothing focused takes text:\n%s", Outline(s.Top()))
	}
	f.OnText(text)
}

// Key presses a key as the window manager dispatches it: to the topmost
// window, then ENTER to the focused view's editor action. It says whether
// the app took it; a BACK it leaves would finish the activity.
func (s Screen) Key(code int) bool {
	w := s.windows()[0]
	if w.Key != nil && w.Key(code) {
		return true
	}
	if code == 66 {
		if f := w.Content(Display).Focus(); f != nil && f.OnEditorAction != nil {
			f.OnEditorAction()
			return true
		}
	}
	return false
}

// Selector picks nodes by their dumped attributes: every field set must
// equal the node's; ID may be the part after ":id/".
type Selector struct{ ID, Text, Desc, Class string }

func (s Selector) match(n *ui.Node) bool {
	if s.ID != "" && n.ResourceID != s.ID && !strings.HasSuffix(n.ResourceID, ":id/"+s.ID) {
		return false
	}
	return (s.Text == "" || n.Text == s.Text) && (s.Desc == "" || n.ContentDesc == s.Desc) && (s.Class == "" || n.Class == s.Class)
}

func (s Selector) String() string {
	return fmt.Sprintf("%+v", struct{ ID, Text, Desc, Class string }(s))
}

// ID, Text and Desc are the common selectors.
func ID(id string) Selector  { return Selector{ID: id} }
func Text(t string) Selector { return Selector{Text: t} }
func Desc(d string) Selector { return Selector{Desc: d} }

// Outline is a tree as one line per node, for failure messages.
func Outline(root *ui.Node) string {
	var b strings.Builder
	var walk func(n *ui.Node, depth int)
	walk = func(n *ui.Node, depth int) {
		fmt.Fprintf(&b, "%s%s id=%q text=%q desc=%q %v\n", strings.Repeat("  ", depth), n.Class, n.ResourceID, n.Text, n.ContentDesc, n.Bounds)
		for _, c := range n.Children {
			walk(c, depth+1)
		}
	}
	if root != nil {
		walk(root, 0)
	}
	return b.String()
}
