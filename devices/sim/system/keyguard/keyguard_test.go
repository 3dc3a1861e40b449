package keyguard_test

import (
	"testing"

	"telltale.dev/devices/sim/clock"
	"telltale.dev/devices/sim/event"
	"telltale.dev/devices/sim/system/keyguard"
	"telltale.dev/devices/sim/system/logd"
)

// TestShownBySleepAndReboot: a phone starts unlocked; sleep and reboot
// bring the keyguard, waking does not take it away; the window it is drawn
// in is named per release.
func TestShownBySleepAndReboot(t *testing.T) {
	var bus event.Bus
	k := keyguard.New(&bus, logd.New(clock.Real()), clock.Real(), 30)
	if k.Showing() || k.Windows() != nil {
		t.Fatal("a new phone is locked")
	}
	bus.Publish(event.ScreenChanged{On: false})
	if !k.Showing() || !k.DreamingLockscreen() {
		t.Error("sleep did not lock")
	}
	bus.Publish(event.ScreenChanged{On: true})
	if !k.Showing() || k.DreamingLockscreen() {
		t.Errorf("after waking: showing %v dreaming %v", k.Showing(), k.DreamingLockscreen())
	}
	if ws := k.Windows(); len(ws) != 1 || ws[0].Title != "NotificationShade" || ws[0].Package != "com.android.systemui" {
		t.Errorf("Android 11 keyguard window: %+v", ws)
	}
	if !k.Dismiss() || k.Dismiss() || k.Showing() {
		t.Error("Dismiss")
	}
	bus.Publish(event.Rebooted{})
	if !k.Showing() {
		t.Error("a rebooted phone is unlocked")
	}
	if got := keyguard.New(&bus, logd.New(clock.Real()), clock.Real(), 29).WindowTitle(); got != "StatusBar" {
		t.Errorf("Android 10 keyguard window %q", got)
	}
}
