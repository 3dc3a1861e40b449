package settings_test

import (
	"context"
	"strings"
	"testing"

	"telltale.dev/devices/sim/event"
	"telltale.dev/devices/sim/internal/cmdtest"
	"telltale.dev/devices/sim/shell"
	"telltale.dev/devices/sim/system/settings"
)

func TestSettingsTool(t *testing.T) {
	var bus event.Bus
	var got []event.SettingChanged
	event.On(&bus, func(e event.SettingChanged) { got = append(got, e) })
	s := settings.New(&bus)
	s.Seed(map[string]string{"system:screen_off_timeout": "60000", "bogus:x": "1"})
	tool := s.Commands()["settings"]
	root := shell.WithUID(context.Background(), 0)
	if r := cmdtest.Run(root, tool, "settings", "--user", "0", "put", "system", "screen_off_timeout", "123"); r.Code != 0 {
		t.Fatal(r)
	}
	cmdtest.Must(t, tool, "settings", "put", "global", "http_proxy", "127.0.0.1:8080")
	want := []event.SettingChanged{
		{NS: "system", Key: "screen_off_timeout", Old: "60000", New: "123", Had: true, By: 0},
		{NS: "global", Key: "http_proxy", New: "127.0.0.1:8080", By: 2000},
	}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("events %+v, want %+v", got, want)
	}
	if out := cmdtest.Must(t, tool, "settings", "get", "global", "nothing"); out != "null\n" {
		t.Errorf("unset: %q", out)
	}
	if out := cmdtest.Must(t, s.ShellCommand, "list", "global"); out != "http_proxy=127.0.0.1:8080\n" {
		t.Errorf("cmd settings list: %q", out)
	}
	if out := cmdtest.Must(t, tool, "settings", "delete", "global", "http_proxy"); out != "Deleted 1 rows\n" {
		t.Errorf("delete: %q", out)
	}
	r := cmdtest.Run(context.Background(), tool, "settings", "get", "bogus", "x")
	if r.Code != 1 || !strings.HasPrefix(r.Err, "Invalid namespace 'bogus'") {
		t.Errorf("bad namespace: %+v", r)
	}
	if err := s.Put("bogus", "k", "v", 1000); err == nil {
		t.Error("Put into a missing namespace")
	}
}
