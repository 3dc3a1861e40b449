package battery_test

import (
	"fmt"
	"strings"
	"testing"

	"telltale.dev/devices/sim/event"
	"telltale.dev/devices/sim/internal/cmdtest"
	"telltale.dev/devices/sim/system/battery"
)

// TestPowerConnectedOnlyFromNoPlug walks the steps a harness takes to make
// a USB-attached phone report a charger: `set ac 1` alone changes the plug
// type from usb to ac, which is no ACTION_POWER_CONNECTED; unplug first.
func TestPowerConnectedOnlyFromNoPlug(t *testing.T) {
	var bus event.Bus
	var got []string
	bus.Subscribe(func(ev event.Event) { got = append(got, fmt.Sprintf("%T%+v", ev, ev)) })
	b := battery.New(&bus, 29)
	if b.Plugged() != "usb" {
		t.Fatalf("at start the phone is on %q, want its USB cable", b.Plugged())
	}
	steps := []struct {
		args []string
		want []string
	}{
		{[]string{"set", "ac", "1"}, []string{"event.BatteryChanged{Plug:ac Level:76 OldLevel:76 Status:2}"}},
		{[]string{"unplug"}, []string{"event.PowerDisconnected{}", "event.BatteryChanged{Plug: Level:76 OldLevel:76 Status:2}"}},
		{[]string{"set", "ac", "1"}, []string{"event.PowerConnected{Plug:ac Level:76}", "event.BatteryChanged{Plug:ac Level:76 OldLevel:76 Status:2}"}},
		{[]string{"set", "level", "57"}, []string{"event.BatteryChanged{Plug:ac Level:57 OldLevel:76 Status:2}"}},
		// Nothing changed, nothing is sent (BatteryService sends on change).
		{[]string{"set", "level", "57"}, nil},
		// set changes one field: status stays until set itself.
		{[]string{"set", "status", "3"}, []string{"event.BatteryChanged{Plug:ac Level:57 OldLevel:57 Status:3}"}},
		{[]string{"unplug"}, []string{"event.PowerDisconnected{}", "event.BatteryChanged{Plug: Level:57 OldLevel:57 Status:3}"}},
		// reset returns to the hardware: the USB cable is a charger again.
		{[]string{"reset"}, []string{"event.PowerConnected{Plug:usb Level:76}", "event.BatteryChanged{Plug:usb Level:76 OldLevel:57 Status:2}"}},
	}
	for _, s := range steps {
		got = nil
		cmdtest.Must(t, b.Dump, s.args...)
		if fmt.Sprint(got) != fmt.Sprint(s.want) {
			t.Errorf("%v:\n got %v\nwant %v", s.args, got, s.want)
		}
	}
}

// TestComplaintsGoToStdout: BatteryService.Shell prints its complaints and
// dumpsys exits 0 whatever the service made of them.
func TestComplaintsGoToStdout(t *testing.T) {
	var bus event.Bus
	b := battery.New(&bus, 29)
	for _, c := range []struct {
		args []string
		out  string
	}{
		{[]string{"set", "ac", "x"}, "Bad value: x\n"},
		{[]string{"set", "volume", "1"}, "Unknown set option: volume\n"},
		{[]string{"set", "level"}, "No value specified\n"},
		{[]string{"bogus"}, "Unknown command: bogus\n"},
	} {
		if out := cmdtest.Must(t, b.Dump, c.args...); out != c.out {
			t.Errorf("%v: %q, want %q", c.args, out, c.out)
		}
	}
	if out := cmdtest.Must(t, b.Dump); strings.Contains(out, "STOPPED") || !strings.Contains(out, "  AC powered: false\n  USB powered: true\n") {
		t.Errorf("refused sets changed the state:\n%s", out)
	}
}

func TestDumpPerReleaseAndReboot(t *testing.T) {
	var bus event.Bus
	b := battery.New(&bus, 29)
	cmdtest.Must(t, b.Dump, "unplug")
	out := cmdtest.Must(t, b.Dump)
	if !strings.Contains(out, "(UPDATES STOPPED -- use 'reset' to restart)") || !strings.Contains(out, "  USB powered: false\n  Wireless powered: false\n  Max") {
		t.Errorf("Android 10 dump after unplug:\n%s", out)
	}
	bus.Publish(event.Rebooted{})
	if out := cmdtest.Must(t, b.Dump); strings.Contains(out, "STOPPED") || !strings.Contains(out, "  USB powered: true\n") {
		t.Errorf("after reboot:\n%s", out)
	}
	if out := cmdtest.Must(t, battery.New(&bus, 34).Dump); !strings.Contains(out, "  Wireless powered: false\n  Dock powered: false\n") {
		t.Errorf("Android 14 dump has no dock line:\n%s", out)
	}
}
