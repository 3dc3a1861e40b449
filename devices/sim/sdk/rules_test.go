package sdk

import (
	"slices"
	"strings"
	"testing"
)

func TestDefaultRulesFollowTheMatrix(t *testing.T) {
	sets, err := DefaultRules()
	if err != nil {
		t.Fatal(err)
	}
	find := func(model, fw, action string) *Rule {
		rs := Select(sets, model, fw)
		if rs == nil {
			return nil
		}
		for i := range rs.Rules {
			if rs.Rules[i].Action == action {
				return &rs.Rules[i]
			}
		}
		return nil
	}
	if Select(sets, "aosp-emulator", "sdk_gphone64_x86_64-14") != nil {
		t.Error("the emulator must send no telemetry")
	}
	for _, m := range []string{"redmi-note-8", "mi-9t", "mi-10", "mi-mix-3"} {
		for _, fw := range []string{"V11.0.3.0.PCOMIXM", "V12.0.2.0.QCOMIXM"} {
			// The browser's own switch gates incognito reporting on 12.0; the
			// rules are the same (event.PageLoaded.Report).
			r := find(m, fw, "browse-incognito")
			if r == nil || r.Format != FormatSA || r.Project != "mibrowser_global" {
				t.Errorf("%s %s incognito: %+v", m, fw, r)
			}
		}
		if r := find(m, "V12.0.2.0.QCOMIXM", "charge"); r == nil || slices.Contains(r.Values, "ssid") {
			t.Errorf("%s V12.0 charge must not carry the SSID: %+v", m, r)
		}
		if r := find(m, "V12.5.1.0.RCOMIXM", "charge"); r == nil || !slices.Contains(r.Values, "ssid") || r.Format != FormatOneTrack {
			t.Errorf("%s V12.5 charge must carry the SSID over OneTrack: %+v", m, r)
		}
		if r := find(m, "V12.5.1.0.RCOMIXM", "lock-screen"); r == nil || r.Format != FormatMistat {
			t.Errorf("%s V12.5 must inherit lock-screen: %+v", m, r)
		}
		if r := find(m, "V11.0.3.0.PCOMIXM", "connect-wifi"); r != nil {
			t.Errorf("%s: connect-wifi must not be reported by itself: %+v", m, r)
		}
	}
	// Hosts and paths come from the catalogue for the phone's region.
	want := map[string]string{
		"search":         "sa.api.intl.miui.com/sa?project=mibrowser_global",
		"change-setting": "sa.api.intl.miui.com/sa?project=settings_global",
		"open-app":       "tracking.intl.miui.com/track/v4",
		"install-app":    "api.sec.intl.miui.com/v1/apps/report",
		"lock-screen":    "data.mistat.intl.xiaomi.com/mistats/v3",
	}
	for action, endpoint := range want {
		host, path, err := find("redmi-note-8", "V11.0.3.0.PCOMIXM", action).endpoint("global")
		if err != nil || host+path != endpoint {
			t.Errorf("%s goes to %s%s (%v), want %s", action, host, path, err, endpoint)
		}
	}
	if _, _, err := find("redmi-note-8", "V11.0.3.0.PCOMIXM", "search").endpoint("cn"); err == nil || !strings.Contains(err.Error(), "no sensors-analytics host") {
		t.Errorf("a China build without a Sensors Analytics host: %v", err)
	}
}

func TestLoadRulesRejectsBadRules(t *testing.T) {
	for _, y := range []string{
		"rulesets: [{name: a, firmware: V1, rules: [{action: x, event: e, format: carrier-pigeon}]}]",
		"rulesets: [{name: a, base: missing}]",
		"rulesets: [{name: a, rules: [{action: x, event: e, format: sa}]}]",
		"rulesets: [{name: a, rules: [{action: x, format: mistat}]}]",
		"rulesets: [{name: a, rules: [{action: x, event: e, format: onetrack, priority: 3}]}]",
		"rulesets: [{name: a, rules: [{action: x, event: e, format: onetrack, generated: [mood]}]}]",
		"rulesets: [{name: a, rules: [{action: x, event: e, format: sa, project: p, when: always}]}]",
		"rulesets: [{name: a, noise: [{every: 5s, event: e, format: sa, app: a}]}]",
		"rulesets: [{name: a, noise: [{event: e, format: config, app: a}]}]",
		"rulesets: [{name: a, colour: blue}]",
	} {
		if _, err := LoadRules([]byte(y)); err == nil {
			t.Errorf("LoadRules accepted %s", y)
		}
	}
}
