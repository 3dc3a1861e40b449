// Package power is the power manager: whether the display is on (Awake) or
// off (Asleep), the power keys that change it, and `dumpsys power`.
package power

import (
	"context"
	"fmt"
	"sync"

	"telltale.dev/devices/sim/event"
	"telltale.dev/devices/sim/shell"
	"telltale.dev/devices/sim/system/logd"
)

// Key codes the power manager handles (android.view.KeyEvent).
const (
	KeyPower  = 26
	KeyMenu   = 82
	KeySleep  = 223
	KeyWakeup = 224
)

// Power is the power manager.
type Power struct {
	bus *event.Bus
	log *logd.Log

	mu    sync.Mutex
	awake bool
}

// New returns a phone that is awake, as after boot.
func New(bus *event.Bus, log *logd.Log) *Power {
	p := &Power{bus: bus, log: log, awake: true}
	event.On(bus, func(event.Rebooted) {
		p.mu.Lock()
		p.awake = true
		p.mu.Unlock()
	})
	return p
}

// ScreenOn says whether the display is on.
func (p *Power) ScreenOn() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.awake
}

// Key takes the keys PhoneWindowManager.interceptKeyBeforeQueueing gives
// the power manager: POWER toggles, SLEEP turns off, WAKEUP turns on; MENU
// wakes a sleeping phone as the emulator's does (modeled) and still goes on
// to the app. It says whether the key was consumed.
func (p *Power) Key(code int) bool {
	switch code {
	case KeyPower:
		p.set(func(awake bool) bool { return !awake }, "power_button")
		return true
	case KeySleep:
		p.set(func(bool) bool { return false }, "sleep_button")
		return true
	case KeyWakeup:
		p.set(func(bool) bool { return true }, "wakeup_button")
		return true
	case KeyMenu:
		p.set(func(bool) bool { return true }, "menu_button")
	}
	return false
}

// set moves the display to next(current) in one step, so that two presses
// at once toggle twice.
func (p *Power) set(next func(awake bool) bool, why string) {
	p.mu.Lock()
	was := p.awake
	on := next(was)
	p.awake = on
	p.mu.Unlock()
	if was == on {
		return
	}
	if on {
		p.log.Printf("I", "PowerManagerService", "Waking up from sleep (uid=1000 reason=%s)...", why)
	} else {
		p.log.Printf("I", "PowerManagerService", "Going to sleep due to %s (uid 1000)...", why)
	}
	p.bus.Publish(event.ScreenChanged{On: on})
}

// Dump is `dumpsys power`, the lines tools read (appium-adb reads
// mWakefulness and "Display Power: state=").
func (p *Power) Dump(_ context.Context, sio shell.IO, _ []string) int {
	on := p.ScreenOn()
	wake, display := "Asleep", "OFF"
	if on {
		wake, display = "Awake", "ON"
	}
	fmt.Fprintf(sio.Stdout, "POWER MANAGER (dumpsys power)\n\nPower Manager State:\n  mWakefulness=%s\n  mWakefulnessChanging=false\n  mHoldingDisplaySuspendBlocker=%v\n\nDisplay Power: state=%s\n",
		wake, on, display)
	return 0
}
