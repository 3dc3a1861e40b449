package activity

import "telltale.dev/devices/sim/event"

// Keyguard is the lock screen as the activity manager asks about it.
type Keyguard interface {
	Showing() bool
}

// screen follows the display. Going to sleep stops the front activity
// without taking it from the front: ActivityStack.goToSleep marks every
// visible activity sleeping, "This ensures that the activity's onStop() is
// called" (AOSP frameworks/base, Android 10). Waking starts it again only
// when no keyguard covers it; a keyguard that stays up (KEYCODE_WAKEUP)
// keeps it stopped until it is dismissed.
func (m *Manager) screen(on bool) {
	m.mu.Lock()
	m.asleep = !on
	if !on && m.slept == "" {
		m.slept = m.frontPkg()
		stopped := m.slept
		m.mu.Unlock()
		if stopped != "" {
			m.bus.Publish(event.ActivityStopped{Package: stopped})
		}
		return
	}
	m.mu.Unlock()
	if on && (m.keyguard == nil || !m.keyguard.Showing()) {
		m.restartSlept()
	}
}

// restartSlept starts the activity a sleep stopped, once the display is
// on and the keyguard gone.
func (m *Manager) restartSlept() {
	m.mu.Lock()
	pkg := m.slept
	if m.asleep || pkg == "" || m.frontPkg() != pkg {
		m.mu.Unlock()
		return
	}
	m.slept = ""
	m.mu.Unlock()
	m.bus.Publish(event.ActivityRestarted{Package: pkg})
}
