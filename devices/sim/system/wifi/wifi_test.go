package wifi_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"telltale.dev/devices/sim/clock"
	"telltale.dev/devices/sim/event"
	"telltale.dev/devices/sim/internal/cmdtest"
	"telltale.dev/devices/sim/shell"
	"telltale.dev/devices/sim/system/logd"
	"telltale.dev/devices/sim/system/settings"
	"telltale.dev/devices/sim/system/wifi"
)

type rig struct {
	bus    event.Bus
	s      *settings.Settings
	w      *wifi.Wifi
	events []string
}

func newRig(sdk int, inRange ...wifi.Network) *rig {
	r := &rig{}
	r.bus.Subscribe(func(ev event.Event) {
		switch e := ev.(type) {
		case event.WifiConnected:
			r.events = append(r.events, fmt.Sprintf("connected %s reconnect=%v", e.SSID, e.Reconnect))
		case event.WifiDisconnected:
			r.events = append(r.events, "disconnected "+e.SSID)
		}
	})
	r.s = settings.New(settings.Config{Bus: &r.bus, SDK: sdk})
	r.w = wifi.New(wifi.Config{Bus: &r.bus, Settings: r.s, Log: logd.New(clock.Real()), SDK: sdk, InRange: inRange})
	return r
}

var root = shell.WithUID(context.Background(), 0)

// TestAndroid10IsRootOnly: Android 10's WifiShellCommand checks root before
// anything, and has no status or connect-network even for root.
func TestAndroid10IsRootOnly(t *testing.T) {
	r := newRig(29)
	for _, verb := range []string{"status", "connect-network", "list-networks"} {
		got := cmdtest.Run(context.Background(), r.w.ShellCommand, verb, "CanaryNet", "open")
		want := "Security exception: Uid 2000 does not have access to wifi commands\n\n" +
			"java.lang.SecurityException: Uid 2000 does not have access to wifi commands\n" +
			"\tat com.android.server.wifi.WifiShellCommand.checkRootPermission(WifiShellCommand.java)\n"
		if got.Code != 255 || !strings.HasPrefix(got.Err, want) || got.Out != "" {
			t.Errorf("cmd wifi %s as the shell: %+v", verb, got)
		}
	}
	if got := cmdtest.Run(root, r.w.ShellCommand, "status"); got.Code != 255 || got.Out != "Unknown command: status\n" {
		t.Errorf("cmd wifi status as root: %+v", got)
	}
	if got := cmdtest.Run(root, r.w.ShellCommand, "force-hi-perf-mode", "enabled"); got.Code != 0 {
		t.Errorf("a root tuning command: %+v", got)
	}
	if on, ssid := r.w.Network(); !on || ssid != wifi.DefaultSSID {
		t.Errorf("refused commands changed the network: %v %q", on, ssid)
	}
}

// TestConnectJoinsOnlyWhatIsInRange: connect-network says "Connection
// initiated " and saves the network whether or not anything answers; the
// phone joins it only when the access point is in range, with the right
// passphrase.
func TestConnectJoinsOnlyWhatIsInRange(t *testing.T) {
	r := newRig(31, wifi.Network{SSID: "Bench", Security: wifi.Open}, wifi.Network{SSID: "Lab", Security: wifi.WPA2, Passphrase: "secret"})
	sh := context.Background()
	run := func(args ...string) cmdtest.Result { return cmdtest.Run(sh, r.w.ShellCommand, args...) }
	for _, c := range []struct {
		args   []string
		out    string
		joined string
	}{
		{[]string{"connect-network", "Nowhere", "open"}, "Connection initiated \n", "Bench"},
		{[]string{"connect-network", "Lab", "wpa2", "wrong"}, "Connection initiated \n", "Bench"},
		{[]string{"connect-network", "Lab", "wpa2", "secret"}, "Connection initiated \n", "Lab"},
	} {
		got := run(c.args...)
		if got.Code != 0 || got.Out != c.out {
			t.Errorf("%v: %+v", c.args, got)
		}
		if _, ssid := r.w.Network(); ssid != c.joined {
			t.Errorf("after %v joined %q, want %q", c.args, ssid, c.joined)
		}
	}
	list := run("list-networks")
	want := "Network Id      SSID                         Security type\n" +
		"0            Bench                            open\n" +
		"1            Nowhere                          open\n" +
		"2            Lab                              wpa2\n"
	if list.Code != 0 || list.Out != want {
		t.Errorf("list-networks:\n%q\nwant\n%q", list.Out, want)
	}
	// The access point going away drops the phone back to a saved one.
	r.events = nil
	r.w.RemoveInRange("Lab")
	if got := fmt.Sprint(r.events); got != "[disconnected Lab connected Bench reconnect=true]" {
		t.Errorf("Lab out of range: %s", got)
	}
	// A saved network coming into range is joined once nothing else is.
	if got := run("forget-network", "0"); got.Out != "Forget successful\n" || got.Code != 0 {
		t.Errorf("forget Bench: %+v", got)
	}
	if on, ssid := r.w.Network(); on || ssid != "" {
		t.Errorf("after forgetting the joined network: %v %q", on, ssid)
	}
	r.w.AddInRange(wifi.Network{SSID: "Nowhere", Security: wifi.Open})
	if _, ssid := r.w.Network(); ssid != "Nowhere" {
		t.Errorf("a saved network came into range, joined %q", ssid)
	}
	for _, c := range []struct {
		args []string
		out  string
	}{
		{[]string{"forget-network", "7"}, "Forget failed\n"},
		{[]string{"forget-network", "x"}, "Invalid args for forget-network: java.lang.NumberFormatException: For input string: \"x\"\n"},
		{[]string{"connect-network", "Lab", "wpa2"}, "Invalid args for connect-network: java.lang.IllegalArgumentException: Argument expected after \"wpa2\"\n"},
		{[]string{"connect-network", "Lab", "wep", "k"}, "Invalid args for connect-network: java.lang.IllegalArgumentException: Unknown network type wep\n"},
	} {
		got := run(c.args...)
		if got.Out != c.out {
			t.Errorf("%v: %+v, want %q", c.args, got, c.out)
		}
	}
}

// TestAndroid11ExitsMinusOneAfterWork: the Android 11 commands that break
// out of their switch return -1 after printing.
func TestAndroid11ExitsMinusOneAfterWork(t *testing.T) {
	r := newRig(30)
	sh := context.Background()
	got := cmdtest.Run(sh, r.w.ShellCommand, "status")
	want := "Wifi is enabled\nWifi scanning is only available when wifi is enabled\nWifi is connected to \"AndroidWifi\"\nWifiInfo: SSID: \"AndroidWifi\","
	if got.Code != 255 || !strings.HasPrefix(got.Out, want) {
		t.Errorf("status on Android 11: %+v", got)
	}
	if got := cmdtest.Run(sh, r.w.ShellCommand, "connect-network", "Other", "open"); got.Code != 255 || got.Out != "Connection initiated \n" {
		t.Errorf("connect-network on Android 11: %+v", got)
	}
	if got := cmdtest.Run(sh, r.w.ShellCommand, "set-wifi-enabled", "disabled"); got.Code != 0 {
		t.Errorf("set-wifi-enabled on Android 11: %+v", got)
	}
	if got := cmdtest.Run(sh, r.w.ShellCommand, "connect-network", "Other", "open"); got.Out != "Connection failed\n" {
		t.Errorf("connecting with the radio off: %+v", got)
	}
	denied := cmdtest.Run(sh, r.w.ShellCommand, "force-country-code", "enabled", "DE")
	if denied.Code != 255 || !strings.HasPrefix(denied.Err, "\nException occurred while executing 'force-country-code':\n"+
		"java.lang.SecurityException: Uid 2000 does not have access to force-country-code wifi command\n") {
		t.Errorf("a root-only command as the shell: %+v", denied)
	}
}

// TestRadioFollowsTheSettingAndRejoins: wifi_on drives the radio; switched
// back on, it rejoins the network it left.
func TestRadioFollowsTheSettingAndRejoins(t *testing.T) {
	r := newRig(33, wifi.Network{SSID: "A", Security: wifi.Open}, wifi.Network{SSID: "B", Security: wifi.Open})
	cmdtest.Must(t, r.w.ShellCommand, "connect-network", "B", "open")
	r.events = nil
	cmdtest.Must(t, r.w.Svc, "disable")
	if on, ssid := r.w.Network(); on || ssid != "" || r.w.InRange() != nil {
		t.Errorf("radio off: %v %q, scan %v", on, ssid, r.w.InRange())
	}
	cmdtest.Must(t, r.s.Commands()["settings"], "settings", "put", "global", "wifi_on", "1")
	if got := fmt.Sprint(r.events); got != "[disconnected B connected B reconnect=true]" {
		t.Errorf("events: %s", got)
	}
	out := cmdtest.Must(t, r.w.ShellCommand, "status")
	if !strings.HasPrefix(out, "Wifi is enabled\nWifi scanning is only available when wifi is enabled\n==== Primary ClientModeManager instance ====\nWifi is connected to \"B\"\n") {
		t.Errorf("status on Android 13:\n%s", out)
	}
	if out := cmdtest.Must(t, r.w.Dump); out != "Wi-Fi is enabled\nmWifiInfo SSID: \"B\", Supplicant state: COMPLETED\n" {
		t.Errorf("dump: %q", out)
	}
}
