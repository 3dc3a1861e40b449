package window_test

import (
	"context"
	"fmt"
	"image/png"
	"strings"
	"testing"

	"telltale.dev/devices/sim/clock"
	"telltale.dev/devices/sim/content"
	"telltale.dev/devices/sim/event"
	"telltale.dev/devices/sim/internal/cmdtest"
	"telltale.dev/devices/sim/shell"
	"telltale.dev/devices/sim/system"
	"telltale.dev/devices/sim/system/keyguard"
	"telltale.dev/devices/sim/system/logd"
	"telltale.dev/devices/sim/system/window"
	"telltale.dev/devices/sim/ui"
	"telltale.dev/devices/sim/vfs"
)

// screen is an app window with a button and a text field, and a dialog
// window above it covering the lower half.
type screen struct {
	got    []string
	dialog bool
}

func (s *screen) Windows() []*ui.Window {
	app := &ui.Window{Package: "a", Title: "a/a.Main", Layer: 2,
		Content: func(b ui.Rect) *ui.Node {
			return &ui.Node{Package: "a", Bounds: b, Children: []*ui.Node{
				{Text: "Go", Clickable: true, Bounds: ui.R(0, 0, 100, 100), OnClick: func() { s.got = append(s.got, "click Go") }},
				{Class: "android.widget.EditText", Focused: true, Bounds: ui.R(0, 100, 100, 200),
					OnText: func(t string) { s.got = append(s.got, "text "+t) }, OnEditorAction: func() { s.got = append(s.got, "enter") }},
			}}
		},
		Key: func(code int) bool { s.got = append(s.got, fmt.Sprint("app key ", code)); return code == 24 },
	}
	ws := []*ui.Window{app}
	if s.dialog {
		ws = append(ws, &ui.Window{Package: "d", Title: "d/d.Dialog", Layer: 3, Content: func(b ui.Rect) *ui.Node {
			return &ui.Node{Package: "d", Text: "Sure?", Bounds: ui.R(b.Left, b.Bottom/2, b.Right, b.Bottom)}
		}})
	}
	return ws
}

type power struct{ on bool }

func (p *power) ScreenOn() bool { return p.on }
func (p *power) Key(code int) bool {
	if code == 26 {
		p.on = !p.on
		return true
	}
	return false
}

type activities struct{ got *[]string }

func (a activities) Home() (content.ComponentName, error) {
	*a.got = append(*a.got, "home")
	return content.ComponentName{}, nil
}
func (a activities) Back() { *a.got = append(*a.got, "back") }

func newManager(s *screen, p *power) (*window.Manager, *vfs.FS) {
	fs := vfs.New()
	_ = fs.MkdirAll("/sdcard", 0o777, vfs.RootUID)
	return window.New(window.Config{Display: window.Display{Width: 400, Height: 800, Density: 160}, Sources: []window.Source{s},
		Power: p, Activities: activities{&s.got}, Files: fs, Log: logd.New(clock.Real()), SDK: 29}), fs
}

func TestInputDispatch(t *testing.T) {
	s, p := &screen{}, &power{on: true}
	m, _ := newManager(s, p)
	input := m.Commands()["input"]
	for _, args := range [][]string{
		{"input", "tap", "50", "50"}, {"input", "text", "hello%sworld"}, {"input", "keyevent", "KEYCODE_ENTER", "24", "4", "3", "26"},
		{"input", "tap", "50", "50"}, // the display is off: dropped
		{"input", "touchscreen", "swipe", "1", "2", "3", "4"},
	} {
		cmdtest.Must(t, input, args...)
	}
	want := []string{"click Go", "text hello world", "app key 66", "enter", "app key 24", "app key 4", "back", "home"}
	if fmt.Sprint(s.got) != fmt.Sprint(want) {
		t.Errorf("dispatch\n got %q\nwant %q", s.got, want)
	}
	ctx := context.Background()
	for _, bad := range [][]string{{"input", "tap", "x", "1"}, {"input", "keyevent", "NOPE"}, {"input", "fly"}, {"input"}} {
		if r := cmdtest.Run(ctx, input, bad...); r.Code != 1 || r.Err == "" {
			t.Errorf("%v: %+v", bad, r)
		}
	}
}

func TestTopmostWindowTakesTheTouchAndTheDump(t *testing.T) {
	s, p := &screen{dialog: true}, &power{on: true}
	m, fs := newManager(s, p)
	m.Tap(50, 500) // under the dialog: it takes the touch, though nothing in it reacts
	m.Tap(50, 50)
	if fmt.Sprint(s.got) != "[click Go]" {
		t.Errorf("taps reached %q", s.got)
	}
	ua := m.Commands()["uiautomator"]
	out := cmdtest.Must(t, ua, "uiautomator", "dump", "/dev/tty")
	if !strings.Contains(out, `package="d"`) || strings.Contains(out, `package="a"`) || !strings.HasSuffix(out, "</hierarchy>UI hierchary dumped to: /dev/tty\n") {
		t.Errorf("dump of the active window:\n%s", out)
	}
	ctx := shell.WithUID(context.Background(), 2000)
	if r := cmdtest.Run(ctx, ua, "uiautomator", "dump", "--compressed"); r.Out != "UI hierchary dumped to: /sdcard/window_dump.xml\n" || r.Err != "" {
		t.Errorf("dump to the default file: %+v", r)
	}
	if b, err := fs.ReadFile("/sdcard/window_dump.xml"); err != nil || !strings.HasSuffix(string(b), "</hierarchy>") {
		t.Errorf("window_dump.xml: %q %v", b, err)
	}
	if r := cmdtest.Run(ctx, ua, "uiautomator", "dump", "/proc/x.xml"); r.Code != 1 || !strings.Contains(r.Err, "could not write") {
		t.Errorf("dump to an unwritable file: %+v", r)
	}
	if out := cmdtest.Must(t, m.Dump); !strings.Contains(out, "mCurrentFocus=Window{") || !strings.Contains(out, " u0 d/d.Dialog}") {
		t.Errorf("dumpsys window:\n%s", out)
	}
	if out := cmdtest.Must(t, m.Commands()["wm"], "wm", "size"); out != "Physical size: 400x800\n" {
		t.Errorf("wm size: %q", out)
	}
	png1 := cmdtest.Must(t, m.Commands()["screencap"], "screencap", "-p")
	img, err := png.Decode(strings.NewReader(png1))
	if err != nil || img.Bounds().Dx() != 400 || img.Bounds().Dy() != 800 {
		t.Fatalf("screencap: %v %v", err, img)
	}
}

// shellGate refuses INJECT_EVENTS to the shell, as MIUI does without "USB
// debugging (Security settings)".
type shellGate struct{}

func (shellGate) MayInjectInput(uid uint32) bool { return uid != 2000 }

// TestInjectionRefusedWithoutThePermission: each input command parses its
// arguments, then fails at the injection with InputManager's exception
// and exit 1, and nothing reaches the screen; root may inject. On MIUI the
// tool's start prints the theme loader's trace first, unless the file it
// looks for exists.
func TestInjectionRefusedWithoutThePermission(t *testing.T) {
	s, p := &screen{}, &power{on: true}
	fs := vfs.New()
	_ = fs.MkdirAll("/sdcard", 0o777, vfs.RootUID)
	m := window.New(window.Config{Display: window.Display{Width: 400, Height: 800, Density: 160}, Sources: []window.Source{s},
		Power: p, Activities: activities{&s.got}, Gate: shellGate{}, Files: fs, Log: logd.New(clock.Real()), SDK: 29,
		Runtime: system.Runtime{MIUI: true, Files: fs}})
	input := m.Commands()["input"]
	shellCtx := shell.WithUID(context.Background(), 2000)
	const trace = "java.io.FileNotFoundException: /data/system/theme_config/theme_compatibility.xml: open failed: ENOENT (No such file or directory)\n"
	const refusal = "java.lang.SecurityException: Injecting to another application requires INJECT_EVENTS permission\n\tat android.os.Parcel.createException(Parcel.java)\n"
	for _, args := range [][]string{{"input", "tap", "50", "50"}, {"input", "text", "x"}, {"input", "keyevent", "66"}, {"input", "swipe", "1", "2", "3", "4"}} {
		r := cmdtest.Run(shellCtx, input, args...)
		if r.Code != 1 || !strings.HasPrefix(r.Err, trace) || !strings.Contains(r.Err, "\tat com.android.commands.input.Input.main(Input.java)\n"+refusal) {
			t.Errorf("%v as the shell:\n%+v", args, r)
		}
	}
	if len(s.got) != 0 {
		t.Errorf("refused input reached the app: %q", s.got)
	}
	if r := cmdtest.Run(shellCtx, input, "input", "tap", "x", "1"); r.Code != 1 || strings.Contains(r.Err, "SecurityException") {
		t.Errorf("bad arguments are refused before the injection: %+v", r)
	}
	if err := fs.MkdirAll("/data/system/theme_config", 0o755, vfs.RootUID); err != nil {
		t.Fatal(err)
	}
	if err := fs.WriteFile("/data/system/theme_config/theme_compatibility.xml", nil, 0o644, vfs.RootUID, false); err != nil {
		t.Fatal(err)
	}
	root := shell.WithUID(context.Background(), 0)
	if r := cmdtest.Run(root, input, "input", "tap", "50", "50"); r.Code != 0 || r.Err != "" || fmt.Sprint(s.got) != "[click Go]" {
		t.Errorf("root's tap with the theme file in place: %+v, app got %q", r, s.got)
	}
}

// TestKeyguard: sleep brings the keyguard; waking leaves it up and on top
// of the app, keeping taps and HOME; dumpsys window says so as
// appium-adb's lock checks read it; an upward swipe dismisses it, as
// `wm dismiss-keyguard` does.
func TestKeyguard(t *testing.T) {
	var bus event.Bus
	s := &screen{}
	p := &busPower{bus: &bus, on: true}
	log := logd.New(clock.Real())
	kg := keyguard.New(&bus, log, clock.Real(), 29)
	m := window.New(window.Config{Display: window.Display{Width: 400, Height: 800, Density: 160}, Sources: []window.Source{s, kg},
		Power: p, Activities: activities{&s.got}, Keyguard: kg, Files: vfs.New(), Log: log, SDK: 29})
	input := m.Commands()["input"]
	if out := cmdtest.Must(t, m.Dump, "policy"); !strings.Contains(out, "mDreamingLockscreen=false") || !strings.Contains(out, "isStatusBarKeyguard=false") {
		t.Errorf("unlocked:\n%s", out)
	}
	cmdtest.Must(t, input, "input", "keyevent", "26")
	out := cmdtest.Must(t, m.Dump)
	for _, want := range []string{"mCurrentFocus=Window{", " u0 StatusBar}", "mDreamingLockscreen=true", "isStatusBarKeyguard=true",
		"mScreenOnFully=false", "screenState=SCREEN_STATE_OFF", "KeyguardStateMonitor\n        mIsShowing=true"} {
		if !strings.Contains(out, want) {
			t.Errorf("asleep: no %q in\n%s", want, out)
		}
	}
	dump := cmdtest.Must(t, m.Commands()["uiautomator"], "uiautomator", "dump", "/dev/tty")
	if !strings.Contains(dump, `package="com.android.systemui"`) || strings.Contains(dump, `package="a"`) {
		t.Errorf("dump while asleep shows the lock screen, got:\n%s", dump)
	}
	cmdtest.Must(t, input, "input", "keyevent", "224")
	out = cmdtest.Must(t, m.Dump)
	if !strings.Contains(out, "mDreamingLockscreen=false") || !strings.Contains(out, "isStatusBarKeyguard=true") || !strings.Contains(out, "u0 StatusBar}") {
		t.Errorf("awake and locked:\n%s", out)
	}
	cmdtest.Must(t, input, "input", "tap", "50", "50")
	cmdtest.Must(t, input, "input", "keyevent", "3")
	cmdtest.Must(t, input, "input", "swipe", "200", "700", "200", "600")
	if len(s.got) != 0 || !kg.Showing() {
		t.Errorf("through the keyguard: app got %q, keyguard showing %v", s.got, kg.Showing())
	}
	cmdtest.Must(t, input, "input", "touchscreen", "swipe", "200", "640", "200", "160")
	if kg.Showing() {
		t.Error("an upward swipe left the keyguard up")
	}
	cmdtest.Must(t, input, "input", "keyevent", "223")
	cmdtest.Must(t, input, "input", "keyevent", "224")
	cmdtest.Must(t, m.Commands()["wm"], "wm", "dismiss-keyguard")
	cmdtest.Must(t, input, "input", "tap", "50", "50")
	if fmt.Sprint(s.got) != "[click Go]" || kg.Showing() {
		t.Errorf("after wm dismiss-keyguard: app got %q, keyguard %v", s.got, kg.Showing())
	}
}

// busPower is the power manager's key handling with the event it
// publishes, for the keyguard to follow.
type busPower struct {
	bus *event.Bus
	on  bool
}

func (p *busPower) ScreenOn() bool { return p.on }
func (p *busPower) Key(code int) bool {
	next := map[int]func(bool) bool{26: func(on bool) bool { return !on }, 223: func(bool) bool { return false }, 224: func(bool) bool { return true }}[code]
	if next == nil {
		return false
	}
	if on := next(p.on); on != p.on {
		p.on = on
		p.bus.Publish(event.ScreenChanged{On: on})
	}
	return true
}
