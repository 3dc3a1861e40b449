package ui

import (
	"context"
	"fmt"
	"regexp"
	"strings"
)

// State is the screen's power and lock state.
type State struct {
	// Wakefulness is PowerManager's: "Awake", "Asleep", "Dozing" or
	// "Dreaming"; "" when `dumpsys power` did not say.
	Wakefulness string
	// ScreenOn is true when the phone is awake (or, on builds without
	// mWakefulness, when the display's power state is ON).
	ScreenOn bool
	// Locked is true when the keyguard (lock screen) is showing.
	// LockKnown is false when `dumpsys window` named no keyguard state at
	// all (some TV builds have no keyguard); Locked is then false.
	Locked, LockKnown bool
}

// Ready reports a screen a person could use: on and unlocked.
func (s State) Ready() bool { return s.ScreenOn && !s.Locked }

func (s State) String() string {
	var b strings.Builder
	if s.ScreenOn {
		b.WriteString("screen on")
	} else {
		b.WriteString("screen off")
	}
	if s.Wakefulness != "" {
		b.WriteString(" (" + s.Wakefulness + ")")
	}
	switch {
	case !s.LockKnown:
		b.WriteString(", keyguard state unknown")
	case s.Locked:
		b.WriteString(", keyguard showing")
	default:
		b.WriteString(", unlocked")
	}
	return b.String()
}

var (
	// Android 5-13 print mWakefulness=; some OEM builds
	// getWakefulnessLocked()= (appium-adb lockmgmt isInDozingMode).
	wakefulnessRE  = regexp.MustCompile(`(?m)^\s*(?:mWakefulness|getWakefulnessLocked\(\))=(\w+)`)
	displayPowerRE = regexp.MustCompile(`Display Power: state=(\w+)`)
	// Keyguard facts, after appium-adb's lockmgmt.ts (isShowingLockscreen,
	// isCurrentFocusOnKeyguard, isScreenStateOff): older builds print
	// mShowingLockscreen/mDreamingLockscreen; Android 10+ print the
	// KeyguardServiceDelegate's KeyguardStateMonitor, where a swipe-only
	// keyguard shows with mInputRestricted=false and does not lock input.
	lockscreenRE    = regexp.MustCompile(`m(?:Showing|Dreaming)Lockscreen=(true|false)`)
	monitorShowRE   = regexp.MustCompile(`KeyguardStateMonitor\s+mIsShowing=(true|false)`)
	inputRestrictRE = regexp.MustCompile(`\s+mInputRestricted=(true|false)`)
	focusKeyguardRE = regexp.MustCompile(`mCurrentFocus=.*Keyguard`)
	// Android 8-10 PhoneWindowManager print isStatusBarKeyguard= in the
	// policy section.
	statusBarKeyguardRE = regexp.MustCompile(`isStatusBarKeyguard=(true|false)`)
)

// parseState reads `dumpsys power` and `dumpsys window` output.
func parseState(power, window string) State {
	var s State
	if m := wakefulnessRE.FindStringSubmatch(power); m != nil {
		s.Wakefulness = m[1]
		s.ScreenOn = m[1] == "Awake"
	} else if m := displayPowerRE.FindStringSubmatch(power); m != nil {
		s.ScreenOn = m[1] == "ON"
	}
	if ms := lockscreenRE.FindAllStringSubmatch(window, -1); ms != nil {
		s.LockKnown = true
		for _, m := range ms {
			s.Locked = s.Locked || m[1] == "true"
		}
	}
	if m := monitorShowRE.FindStringSubmatch(window); m != nil {
		s.LockKnown = true
		if m[1] == "true" {
			r := inputRestrictRE.FindStringSubmatch(window)
			s.Locked = s.Locked || r != nil && r[1] == "true"
		}
	}
	if m := statusBarKeyguardRE.FindStringSubmatch(window); m != nil {
		s.LockKnown = true
		s.Locked = s.Locked || m[1] == "true"
	}
	if focusKeyguardRE.MatchString(window) {
		s.LockKnown, s.Locked = true, true
	}
	return s
}

// State reads the screen's power and lock state.
func (d *Driver) State(ctx context.Context) (State, error) {
	power, err := d.shell(ctx, "dumpsys power")
	if err != nil {
		return State{}, err
	}
	window, err := d.shell(ctx, "dumpsys window")
	if err != nil {
		return State{}, err
	}
	st := parseState(string(power.Stdout), string(window.Stdout))
	if st.Wakefulness == "" && !strings.Contains(string(power.Stdout), "Display Power: state=") {
		return st, fmt.Errorf("dumpsys power on %s named no wakefulness or display state, so whether the screen is on is unknown (output: %s)", d.dev.Serial(), excerpt(string(power.Stdout)+string(power.Stderr)))
	}
	return st, nil
}
