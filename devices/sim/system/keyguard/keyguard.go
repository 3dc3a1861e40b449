// Package keyguard is the lock screen: SystemUI's keyguard window and the
// state WindowManager's KeyguardServiceDelegate keeps of it. The phones
// simulated have no secure lock ("Swipe"), so the keyguard shows whenever
// the display goes to sleep and after a reboot, stays up when the display
// wakes (KEYCODE_WAKEUP leaves it, appium-adb lockmgmt.ts), and goes with an
// upward swipe or `wm dismiss-keyguard`.
//
// A phone starts unlocked (modeled: as a bench phone someone has unlocked
// before the run); after a reboot it shows the keyguard like a real one.
package keyguard

import (
	"sync"

	"telltale.dev/devices/sim/clock"
	"telltale.dev/devices/sim/event"
	"telltale.dev/devices/sim/system/logd"
	"telltale.dev/devices/sim/ui"
)

// systemUI is the package that draws the keyguard.
const systemUI = "com.android.systemui"

// layer puts the keyguard above apps and dialogs (the status bar window's
// layer).
const layer = 10

// Keyguard is the lock screen's state.
type Keyguard struct {
	bus   *event.Bus
	log   *logd.Log
	clock clock.Clock
	sdk   int

	mu      sync.Mutex
	showing bool
	// lockedAsleep is set when the keyguard was showing as the display went
	// to sleep: what PhoneWindowManager calls mDreamingLockscreen.
	lockedAsleep bool
}

// New returns the keyguard of a phone of API level sdk, not showing.
func New(bus *event.Bus, log *logd.Log, clk clock.Clock, sdk int) *Keyguard {
	k := &Keyguard{bus: bus, log: log, clock: clk, sdk: sdk}
	event.On(bus, func(e event.ScreenChanged) {
		k.mu.Lock()
		if !e.On {
			k.showing, k.lockedAsleep = true, true
		} else {
			k.lockedAsleep = false
		}
		k.mu.Unlock()
	})
	event.On(bus, func(event.Rebooted) {
		k.mu.Lock()
		k.showing, k.lockedAsleep = true, false
		k.mu.Unlock()
	})
	return k
}

// Showing says whether the keyguard is up.
func (k *Keyguard) Showing() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.showing
}

// DreamingLockscreen is mDreamingLockscreen: the keyguard was up when the
// display went to sleep, and the display is still asleep.
func (k *Keyguard) DreamingLockscreen() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.lockedAsleep
}

// Dismiss takes the keyguard away, as `wm dismiss-keyguard` and an upward
// swipe do on an insecure keyguard; it says whether it was up.
func (k *Keyguard) Dismiss() bool {
	k.mu.Lock()
	was := k.showing
	k.showing = false
	k.mu.Unlock()
	if was {
		k.log.Printf("I", "KeyguardViewMediator", "dismiss")
		k.bus.Publish(event.KeyguardDismissed{})
	}
	return was
}

// WindowTitle is the keyguard's window as `dumpsys window` names it: the
// status bar on Android 10, the notification shade from Android 11 on,
// where SystemUI moved the keyguard (modeled from the SystemUI windows'
// titles).
func (k *Keyguard) WindowTitle() string {
	if k.sdk >= 30 {
		return "NotificationShade"
	}
	return "StatusBar"
}

// Windows is the keyguard's window while it is up (window.Source).
func (k *Keyguard) Windows() []*ui.Window {
	if !k.Showing() {
		return nil
	}
	return []*ui.Window{{Package: systemUI, Title: k.WindowTitle(), Layer: layer, Content: k.screen,
		// The lock screen keeps every key from the apps behind it; the power
		// keys reach the power manager before any window.
		Key: func(int) bool { return true }}}
}

// Swipe dismisses the keyguard on an upward swipe of at least a quarter of
// the screen, as appium-adb's swipeUp does to unlock (modeled threshold).
func (k *Keyguard) Swipe(x1, y1, x2, y2 int, screen ui.Rect) bool {
	if !k.Showing() {
		return false
	}
	if y1-y2 >= screen.Height()/4 {
		k.Dismiss()
	}
	return true
}

// screen is the lock screen: clock, date and the unlock hint over the
// notification panel. Ids are AOSP SystemUI layout names; texts, positions
// and the MIUI look are modeled.
func (k *Keyguard) screen(b ui.Rect) *ui.Node {
	s := func(px int) int { return px * b.Width() / 1080 }
	node := func(class, id string, r ui.Rect, children ...*ui.Node) *ui.Node {
		rid := ""
		if id != "" {
			rid = systemUI + ":id/" + id
		}
		return &ui.Node{Class: class, ResourceID: rid, Package: systemUI, Bounds: r, Children: children}
	}
	now := k.clock.Now()
	clockText := node("android.widget.TextView", "clock_view", ui.R(b.Left, b.Top+s(300), b.Right, b.Top+s(520)))
	clockText.Text = now.Format("15:04")
	date := node("android.widget.TextView", "date_view", ui.R(b.Left, b.Top+s(540), b.Right, b.Top+s(620)))
	date.Text = now.Format("Mon, January 2")
	hint := node("android.widget.TextView", "keyguard_indication_text", ui.R(b.Left, b.Bottom-s(260), b.Right, b.Bottom-s(180)))
	hint.Text = "Swipe up to unlock"
	return node("android.widget.FrameLayout", "", b,
		node("android.widget.FrameLayout", "notification_panel", b,
			node("android.widget.LinearLayout", "keyguard_status_view", ui.R(b.Left, b.Top+s(280), b.Right, b.Top+s(640)), clockText, date),
			node("android.widget.FrameLayout", "keyguard_bottom_area", ui.R(b.Left, b.Bottom-s(300), b.Right, b.Bottom), hint)))
}
