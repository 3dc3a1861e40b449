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
	"strings"

	"telltale.dev/devices/sim/content"
	"telltale.dev/devices/sim/shell"
	"telltale.dev/devices/sim/system"
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

// Keyguard is what the window manager's policy knows of the lock screen
// (KeyguardServiceDelegate).
type Keyguard interface {
	Showing() bool
	DreamingLockscreen() bool
	Dismiss() bool
	// WindowTitle names the window the keyguard is drawn in.
	WindowTitle() string
}

// Gate says whether a user may inject input (INJECT_EVENTS).
type Gate interface {
	MayInjectInput(uid uint32) bool
}

// Swiper is a Source whose windows take swipes themselves (the keyguard);
// Swipe says whether it took this one.
type Swiper interface {
	Swipe(x1, y1, x2, y2 int, screen ui.Rect) bool
}

// Config builds a window manager.
type Config struct {
	Display Display
	// Sources supply the windows; a window's source is asked to take the
	// swipes that start on it when it is a Swiper.
	Sources    []Source
	Power      Power
	Activities Activities
	// Keyguard is the lock screen; nil for a phone without one.
	Keyguard Keyguard
	// Gate decides who may inject input; nil lets everyone.
	Gate  Gate
	Files *vfs.FS
	Log   *logd.Log
	// SDK is the firmware's API level, which decides the dump's attributes.
	SDK int
	// Runtime starts the app_process tools (uiautomator, input).
	Runtime system.Runtime
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
	stack := m.stack()
	out := make([]*ui.Window, len(stack))
	for i, p := range stack {
		out[i] = p.win
	}
	return out
}

// placed is a window and the source that supplied it.
type placed struct {
	win *ui.Window
	src Source
}

// stack is the windows with their sources, topmost first.
func (m *Manager) stack() []placed {
	var all []placed
	for _, s := range m.cfg.Sources {
		for _, w := range s.Windows() {
			all = append(all, placed{w, s})
		}
	}
	slices.SortStableFunc(all, func(a, b placed) int { return b.win.Layer - a.win.Layer })
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

// Dump is `dumpsys window [windows|policy]`: the window list and the focus
// in the shape appium-adb and other tools read (mCurrentFocus), then the
// policy's lock-screen facts. Modeled subset.
func (m *Manager) Dump(_ context.Context, sio shell.IO, args []string) int {
	section := ""
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		section = args[0]
	}
	if section == "" || section == "windows" {
		m.dumpWindows(sio)
	}
	if section == "" || section == "policy" {
		m.dumpPolicy(sio)
	}
	return 0
}

func (m *Manager) dumpWindows(sio shell.IO) {
	ws := m.Windows()
	fmt.Fprintln(sio.Stdout, "WINDOW MANAGER WINDOWS (dumpsys window windows)")
	for i, w := range ws {
		fmt.Fprintf(sio.Stdout, "  Window #%d %s:\n    mDisplayId=0 mSession=Session{%07x} package=%s\n", len(ws)-1-i, windowName(w), hash(w.Package), w.Package)
	}
	if len(ws) > 0 {
		fmt.Fprintf(sio.Stdout, "\n  mCurrentFocus=%s\n", windowName(ws[0]))
	}
	fmt.Fprintf(sio.Stdout, "\n  init=%dx%d %ddpi cur=%dx%d\n", m.cfg.Display.Width, m.cfg.Display.Height, m.cfg.Display.Density,
		m.cfg.Display.Width, m.cfg.Display.Height)
}

// dumpPolicy is the lock-screen part of PhoneWindowManager.dump and
// KeyguardServiceDelegate.dump, the lines appium-adb's lockmgmt.ts reads
// (mDreamingLockscreen, isStatusBarKeyguard, mScreenOnFully, showing=,
// screenState=, KeyguardStateMonitor mIsShowing/mInputRestricted). The
// line shapes follow PhoneWindowManager.dump (mAwake printed without a
// space before mScreenOnEarly, as it is); which lines Android 10 and 11
// still print is modeled.
func (m *Manager) dumpPolicy(sio shell.IO) {
	kg := m.cfg.Keyguard
	if kg == nil {
		return
	}
	on := m.cfg.Power.ScreenOn()
	showing := kg.Showing()
	w := sio.Stdout
	fmt.Fprintln(w, "WINDOW MANAGER POLICY STATE (dumpsys window policy)")
	fmt.Fprintln(w, "    mSafeMode=false mSystemReady=true mSystemBooted=true")
	fmt.Fprintf(w, "    mAwake=%vmScreenOnEarly=%v mScreenOnFully=%v\n", on, on, on)
	fmt.Fprintln(w, "    mKeyguardDrawComplete=true mWindowManagerDrawComplete=true")
	fmt.Fprintf(w, "    mShowingDream=false mDreamingLockscreen=%v mDreamingSleepToken=null\n", kg.DreamingLockscreen())
	fmt.Fprintf(w, "    mStatusBar=%s isStatusBarKeyguard=%v\n", windowName(&ui.Window{Title: kg.WindowTitle()}), showing)
	screen, interactive := "SCREEN_STATE_ON", "INTERACTIVE_STATE_AWAKE"
	if !on {
		screen, interactive = "SCREEN_STATE_OFF", "INTERACTIVE_STATE_SLEEP"
	}
	fmt.Fprintf(w, "    KeyguardServiceDelegate\n      showing=%v\n      showingAndNotOccluded=%v\n      inputRestricted=%v\n", showing, showing, showing)
	fmt.Fprintf(w, "      occluded=false\n      secure=false\n      dreaming=false\n      systemIsReady=true\n      deviceHasKeyguard=true\n      enabled=true\n")
	fmt.Fprintf(w, "      currentUser=0\n      bootCompleted=true\n      screenState=%s\n      interactiveState=%s\n", screen, interactive)
	fmt.Fprintf(w, "      KeyguardStateMonitor\n        mIsShowing=%v\n        mSimSecure=false\n        mInputRestricted=%v\n        mCurrentUserId=0\n", showing, showing)
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

// wm answers `wm size`, `wm density` and `wm dismiss-keyguard` (AOSP
// WindowManagerShellCommand; dismiss-keyguard is how appium-adb unlocks an
// insecure keyguard on API 22+, lockmgmt.ts).
func (m *Manager) wm(_ context.Context, sio shell.IO, args []string) int {
	if len(args) < 2 {
		fmt.Fprintln(sio.Stderr, "usage: wm [size|density|dismiss-keyguard] ...")
		return 1
	}
	switch args[1] {
	case "size":
		fmt.Fprintf(sio.Stdout, "Physical size: %dx%d\n", m.cfg.Display.Width, m.cfg.Display.Height)
	case "density":
		fmt.Fprintf(sio.Stdout, "Physical density: %d\n", m.cfg.Display.Density)
	case "dismiss-keyguard":
		if m.cfg.Keyguard != nil {
			m.cfg.Keyguard.Dismiss()
		}
	default:
		fmt.Fprintf(sio.Stderr, "Error: unknown command '%s'\n", args[1])
		return 1
	}
	return 0
}
