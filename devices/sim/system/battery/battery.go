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
	"telltale.dev/devices/sim/system"
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
	// stopped is mUpdatesStopped: set by `dumpsys battery set/unplug`
	// until reset, so the health HAL's values no longer apply.
	stopped bool
}

// hardware is what the simulated battery reports when nothing overrides
// it: a phone on the bench sits on the USB cable adb runs over, so USB is
// online and it charges, at 76% (the level is modeled).
var hardware = state{usb: true, level: 76, status: StatusCharging}

// plug is BatteryService's plug type: AC wins over USB over wireless.
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
	sdk int

	mu sync.Mutex
	st state
}

// New returns the battery of a phone of API level sdk at its hardware
// values; a reboot returns to them.
func New(bus *event.Bus, sdk int) *Battery {
	b := &Battery{bus: bus, sdk: sdk, st: hardware}
	event.On(bus, func(event.Rebooted) {
		b.mu.Lock()
		b.st = hardware
		b.mu.Unlock()
	})
	return b
}

// help is BatteryService.Shell.onHelp.
const help = `Battery service (battery) commands:
  help
    Print this help text.
  set [-f] [ac|usb|wireless|status|level|temp|present|invalid] <value>
    Force a battery property value, freezing battery state.
    -f: force a battery change broadcast be sent, prints new sequence.
  unplug [-f]
    Force battery unplugged, freezing battery state.
    -f: force a battery change broadcast be sent, prints new sequence.
  reset [-f]
    Unfreeze battery state, returning to current hardware values.
    -f: force a battery change broadcast be sent, prints new sequence.
`

// Dump is `dumpsys battery` and its set, unplug and reset options
// (BatteryService.dumpInternal and Shell). Complaints go to stdout and
// dumpsys exits 0 whatever the service made of its arguments.
func (b *Battery) Dump(_ context.Context, sio shell.IO, args []string) int {
	if len(args) == 0 || args[0] == "-a" {
		b.print(sio)
		return 0
	}
	b.mu.Lock()
	before := b.st
	switch verb := args[0]; {
	case verb == "set":
		b.set(sio, args[1:])
	case verb == "unplug":
		// -f only asks for a broadcast sequence number: ignored (modeled).
		b.st.ac, b.st.usb, b.st.wireless = false, false, false
		b.st.stopped = true
	case verb == "reset":
		b.st = hardware
	case verb == "help" || verb == "-h":
		fmt.Fprint(sio.Stdout, help)
	default:
		system.UnknownCommand(sio, verb)
	}
	after := b.st
	b.mu.Unlock()
	b.publish(before, after)
	return 0
}

func (b *Battery) print(sio shell.IO) {
	b.mu.Lock()
	s := b.st
	b.mu.Unlock()
	w := sio.Stdout
	fmt.Fprintln(w, "Current Battery Service state:")
	if s.stopped {
		fmt.Fprintln(w, "  (UPDATES STOPPED -- use 'reset' to restart)")
	}
	fmt.Fprintf(w, "  AC powered: %v\n  USB powered: %v\n  Wireless powered: %v\n", s.ac, s.usb, s.wireless)
	if b.sdk >= 33 {
		// Dock chargers came with Android 13's health HAL (chargerDockOnline;
		// modeled boundary).
		fmt.Fprintln(w, "  Dock powered: false")
	}
	current, voltage := 0, 0
	if s.plug() != "" {
		current, voltage = 500000, 5000000 // a USB 2.0 port (modeled)
	}
	fmt.Fprintf(w, "  Max charging current: %d\n  Max charging voltage: %d\n  Charging counter: %d\n  status: %d\n  health: 2\n  present: true\n  level: %d\n  scale: 100\n  voltage: 4012\n  temperature: 290\n  technology: Li-poly\n",
		current, voltage, s.level*40000, s.status, s.level)
}

// set applies `set NAME VALUE` as BatteryService.Shell does: one field of
// the health info, nothing else (status stays what it was unless set); b.mu
// is held.
func (b *Battery) set(sio shell.IO, args []string) {
	if len(args) > 0 && args[0] == "-f" {
		args = args[1:]
	}
	switch {
	case len(args) == 0:
		fmt.Fprintln(sio.Stdout, "No property specified")
		return
	case len(args) == 1:
		fmt.Fprintln(sio.Stdout, "No value specified")
		return
	}
	key, value := args[0], args[1]
	v, err := strconv.ParseInt(value, 10, 32)
	if err != nil {
		fmt.Fprintln(sio.Stdout, "Bad value: "+value)
		return
	}
	switch key {
	case "ac":
		b.st.ac = v != 0
	case "usb":
		b.st.usb = v != 0
	case "wireless":
		b.st.wireless = v != 0
	case "status":
		b.st.status = int(v)
	case "level":
		b.st.level = int(v)
	case "present", "counter", "temp", "invalid":
	default:
		fmt.Fprintln(sio.Stdout, "Unknown set option: "+key)
		return
	}
	b.st.stopped = true
}

// publish broadcasts what changed, as BatteryService.processValuesLocked
// does: ACTION_POWER_CONNECTED only when the plug type goes from none to
// some, ACTION_POWER_DISCONNECTED the other way, and ACTION_BATTERY_CHANGED
// on any change. A phone on its USB cable is already plugged, so `set ac 1`
// alone connects nothing: unplug first.
func (b *Battery) publish(before, after state) {
	switch {
	case before.plug() == "" && after.plug() != "":
		b.bus.Publish(event.PowerConnected{Plug: after.plug(), Level: after.level})
	case before.plug() != "" && after.plug() == "":
		b.bus.Publish(event.PowerDisconnected{})
	}
	if before.plug() != after.plug() || before.level != after.level || before.status != after.status {
		b.bus.Publish(event.BatteryChanged{Plug: after.plug(), Level: after.level, OldLevel: before.level, Status: after.status})
	}
}

// Plugged says which charger is in ("" on battery), for the Settings app and
// tests.
func (b *Battery) Plugged() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.st.plug()
}
