// Package window is the window manager and the input path: the stack of
// windows on the display, which one has focus, injected input (the input
// tool) dispatched to the view under a tap or to the focused window, and
// the tools that look at the screen: uiautomator dump, screencap, wm and
// `dumpsys window`.
package window

import (
	"context"
	"fmt"
	"hash/fnv"
	"image"
	"slices"

	"telltale.dev/devices/sim/content"
	"telltale.dev/devices/sim/shell"
	"telltale.dev/devices/sim/system/logd"
	"telltale.dev/devices/sim/ui"
	"telltale.dev/devices/sim/vfs"
)

// Display is the phone's screen.
type Display struct {
	Width, Height int
	Density       int // dpi, as `wm density` reports it
}

// DefaultDisplay is a 6.3" 1080x2340 panel at 440 dpi, the Redmi Note 8's
// (modeled: the profiles do not carry the display yet).
var DefaultDisplay = Display{Width: 1080, Height: 2340, Density: 440}

// Source supplies windows: the app host its resumed activity's.
type Source interface {
	Windows() []*ui.Window
}

// Power is what input needs of the power manager.
type Power interface {
	ScreenOn() bool
	// Key offers a key to the power manager first; true when consumed.
	Key(code int) bool
}

// Activities is what input needs of the activity manager.
type Activities interface {
	Home() (content.ComponentName, error)
	Back()
}

// Config builds a window manager.
type Config struct {
	Display    Display
	Sources    []Source
	Power      Power
	Activities Activities
	Files      *vfs.FS
	Log        *logd.Log
	// SDK is the firmware's API level, which decides the dump's attributes.
	SDK int
	// MIUI marks a MIUI build, whose app_process tools print a theme
	// loader's stack trace on stderr.
	MIUI bool
}

// Manager is the window manager. It keeps no state of its own: windows
// come from their sources on demand, stacked by layer.
type Manager struct{ cfg Config }

// New returns a window manager.
func New(cfg Config) *Manager { return &Manager{cfg: cfg} }

// Screen is the display's bounds.
func (m *Manager) Screen() ui.Rect { return ui.R(0, 0, m.cfg.Display.Width, m.cfg.Display.Height) }

// Windows are the windows on the display, topmost first.
func (m *Manager) Windows() []*ui.Window {
	var all []*ui.Window
	for _, s := range m.cfg.Sources {
		all = append(all, s.Windows()...)
	}
	slices.SortStableFunc(all, func(a, b *ui.Window) int { return b.Layer - a.Layer })
	return all
}

// trees builds each window's view tree, topmost first.
func (m *Manager) trees(ws []*ui.Window) []*ui.Node {
	out := make([]*ui.Node, len(ws))
	for i, w := range ws {
		out[i] = w.Content(m.Screen())
	}
	return out
}

// Focused is the window keys go to: the topmost one; nil with none.
func (m *Manager) Focused() *ui.Window {
	if ws := m.Windows(); len(ws) > 0 {
		return ws[0]
	}
	return nil
}

// Screenshot draws what the display shows.
func (m *Manager) Screenshot() image.Image {
	ws := m.Windows()
	roots := m.trees(ws)
	slices.Reverse(roots) // painted bottom first
	return ui.Render(m.Screen(), roots, m.cfg.Power.ScreenOn())
}

// Commands are the input, uiautomator, screencap and wm tools.
func (m *Manager) Commands() map[string]shell.Func {
	return map[string]shell.Func{"input": m.input, "uiautomator": m.uiautomator, "screencap": m.screencap, "wm": m.wm}
}

// Dump is `dumpsys window [windows]`: the window list and the focus, in the
// shape appium-adb and other tools read (mCurrentFocus). Modeled subset.
func (m *Manager) Dump(_ context.Context, sio shell.IO, _ []string) int {
	ws := m.Windows()
	fmt.Fprintln(sio.Stdout, "WINDOW MANAGER WINDOWS (dumpsys window windows)")
	for i, w := range ws {
		fmt.Fprintf(sio.Stdout, "  Window #%d %s:\n    mDisplayId=0 mSession=Session{%07x} package=%s\n", len(ws)-1-i, windowName(w), hash(w.Package), w.Package)
	}
	if len(ws) > 0 {
		fmt.Fprintf(sio.Stdout, "\n  mCurrentFocus=%s\n", windowName(ws[0]))
	}
	return 0
}

// windowName is WindowState.toString: "Window{HASH u0 TITLE}".
func windowName(w *ui.Window) string {
	return fmt.Sprintf("Window{%07x u0 %s}", hash(w.Title), w.Title)
}

func hash(s string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(s))
	return h.Sum32() & 0xfffffff
}

// wm answers `wm size` and `wm density` (AOSP WindowManagerShellCommand).
func (m *Manager) wm(_ context.Context, sio shell.IO, args []string) int {
	if len(args) < 2 {
		fmt.Fprintln(sio.Stderr, "usage: wm [size|density] ...")
		return 1
	}
	switch args[1] {
	case "size":
		fmt.Fprintf(sio.Stdout, "Physical size: %dx%d\n", m.cfg.Display.Width, m.cfg.Display.Height)
	case "density":
		fmt.Fprintf(sio.Stdout, "Physical density: %d\n", m.cfg.Display.Density)
	default:
		fmt.Fprintf(sio.Stderr, "Error: unknown command '%s'\n", args[1])
		return 1
	}
	return 0
}
