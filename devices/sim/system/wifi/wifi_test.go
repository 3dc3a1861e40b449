package wifi_test

import (
	"context"
	"fmt"
	"testing"

	"telltale.dev/devices/sim/event"
	"telltale.dev/devices/sim/internal/cmdtest"
	"telltale.dev/devices/sim/system/settings"
	"telltale.dev/devices/sim/system/wifi"
)

func TestRadioFollowsTheSettingAndKeepsTheNetwork(t *testing.T) {
	var bus event.Bus
	var got []string
	bus.Subscribe(func(ev event.Event) {
		switch e := ev.(type) {
		case event.WifiConnected:
			got = append(got, fmt.Sprintf("connected %s reconnect=%v", e.SSID, e.Reconnect))
		case event.WifiDisconnected:
			got = append(got, "disconnected "+e.SSID)
		case event.SettingChanged:
			got = append(got, fmt.Sprintf("%s:%s=%s by %d", e.NS, e.Key, e.New, e.By))
		}
	})
	s := settings.New(&bus)
	w := wifi.New(&bus, s)
	cmdtest.Must(t, w.Svc, "disable")
	if on, ssid := w.Network(); on || ssid != "" {
		t.Errorf("radio off: %v %q", on, ssid)
	}
	cmdtest.Must(t, s.Commands()["settings"], "settings", "put", "global", "wifi_on", "1")
	cmdtest.Must(t, w.ShellCommand, "connect-network", "CanaryNet", "open")
	if out := cmdtest.Must(t, w.ShellCommand, "status"); out != "Wifi is enabled\nWifi is connected to \"CanaryNet\"\n" {
		t.Errorf("status: %q", out)
	}
	want := []string{
		"global:wifi_on=0 by 1000", "disconnected " + wifi.DefaultSSID,
		"global:wifi_on=1 by 2000", "connected " + wifi.DefaultSSID + " reconnect=true",
		"disconnected " + wifi.DefaultSSID, "connected CanaryNet reconnect=false",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("events\n got %q\nwant %q", got, want)
	}
	cmdtest.Must(t, w.ShellCommand, "set-wifi-enabled", "disabled")
	r := cmdtest.Run(context.Background(), w.ShellCommand, "connect-network", "Other", "wpa2")
	if r.Code != 1 {
		t.Errorf("a wpa2 network without a passphrase: %+v", r)
	}
	if r := cmdtest.Run(context.Background(), w.ShellCommand, "connect-network", "Other", "open"); r.Code != 1 {
		t.Errorf("connecting with the radio off: %+v", r)
	}
	if out := cmdtest.Must(t, w.Dump); out != "Wi-Fi is disabled\nmWifiInfo SSID: \"\", Supplicant state: DISCONNECTED\n" {
		t.Errorf("dump: %q", out)
	}
}
