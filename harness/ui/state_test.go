package ui

import (
	"fmt"
	"testing"
)

// The samples follow the shapes of real `dumpsys power` / `dumpsys window`
// output (AOSP PowerManagerService.dump, PhoneWindowManager.dump,
// KeyguardServiceDelegate.dump), trimmed to the lines around what is read.

const powerAwake = `POWER MANAGER (dumpsys power)

Power Manager State:
  mDirty=0x0
  mWakefulness=Awake
  mWakefulnessChanging=false
  mIsPowered=true
  mPlugType=2
Display Power: state=ON
`

const powerAsleep = `POWER MANAGER (dumpsys power)
  mWakefulness=Asleep
  mWakefulnessChanging=false
Display Power: state=OFF
`

const windowKeyguard = `WINDOW MANAGER POLICY STATE (dumpsys window policy)
    mSafeMode=false mSystemReady=true mSystemBooted=true
    mShowingDream=false mDreamingLockscreen=%s mDreamingSleepToken=null
    KeyguardServiceDelegate
      showing=%[2]s
      showingAndNotOccluded=%[2]s
      inputRestricted=%[3]s
      KeyguardStateMonitor
        mIsShowing=%[2]s
        mSimSecure=false
        mInputRestricted=%[3]s
        mTrusted=false
        mCurrentUserId=0
  mCurrentFocus=Window{9d3bf0f u0 com.miui.home/com.miui.home.launcher.Launcher}
`

func keyguard(dreaming, showing, restricted string) string {
	return fmt.Sprintf(windowKeyguard, dreaming, showing, restricted)
}

func TestParseState(t *testing.T) {
	for _, c := range []struct {
		name          string
		power, window string
		want          State
	}{
		{"awake, unlocked", powerAwake, keyguard("false", "false", "false"),
			State{Wakefulness: "Awake", ScreenOn: true, LockKnown: true}},
		{"asleep, locked", powerAsleep, keyguard("true", "true", "true"),
			State{Wakefulness: "Asleep", LockKnown: true, Locked: true}},
		{"woken on the keyguard", powerAwake, keyguard("false", "true", "true"),
			State{Wakefulness: "Awake", ScreenOn: true, LockKnown: true, Locked: true}},
		// appium-adb: a keyguard that shows without restricting input is a
		// swipe-only one already dismissed for input purposes.
		{"swipe keyguard", powerAwake, keyguard("false", "true", "false"),
			State{Wakefulness: "Awake", ScreenOn: true, LockKnown: true}},
		{"Android 5-8 lockscreen flag", powerAwake, "    mShowingLockscreen=true mShowingDream=false mDreamingLockscreen=false",
			State{Wakefulness: "Awake", ScreenOn: true, LockKnown: true, Locked: true}},
		{"status bar keyguard", powerAwake, "    mStatusBar=Window{1f u0 StatusBar} isStatusBarKeyguard=true",
			State{Wakefulness: "Awake", ScreenOn: true, LockKnown: true, Locked: true}},
		{"focus on the keyguard", powerAwake, "  mCurrentFocus=Window{42 u0 Keyguard}",
			State{Wakefulness: "Awake", ScreenOn: true, LockKnown: true, Locked: true}},
		{"dozing", "  getWakefulnessLocked()=Dozing\n", keyguard("false", "true", "true"),
			State{Wakefulness: "Dozing", LockKnown: true, Locked: true}},
		{"display power only", "Display Power: state=ON\n", "",
			State{ScreenOn: true}},
		{"no keyguard facts", powerAwake, "  mCurrentFocus=Window{1 u0 com.example/.Main}",
			State{Wakefulness: "Awake", ScreenOn: true}},
	} {
		if got := parseState(c.power, c.window); got != c.want {
			t.Errorf("%s: %+v, want %+v", c.name, got, c.want)
		}
	}
}

func TestStateString(t *testing.T) {
	for s, want := range map[State]string{
		{Wakefulness: "Asleep", LockKnown: true, Locked: true}:  "screen off (Asleep), keyguard showing",
		{Wakefulness: "Awake", ScreenOn: true, LockKnown: true}: "screen on (Awake), unlocked",
		{ScreenOn: true}: "screen on, keyguard state unknown",
	} {
		if s.String() != want {
			t.Errorf("%+v: %q, want %q", s, s.String(), want)
		}
	}
}
