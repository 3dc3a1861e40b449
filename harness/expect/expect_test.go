package expect

import (
	"slices"
	"strings"
	"testing"

	"telltale.dev/devices/profiles"
)

// TestLeaks checks the known-leaks table lookup on the real profiles: the
// leaky firmware leaks incognito URLs unconditionally, the fixed one only
// while the browser's "Enhanced incognito mode" switch is on, and the
// emulator never; a condition on a setting reads that setting.
func TestLeaks(t *testing.T) {
	profs, err := profiles.Load()
	if err != nil {
		t.Fatal(err)
	}
	redmi := profiles.ByName(profs, "redmi-note-8")
	emu := profiles.ByName(profs, "aosp-emulator")
	switchIs := func(on bool) State {
		return State{Switch: func(name string) (bool, error) {
			if name != profiles.SwitchEnhancedIncognito {
				t.Errorf("asked for the switch %q", name)
			}
			return on, nil
		}}
	}
	for _, c := range []struct {
		p        *profiles.Profile
		fw       string
		action   string
		state    State
		wantHost string
	}{
		{redmi, "V11.0.3.0", profiles.ActionBrowseIncognito, State{}, "sa.api.intl.miui.com"},
		{redmi, "V12.0.2.0", profiles.ActionBrowseIncognito, switchIs(true), "sa.api.intl.miui.com"},
		{redmi, "V12.0.2.0", profiles.ActionSearch, switchIs(false), ""},
		{redmi, "V12.0.2.0", profiles.ActionConnectWifi, State{}, ""},
		{redmi, "V12.5.1.0", profiles.ActionConnectWifi, State{}, "tracking.intl.miui.com"},
		{emu, "sdk_gphone64_x86_64-14", profiles.ActionBrowseIncognito, State{}, ""},
	} {
		fw, err := c.p.FindFirmware(c.fw)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Leaks(c.p, fw, c.action, c.state)
		if err != nil {
			t.Fatal(err)
		}
		host := ""
		if len(got) > 0 {
			host = got[0].Host
		}
		if host != c.wantHost {
			t.Errorf("%s %s %s: expected leak to %q, want %q", c.p.Name, c.fw, c.action, host, c.wantHost)
		}
	}
	p := &profiles.Profile{Name: "x"}
	fw := &profiles.Firmware{Version: "1", KnownLeaks: []profiles.KnownLeak{{Action: "search", Host: "h", When: "setting:global:adb_enabled=1"}}}
	for _, c := range []struct {
		value string
		set   bool
		want  int
	}{{"1", true, 1}, {"0", true, 0}, {"", false, 0}} {
		got, err := Leaks(p, fw, "search", State{Setting: func(ns, key string) (string, bool, error) {
			if ns != "global" || key != "adb_enabled" {
				t.Errorf("asked for %s:%s", ns, key)
			}
			return c.value, c.set, nil
		}})
		if err != nil || len(got) != c.want {
			t.Errorf("setting %q (set %v): %d leaks (%v), want %d", c.value, c.set, len(got), err, c.want)
		}
	}
}

func TestExpectedRejectsUnknownConditions(t *testing.T) {
	p := &profiles.Profile{Name: "x"}
	fw := &profiles.Firmware{Version: "1", KnownLeaks: []profiles.KnownLeak{{Action: "search", Host: "h", When: "moon:full"}}}
	if _, err := Leaks(p, fw, "search", State{}); err == nil {
		t.Fatal("no error for an unknown condition")
	}
	fw.KnownLeaks[0].When = "switch:enhanced-incognito=on"
	if _, err := Leaks(p, fw, "search", State{}); err == nil || !strings.Contains(err.Error(), "cannot read the switch") {
		t.Fatalf("a switch condition with no way to read it: %v", err)
	}
	if _, err := ParsePolicy("lenient"); err == nil {
		t.Fatal("no error for an unknown policy")
	}
}

// TestTrafficAndRoutes reads what the real profiles say a firmware sends for
// an action without a canary, and the routes a search canary takes.
func TestTrafficAndRoutes(t *testing.T) {
	profs, err := profiles.Load()
	if err != nil {
		t.Fatal(err)
	}
	redmi := profiles.ByName(profs, "redmi-note-8")
	fw, err := redmi.FindFirmware("V11.0.3.0")
	if err != nil {
		t.Fatal(err)
	}
	want, background := Traffic(fw, profiles.ActionLockScreen)
	if !slices.Equal(want.Endpoints, []string{"data.mistat.intl.xiaomi.com/mistats/v3"}) || !slices.Equal(want.Events, []string{"screen_lock"}) {
		t.Errorf("lock-screen sends %+v", want)
	}
	if len(background.Endpoints) != 2 || len(background.Events) != 0 {
		t.Errorf("background %+v", background)
	}
	if want, _ := Traffic(fw, profiles.ActionSearch); len(want.Endpoints)+len(want.Events) != 0 {
		t.Errorf("search, which plants a canary, has sends %+v", want)
	}
	leaks, err := Leaks(redmi, fw, profiles.ActionSearch, State{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range Routes(leaks) {
		got = append(got, r.String())
	}
	if !slices.Equal(got, []string{
		"sa.api.intl.miui.com via form:data_list > base64 > gzip > json",
		"sa.api.intl.miui.com via form:data_list > base64 > gzip > json > percent",
	}) {
		t.Errorf("search routes %q", got)
	}
}
