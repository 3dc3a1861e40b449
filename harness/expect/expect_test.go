package expect

import (
	"slices"
	"testing"

	"telltale.dev/devices/profiles"
)

// TestExpected checks the known-leaks table lookup on the real profiles: the
// leaky firmware leaks incognito URLs unconditionally, the fixed one only
// while the aggregated data collection switch is on (its default), and the
// emulator never.
func TestLeaks(t *testing.T) {
	profs, err := profiles.Load()
	if err != nil {
		t.Fatal(err)
	}
	redmi := profiles.ByName(profs, "redmi-note-8")
	emu := profiles.ByName(profs, "aosp-emulator")
	switchAt := func(v string, set bool) Setting {
		return func(ns, key string) (string, bool, error) {
			if ns != "secure" || key != "browser_aggregated_data_collection" {
				t.Errorf("asked for %s:%s", ns, key)
			}
			return v, set, nil
		}
	}
	for _, c := range []struct {
		p        *profiles.Profile
		fw       string
		action   string
		setting  Setting
		wantHost string
	}{
		{redmi, "V11.0.3.0", profiles.ActionBrowseIncognito, nil, "sa.api.intl.miui.com"},
		{redmi, "V12.0.2.0", profiles.ActionBrowseIncognito, switchAt("1", true), "sa.api.intl.miui.com"},
		{redmi, "V12.0.2.0", profiles.ActionSearch, switchAt("0", true), ""},
		{redmi, "V12.0.2.0", profiles.ActionSearch, switchAt("", false), "sa.api.intl.miui.com"},
		{redmi, "V12.0.2.0", profiles.ActionConnectWifi, nil, ""},
		{redmi, "V12.5.1.0", profiles.ActionConnectWifi, nil, "tracking.intl.miui.com"},
		{emu, "sdk_gphone64_x86_64-14", profiles.ActionBrowseIncognito, nil, ""},
	} {
		fw, err := c.p.FindFirmware(c.fw)
		if err != nil {
			t.Fatal(err)
		}
		get := c.setting
		if get == nil {
			get = func(ns, key string) (string, bool, error) {
				t.Errorf("%s %s: unconditional leak asked for %s:%s", c.fw, c.action, ns, key)
				return "", false, nil
			}
		}
		got, err := Leaks(c.p, fw, c.action, get)
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
}

func TestExpectedRejectsUnknownConditions(t *testing.T) {
	p := &profiles.Profile{Name: "x"}
	fw := &profiles.Firmware{Version: "1", KnownLeaks: []profiles.KnownLeak{{Action: "search", Host: "h", When: "moon:full"}}}
	if _, err := Leaks(p, fw, "search", nil); err == nil {
		t.Fatal("no error for an unknown condition")
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
	leaks, err := Leaks(redmi, fw, profiles.ActionSearch, nil)
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
