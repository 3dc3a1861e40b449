package power_test

import (
	"fmt"
	"strings"
	"testing"

	"telltale.dev/devices/sim/clock"
	"telltale.dev/devices/sim/event"
	"telltale.dev/devices/sim/internal/cmdtest"
	"telltale.dev/devices/sim/system/logd"
	"telltale.dev/devices/sim/system/power"
)

func TestKeys(t *testing.T) {
	var bus event.Bus
	var got []bool
	event.On(&bus, func(e event.ScreenChanged) { got = append(got, e.On) })
	p := power.New(&bus, logd.New(clock.Real()))
	for _, c := range []struct {
		code     int
		consumed bool
	}{{power.KeyPower, true}, {power.KeyPower, true}, {power.KeySleep, true}, {power.KeySleep, true},
		{power.KeyMenu, false}, {power.KeyWakeup, true}, {4, false}} {
		if consumed := p.Key(c.code); consumed != c.consumed {
			t.Errorf("key %d consumed=%v", c.code, consumed)
		}
	}
	// 26 off, 26 on, 223 off, 223 (already off), 82 on, 224 (already on).
	if fmt.Sprint(got) != "[false true false true]" {
		t.Errorf("screen changes %v", got)
	}
	p.Key(power.KeyPower)
	if out := cmdtest.Must(t, p.Dump); !strings.Contains(out, "  mWakefulness=Asleep\n") || !strings.Contains(out, "Display Power: state=OFF\n") {
		t.Errorf("dump:\n%s", out)
	}
	bus.Publish(event.Rebooted{})
	if !p.ScreenOn() {
		t.Error("a reboot leaves the screen off")
	}
}
