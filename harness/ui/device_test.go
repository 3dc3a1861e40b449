package ui

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image/png"
	"strings"
	"testing"
	"time"

	"telltale.dev/devices/adb"
	"telltale.dev/devices/sim"
	"telltale.dev/devices/sim/rig/rigtest"
)

// These tests drive a simulated phone through the real Debian adb server,
// as the harness drives a real one.

func startPhone(t testing.TB) (*Driver, *adb.Device) {
	t.Helper()
	r := rigtest.New(t)
	p := rigtest.Phone(t, r, sim.Config{})
	dev := r.Client().Device(p.Serial())
	return New(dev, Options{Wait: 3 * time.Second, Poll: 50 * time.Millisecond}), dev
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// requireUIAutomator skips, loudly, when the phone cannot dump its screen.
func requireUIAutomator(t *testing.T, dev *adb.Device) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	r, err := dev.Shell(ctx, "uiautomator dump /dev/tty")
	if err != nil {
		t.Fatal(err)
	}
	if r.ExitCode == 127 || !bytes.Contains(r.Stdout, []byte("<hierarchy")) {
		t.Skipf("NOT RUN: the simulated phone has no working uiautomator yet (exit %d: %q)", r.ExitCode, excerpt(string(r.Stdout)+string(r.Stderr)))
	}
}

func TestDeviceStateFollowsThePowerKeys(t *testing.T) {
	d, _ := startPhone(t)
	ctx := testCtx(t)
	st, err := d.State(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !st.ScreenOn || st.Wakefulness != "Awake" {
		t.Fatalf("a fresh phone: %s, want the screen on", st)
	}
	if err := d.Key(ctx, KeySleep); err != nil {
		t.Fatal(err)
	}
	if st, err = d.State(ctx); err != nil || st.ScreenOn || st.Ready() {
		t.Fatalf("after SLEEP: %s (%v), want the screen off", st, err)
	}
	// A node not found on a dark screen: the error says why it may not be
	// there. (What a real phone dumps while asleep is its keyguard or
	// nothing; the simulated one still dumps the launcher.)
	sel, _ := ParseSelector("text=No such thing")
	if _, _, err := d.WaitVisible(ctx, 300*time.Millisecond, sel); err == nil || !strings.Contains(err.Error(), "wake and unlock it first") {
		t.Errorf("WaitVisible with the screen off: %v, want a hint to wake the phone", err)
	}
	if err := d.Key(ctx, KeyWakeup); err != nil {
		t.Fatal(err)
	}
	if st, err = d.State(ctx); err != nil || !st.ScreenOn {
		t.Fatalf("after WAKEUP: %s (%v), want the screen on", st, err)
	}
	// A real phone wakes onto its keyguard (appium-adb lockmgmt); a phone
	// that reports its keyguard must say so.
	if st.LockKnown && !st.Locked {
		t.Errorf("after SLEEP and WAKEUP: %s, want the keyguard showing", st)
	}
	t.Logf("after SLEEP and WAKEUP: %s", st)
}

func TestDeviceTypesThroughThePhonesShell(t *testing.T) {
	d, dev := startPhone(t)
	ctx := testCtx(t)
	texts := []string{`it's 100%sure & "quoted" $(reboot) a|b;c`, "  two  spaces  "}
	for _, text := range texts {
		if err := d.Type(ctx, text); err != nil {
			t.Fatalf("Type(%q): %v", text, err)
		}
	}
	// The simulated phone logs what `input text` received, decoded the way
	// Input.sendText does.
	log, err := dev.RunCommand(ctx, "logcat -d")
	if err != nil {
		t.Fatal(err)
	}
	var typed strings.Builder
	for line := range strings.Lines(log) {
		if _, arg, ok := strings.Cut(line, "Input: text "); ok {
			var s string
			if _, err := fmt.Sscanf(strings.TrimSpace(arg), "%q", &s); err != nil {
				t.Fatalf("log line %q: %v", line, err)
			}
			typed.WriteString(s)
		}
	}
	if want := strings.Join(texts, ""); typed.String() != want {
		t.Errorf("the phone received %q, want %q\nlog:\n%s", typed.String(), want, log)
	}
	if err := d.Type(ctx, "设置"); !errors.Is(err, ErrUntypeable) {
		t.Errorf("typing Chinese: %v, want ErrUntypeable before anything is sent", err)
	}
}

func TestDeviceInputErrorsAreReported(t *testing.T) {
	d, _ := startPhone(t)
	ctx := testCtx(t)
	if err := d.Key(ctx, "BACK"); err == nil || !strings.Contains(err.Error(), "KEYCODE_") {
		t.Errorf("Key(BACK) = %v, want a hint to write KEYCODE_BACK", err)
	}
	// `input` prints its own complaint; the driver must not take it as done.
	if err := d.input(ctx, "input fling 1 2"); err == nil || !strings.Contains(err.Error(), "Unknown command") {
		t.Errorf("an unknown input command: %v, want the phone's complaint", err)
	}
	if err := d.TapAt(ctx, Point{540, 1200}); err != nil {
		t.Errorf("TapAt: %v", err)
	}
	if err := d.Swipe(ctx, Point{540, 1800}, Point{540, 600}, 200*time.Millisecond); err != nil {
		t.Errorf("Swipe: %v", err)
	}
	if err := d.Key(ctx, KeyHome, "4"); err != nil {
		t.Errorf("Key(HOME, 4): %v", err)
	}
}

func TestDeviceScreenshotIsAPNG(t *testing.T) {
	d, _ := startPhone(t)
	img, err := d.Screenshot(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(img))
	if err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	if cfg.Width < 320 || cfg.Height < 320 {
		t.Errorf("screenshot is %dx%d", cfg.Width, cfg.Height)
	}
	if _, err := png.Decode(bytes.NewReader(img)); err != nil {
		t.Errorf("the PNG does not decode whole (a terminal's CR LF?): %v", err)
	}
}

func TestDeviceDumpFindAndTap(t *testing.T) {
	d, dev := startPhone(t)
	requireUIAutomator(t, dev)
	ctx := testCtx(t)
	for _, path := range []string{"", ttyPath} {
		dd := New(dev, Options{DumpPath: path})
		sc, err := dd.Dump(ctx)
		if err != nil {
			t.Fatalf("Dump via %q: %v", path, err)
		}
		if len(sc.Nodes) == 0 || sc.Display().Empty() {
			t.Fatalf("dump via %q: %s, display %v", path, sc.Summary(10), sc.Display())
		}
		t.Logf("dump via %q: %s", path, sc.Summary(10))
	}
	// No dump file is left behind, stale or private.
	if out, _ := dev.RunCommand(ctx, "ls /sdcard/window_dump.xml"); strings.Contains(out, "window_dump.xml") && !strings.Contains(out, "No such file") {
		t.Errorf("the dump file stays on the phone: %q", out)
	}

	sel, _ := ParseSelector("text=No such thing here")
	_, _, err := d.WaitVisible(ctx, 300*time.Millisecond, sel)
	var nf *NotFoundError
	if !errors.As(err, &nf) || nf.Screen == nil || !strings.Contains(err.Error(), "No such thing here") || !strings.Contains(err.Error(), "the screen had") {
		t.Fatalf("WaitVisible for nothing: %v", err)
	}
	if err := d.WaitGone(ctx, time.Second, sel); err != nil {
		t.Errorf("WaitGone for a node that is not there: %v", err)
	}

	// A person's way into Settings: the icon on the home screen.
	icon, _ := ParseSelector("id=icon_title,text=Settings")
	none, _ := ParseSelector("desc=No such icon")
	n, err := d.Tap(ctx, none, icon)
	if err != nil {
		t.Fatalf("Tap: %v", err)
	}
	if n.Text() != "Settings" {
		t.Errorf("tapped %q", n.Text())
	}
	if err := d.WaitGone(ctx, 5*time.Second, icon); err != nil {
		t.Fatalf("the launcher is still showing after the tap: %v", err)
	}
	acts, err := dev.RunCommand(ctx, "dumpsys activity activities")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(acts, "mResumedActivity: ActivityRecord{") || !strings.Contains(acts, "com.android.settings/") {
		t.Fatalf("after tapping the Settings icon the resumed activity is not Settings:\n%s", acts)
	}
	if err := d.Key(ctx, KeyHome); err != nil {
		t.Fatal(err)
	}
	if _, _, err := d.WaitVisible(ctx, 5*time.Second, icon); err != nil {
		t.Fatalf("HOME did not bring the launcher back: %v", err)
	}
	// The home screen has one page: scrolling ends at once, and says so.
	_, _, err = d.ScrollUntilVisible(ctx, Down, 5, sel)
	if !errors.As(err, &nf) || !strings.Contains(err.Error(), "stopped changing after 1 swipes") {
		t.Errorf("scrolling a screen that does not move: %v", err)
	}
}
