// Package battery is the battery service: charger and level as
// `dumpsys battery` shows and overrides them (AOSP BatteryService and its
// shell command), publishing what changed.
package battery

import (
	"context"
	"fmt"
	"strconv"
	"sync"

	"telltale.dev/devices/sim/event"
	"telltale.dev/devices/sim/shell"
)

// Status codes as dumpsys prints them (BatteryManager.BATTERY_STATUS_*).
const (
	StatusCharging    = 2
	StatusDischarging = 3
	StatusFull        = 5
)

type state struct {
	ac, usb, wireless bool
	level             int
	status            int
	// overridden is set by `dumpsys battery set/unplug` until reset.
	overridden bool
}

// hardware is what the simulated battery reports when nothing overrides
// it: on battery at 76% (modeled).
var hardware = state{level: 76, status: StatusDischarging}

func (s state) plug() string {
	switch {
	case s.ac:
		return "ac"
	case s.usb:
		return "usb"
	case s.wireless:
		return "wireless"
	}
	return ""
}

// Battery is the battery service.
type Battery struct {
	bus *event.Bus

	mu sync.Mutex
	st state
}

// New returns the battery at its hardware values; a reboot returns to them.
func New(bus *event.Bus) *Battery {
	b := &Battery{bus: bus, st: hardware}
	event.On(bus, func(event.Rebooted) {
		b.mu.Lock()
		b.st = hardware
		b.mu.Unlock()
	})
	return b
}

// Dump is `dumpsys battery` and its set, unplug and reset options.
func (b *Battery) Dump(_ context.Context, sio shell.IO, args []string) int {
	if len(args) == 0 || args[0] == "-a" {
		b.mu.Lock()
		s := b.st
		b.mu.Unlock()
		fmt.Fprintln(sio.Stdout, "Current Battery Service state:")
		if s.overridden {
			fmt.Fprintln(sio.Stdout, "  (UPDATES STOPPED -- use 'reset' to restart)")
		}
		fmt.Fprintf(sio.Stdout, "  AC powered: %v\n  USB powered: %v\n  Wireless powered: %v\n  Max charging current: 0\n  Max charging voltage: 0\n  Charging counter: %d\n  status: %d\n  health: 2\n  present: true\n  level: %d\n  scale: 100\n  voltage: 4012\n  temperature: 290\n  technology: Li-poly\n",
			s.ac, s.usb, s.wireless, s.level*40000, s.status, s.level)
		return 0
	}
	b.mu.Lock()
	before := b.st
	var bad string
	switch verb := args[0]; {
	case verb == "set" && len(args) == 3:
		bad = b.set(args[1], args[2])
	case verb == "unplug":
		b.st.ac, b.st.usb, b.st.wireless = false, false, false
		b.st.status = StatusDischarging
		b.st.overridden = true
	case verb == "reset":
		b.st = hardware
	default:
		bad = "Battery service dump options:\n  [-a] [-h] [set ac|usb|wireless|level|status|present|counter|invalid VALUE] [unplug] [reset]"
	}
	after := b.st
	b.mu.Unlock()
	if bad != "" {
		fmt.Fprintln(sio.Stderr, bad)
		return 1
	}
	b.publish(before, after, args[0] == "set" && args[2] != "0" && isPlug(args[1]))
	return 0
}

func isPlug(name string) bool { return name == "ac" || name == "usb" || name == "wireless" }

// set applies `set NAME VALUE`; b.mu is held. It returns a complaint for
// bad input, "" when applied.
func (b *Battery) set(name, value string) string {
	v, err := strconv.Atoi(value)
	if err != nil {
		return "Bad value: " + value
	}
	on := v != 0
	switch name {
	case "ac":
		b.st.ac = on
	case "usb":
		b.st.usb = on
	case "wireless":
		b.st.wireless = on
	case "level":
		if v < 0 || v > 100 {
			return fmt.Sprintf("Bad value: %s (level is 0-100)", value)
		}
		b.st.level = v
	case "status":
		b.st.status = v
	case "present", "counter", "invalid":
	default:
		return "Unknown set option: " + name
	}
	b.st.overridden = true
	if name != "status" {
		b.st.status = StatusDischarging
		if b.st.plug() != "" {
			b.st.status = StatusCharging
			if b.st.level == 100 {
				b.st.status = StatusFull
			}
		}
	}
	return ""
}

// publish tells the phone what changed. plugged is a `set ac|usb|wireless`
// to a non-zero value: PowerConnected follows each one, even when a charger
// was already in, as the phone has always reported it; AOSP BatteryService
// sends ACTION_POWER_CONNECTED only when the plug type was none, which
// waits for the harness to unplug first (issue 10).
func (b *Battery) publish(before, after state, plugged bool) {
	if plugged {
		b.bus.Publish(event.PowerConnected{Plug: after.plug(), Level: after.level})
	}
	if before.plug() != "" && after.plug() == "" {
		b.bus.Publish(event.PowerDisconnected{})
	}
	if before.plug() != after.plug() || before.level != after.level || before.status != after.status {
		b.bus.Publish(event.BatteryChanged{Plug: after.plug(), Level: after.level, OldLevel: before.level, Status: after.status})
	}
}
