package actions

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"telltale.dev/devices/profiles"
	"telltale.dev/fixtures/canary"
	"telltale.dev/harness/journal"
	"telltale.dev/harness/session"
	"telltale.dev/harness/ui"
)

// Charge plugs a simulated charger (ac, usb or wireless) and sets the
// battery level to the canary's number; teardown resets the battery.
func Charge(ctx context.Context, s *session.Session, plugged string, level canary.Canary) (*Result, error) {
	n, err := strconv.Atoi(level.Value)
	if err != nil {
		return nil, fmt.Errorf("charge: level canary %q is not a number", level.Value)
	}
	if _, ok := powered[plugged]; !ok {
		return nil, fmt.Errorf("charge: charger %q: want ac, usb or wireless", plugged)
	}
	p := phoneOf(s)
	return window(ctx, s, profiles.ActionCharge, []canary.Canary{level}, func(ctx context.Context) error {
		return p.plugIn(ctx, plugged, n)
	})
}

// plugIn makes the phone see a charger plugged in at a battery level. A
// phone on a USB cable is already plugged (USB powered), and Android sends
// ACTION_POWER_CONNECTED only when the plug type was none before (AOSP
// BatteryService), so it is unplugged first, and plugged once the phone
// says it runs on battery.
func (p *phone) plugIn(ctx context.Context, plugged string, level int) error {
	ch := p.profile().Actions.Charge
	if err := p.s.Record(journal.Entry{Op: journal.OpBattery, Command: ch.Reset}); err != nil {
		return err
	}
	if err := p.unplug(ctx); err != nil {
		return err
	}
	// The level first: what the phone reports when the charger comes is
	// the level it has then.
	if _, err := p.shellOK(ctx, fmt.Sprintf(ch.Level, level)); err != nil {
		return err
	}
	if _, err := p.shellOK(ctx, fmt.Sprintf(ch.Plug, plugged)); err != nil {
		return err
	}
	b, err := p.battery(ctx)
	if err != nil {
		return err
	}
	if line := powered[plugged]; b[line] != "true" {
		return fmt.Errorf("charge: after %q the phone does not report %q: %v", fmt.Sprintf(ch.Plug, plugged), line+": true", b)
	}
	if b["level"] != strconv.Itoa(level) {
		return fmt.Errorf("charge: the phone reports level %q, not %d", b["level"], level)
	}
	return nil
}

// unplug takes every power source away and waits until `dumpsys battery`
// says none is left.
func (p *phone) unplug(ctx context.Context) error {
	if _, err := p.shellOK(ctx, p.profile().Actions.Charge.Unplug); err != nil {
		return err
	}
	return p.until(ctx, 10*time.Second, "the phone to run on battery after unplugging", func() (bool, error) {
		b, err := p.battery(ctx)
		if err != nil {
			return false, err
		}
		for k, v := range b {
			if strings.HasSuffix(k, " powered") && v == "true" {
				return false, nil
			}
		}
		return true, nil
	})
}

// powered are the lines of `dumpsys battery` for each charger kind
// `dumpsys battery set` takes (AOSP BatteryService.dumpInternal).
var powered = map[string]string{"ac": "AC powered", "usb": "USB powered", "wireless": "Wireless powered"}

var batteryLine = regexp.MustCompile(`(?m)^\s+([A-Za-z][A-Za-z ]*): (.*?)\s*$`)

// battery reads `dumpsys battery`: "AC powered" -> "true", "level" -> "50" ...
func (p *phone) battery(ctx context.Context) (map[string]string, error) {
	out, err := p.s.Shell(ctx, "dumpsys battery")
	if err != nil {
		return nil, err
	}
	b := map[string]string{}
	for _, m := range batteryLine.FindAllStringSubmatch(out, -1) {
		b[m[1]] = m[2]
	}
	return b, nil
}

// Unplug unplugs the simulated charger. It plants no canary: its window is
// for the differential view.
func Unplug(ctx context.Context, s *session.Session) (*Result, error) {
	p := phoneOf(s)
	return window(ctx, s, "unplug", nil, func(ctx context.Context) error {
		if err := s.Record(journal.Entry{Op: journal.OpBattery, Command: p.profile().Actions.Charge.Reset}); err != nil {
			return err
		}
		return p.unplug(ctx)
	})
}

// screenUndo wakes the phone and dismisses its keyguard: how a locked
// screen is put back (appium-adb lockmgmt; no secure lock on test phones).
const screenUndo = "input keyevent 224 && wm dismiss-keyguard"

// LockScreen presses the power key on a screen that is on and unlocked
// (checked first, as appium-adb's lock does), and waits until it is off. It
// plants no canary: what it sends is in the differential view. Teardown
// wakes and unlocks the screen; so does the next action that needs it.
func LockScreen(ctx context.Context, s *session.Session) (*Result, error) {
	p := phoneOf(s)
	return window(ctx, s, profiles.ActionLockScreen, nil, func(ctx context.Context) error {
		if err := p.ready(ctx); err != nil {
			return err
		}
		if err := s.Record(journal.Entry{Op: journal.OpScreen, Command: screenUndo}); err != nil {
			return err
		}
		if err := p.ui.Key(ctx, ui.KeyPower); err != nil {
			return p.lost(err)
		}
		return p.until(ctx, 10*time.Second, "the screen to go off after the power key", func() (bool, error) {
			st, err := p.ui.State(ctx)
			return !st.ScreenOn, err
		})
	})
}
