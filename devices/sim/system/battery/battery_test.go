package battery_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"telltale.dev/devices/sim/event"
	"telltale.dev/devices/sim/internal/cmdtest"
	"telltale.dev/devices/sim/system/battery"
)

func TestSetUnplugResetPublish(t *testing.T) {
	var bus event.Bus
	var got []string
	bus.Subscribe(func(ev event.Event) { got = append(got, fmt.Sprintf("%T%+v", ev, ev)) })
	b := battery.New(&bus)
	steps := []struct {
		args []string
		want []string
	}{
		{[]string{"set", "ac", "1"}, []string{"event.PowerConnected{Plug:ac Level:76}", "event.BatteryChanged{Plug:ac Level:76 OldLevel:76 Status:2}"}},
		{[]string{"set", "level", "57"}, []string{"event.BatteryChanged{Plug:ac Level:57 OldLevel:76 Status:2}"}},
		// Nothing changed, nothing is sent (BatteryService sends on change).
		{[]string{"set", "level", "57"}, nil},
		{[]string{"unplug"}, []string{"event.PowerDisconnected{}", "event.BatteryChanged{Plug: Level:57 OldLevel:57 Status:3}"}},
		{[]string{"reset"}, []string{"event.BatteryChanged{Plug: Level:76 OldLevel:57 Status:3}"}},
	}
	for _, s := range steps {
		got = nil
		cmdtest.Must(t, b.Dump, s.args...)
		if fmt.Sprint(got) != fmt.Sprint(s.want) {
			t.Errorf("%v:\n got %v\nwant %v", s.args, got, s.want)
		}
	}
	ctx := context.Background()
	for _, bad := range [][]string{{"set", "level", "101"}, {"set", "ac", "x"}, {"set", "volume", "1"}, {"bogus"}} {
		if r := cmdtest.Run(ctx, b.Dump, bad...); r.Code != 1 || r.Err == "" {
			t.Errorf("%v: %+v", bad, r)
		}
	}
	cmdtest.Must(t, b.Dump, "set", "usb", "1")
	out := cmdtest.Must(t, b.Dump)
	if !strings.Contains(out, "(UPDATES STOPPED -- use 'reset' to restart)") || !strings.Contains(out, "  USB powered: true\n") {
		t.Errorf("dump:\n%s", out)
	}
	bus.Publish(event.Rebooted{})
	if out := cmdtest.Must(t, b.Dump); strings.Contains(out, "STOPPED") || !strings.Contains(out, "  USB powered: false\n  Wireless") {
		t.Errorf("after reboot:\n%s", out)
	}
}
