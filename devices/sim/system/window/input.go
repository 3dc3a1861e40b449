package window

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"telltale.dev/devices/sim/shell"
	"telltale.dev/devices/sim/system"
	"telltale.dev/devices/sim/ui"
)

// Key codes input dispatches itself (android.view.KeyEvent).
const (
	keyHome       = 3
	keyBack       = 4
	keyDpadCenter = 23
	keyEnter      = 66
)

// keyCodes are the KEYCODE_ names the input tool accepts besides numbers.
var keyCodes = map[string]int{
	"KEYCODE_HOME": keyHome, "KEYCODE_BACK": keyBack, "KEYCODE_DPAD_CENTER": keyDpadCenter, "KEYCODE_POWER": 26,
	"KEYCODE_MENU": 82, "KEYCODE_SLEEP": 223, "KEYCODE_WAKEUP": 224, "KEYCODE_ENTER": keyEnter, "KEYCODE_DEL": 67,
}

var inputCommands = map[string]bool{"tap": true, "swipe": true, "text": true, "keyevent": true, "press": true, "roll": true}

func errf(sio shell.IO, format string, args ...any) int {
	fmt.Fprintf(sio.Stderr, format+"\n", args...)
	return 1
}

// input is the input tool (AOSP cmds/input, an app_process tool on Android
// 10 and 11): its argument checks and messages, with the events dispatched
// here instead of through InputManager. Each injection needs INJECT_EVENTS;
// without it InputManager throws, and BaseCommand.run prints the stack
// trace and exits 1 (the trace: DeviceFarmer/STFService.apk#144, a Xiaomi
// on Android 10; frames without line numbers, modeled). Android 12 moved
// the tool into `cmd input` and 13 reworded the exception; later releases
// are modeled on 10 and 11 until a MIUI profile needs them.
func (m *Manager) input(ctx context.Context, sio shell.IO, args []string) int {
	m.cfg.Runtime.Start(sio, "com.android.commands.input.Input.main(Input.java)")
	args = args[1:]
	// An input source ("touchscreen", "keyboard") may come first.
	if len(args) > 1 && !inputCommands[args[0]] {
		args = args[1:]
	}
	if len(args) == 0 {
		return errf(sio, "Usage: input [<source>] <command> [<arg>...]")
	}
	nums := func(want int) ([]int, bool) {
		if len(args)-1 < want {
			return nil, false
		}
		out := make([]int, want)
		for i, a := range args[1 : want+1] {
			f, err := strconv.ParseFloat(a, 64)
			if err != nil {
				return nil, false
			}
			out[i] = int(f)
		}
		return out, true
	}
	refused := func(injector string) int {
		system.PrintStackTrace(sio, system.Throwable{Class: "java.lang.SecurityException",
			Message: "Injecting to another application requires INJECT_EVENTS permission",
			Frames: []string{"android.os.Parcel.createException(Parcel.java)", "android.os.Parcel.readException(Parcel.java)",
				"android.hardware.input.IInputManager$Stub$Proxy.injectInputEvent(IInputManager.java)",
				"android.hardware.input.InputManager.injectInputEvent(InputManager.java)",
				"com.android.commands.input.Input." + injector + "(Input.java)", "com.android.commands.input.Input.onRun(Input.java)",
				"com.android.internal.os.BaseCommand.run(BaseCommand.java)", "com.android.commands.input.Input.main(Input.java)"}})
		return 1
	}
	allowed := m.cfg.Gate == nil || m.cfg.Gate.MayInjectInput(shell.UID(ctx))
	switch args[0] {
	case "tap":
		xy, ok := nums(2)
		if !ok {
			return errf(sio, "Error: Invalid arguments for command: tap\nUsage: input tap <x> <y>")
		}
		if !allowed {
			return refused("injectMotionEvent")
		}
		m.Tap(xy[0], xy[1])
	case "swipe":
		c, ok := nums(4)
		if !ok {
			return errf(sio, "Error: Invalid arguments for command: swipe\nUsage: input swipe <x1> <y1> <x2> <y2> [duration(ms)]")
		}
		if !allowed {
			return refused("injectMotionEvent")
		}
		m.Swipe(c[0], c[1], c[2], c[3])
	case "text":
		if len(args) < 2 {
			return errf(sio, "Error: Invalid arguments for command: text")
		}
		if !allowed {
			return refused("injectKeyEvent")
		}
		m.Text(strings.ReplaceAll(strings.Join(args[1:], " "), "%s", " "))
	case "keyevent", "press":
		keys := args[1:]
		if args[0] == "press" {
			keys = []string{"KEYCODE_DPAD_CENTER"}
		}
		var codes []int
		for _, k := range keys {
			if strings.HasPrefix(k, "--") {
				continue
			}
			code, ok := keyCodes[k]
			if !ok {
				n, err := strconv.Atoi(k)
				if err != nil && !strings.HasPrefix(k, "KEYCODE_") {
					return errf(sio, "Error: Unknown keycode: %s", k)
				}
				code = n
			}
			codes = append(codes, code)
		}
		if len(codes) > 0 && !allowed {
			return refused("injectKeyEvent")
		}
		for _, code := range codes {
			m.Key(code)
		}
	case "roll":
		if !allowed {
			return refused("injectMotionEvent")
		}
	default:
		return errf(sio, "Error: Unknown command: %s", args[0])
	}
	return 0
}

// Swipe delivers a swipe from (x1, y1) to (x2, y2) to the topmost window's
// source when it takes swipes (the keyguard's upward swipe); app windows
// do not scroll (modeled). Dropped while the display is off.
func (m *Manager) Swipe(x1, y1, x2, y2 int) {
	if !m.cfg.Power.ScreenOn() {
		m.cfg.Log.Printf("I", "InputDispatcher", "Dropping event because the device is not interactive: swipe")
		return
	}
	stack := m.stack()
	if len(stack) == 0 {
		return
	}
	if sw, ok := stack[0].src.(Swiper); ok {
		sw.Swipe(x1, y1, x2, y2, m.Screen())
	}
}

// Tap delivers a touch at (x, y) to the view under it. While the display is
// off, touches are dropped, as PhoneWindowManager drops motion events when
// the device is not interactive.
func (m *Manager) Tap(x, y int) {
	if !m.cfg.Power.ScreenOn() {
		m.cfg.Log.Printf("I", "InputDispatcher", "Dropping event because the device is not interactive: tap (%d, %d)", x, y)
		return
	}
	hit := ui.HitTest(m.trees(m.Windows()), x, y)
	if hit == nil || hit.OnClick == nil {
		return
	}
	m.cfg.Log.Printf("I", "InputDispatcher", "tap (%d, %d) on %s %q", x, y, hit.Class, hit.Text+hit.ContentDesc)
	hit.OnClick()
}

// Text types into the focused view of the focused window.
func (m *Manager) Text(s string) {
	m.cfg.Log.Printf("I", "Input", "text %q", s)
	if n := m.focusedView(); n != nil && n.OnText != nil {
		n.OnText(s)
	}
}

func (m *Manager) focusedView() *ui.Node {
	w := m.Focused()
	if w == nil {
		return nil
	}
	return w.Content(m.Screen()).Focus()
}

// Key dispatches one key press as PhoneWindowManager does: the power keys
// to the power manager, HOME to the home screen, the rest to the focused
// window; a BACK it leaves finishes its activity, an ENTER it leaves is its
// focused view's editor action.
func (m *Manager) Key(code int) {
	m.cfg.Log.Printf("I", "Input", "key %d", code)
	if m.cfg.Power.Key(code) {
		return
	}
	// The keyguard keeps HOME and BACK too: PhoneWindowManager does not go
	// home while it shows (launchHomeFromHotKey respects the keyguard).
	if m.cfg.Keyguard != nil && m.cfg.Keyguard.Showing() {
		if w := m.Focused(); w != nil && w.Key != nil {
			w.Key(code)
		}
		return
	}
	if code == keyHome {
		_, _ = m.cfg.Activities.Home()
		return
	}
	if w := m.Focused(); w != nil && w.Key != nil && w.Key(code) {
		return
	}
	switch code {
	case keyBack:
		m.cfg.Activities.Back()
	case keyEnter:
		if n := m.focusedView(); n != nil && n.OnEditorAction != nil {
			n.OnEditorAction()
		}
	}
}
