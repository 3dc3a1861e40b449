package telemetry

import (
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
		if r := find(m, "V11.0.3.0.PCOMIXM", "search"); r == nil || r.When != "" || r.Host != "sa.api.intl.miui.com" {
			t.Errorf("%s V11 search: %+v", m, r)
		}
		if r := find(m, "V12.0.2.0.QCOMIXM", "browse-incognito"); r == nil || r.When == "" {
			t.Errorf("%s V12.0 incognito must depend on the switch: %+v", m, r)
		}
		if r := find(m, "V12.0.2.0.QCOMIXM", "charge"); r == nil || strings.Contains(strings.Join(r.Values, ","), "ssid") {
			t.Errorf("%s V12.0 charge must not carry the SSID: %+v", m, r)
		}
		if r := find(m, "V12.5.1.0.RCOMIXM", "charge"); r == nil || !strings.Contains(strings.Join(r.Values, ","), "ssid") || r.Format != FormatOneTrack {
			t.Errorf("%s V12.5 charge must carry the SSID over OneTrack: %+v", m, r)
		}
		if r := find(m, "V12.5.1.0.RCOMIXM", "lock-screen"); r == nil || r.Host != "data.mistat.intl.xiaomi.com" {
			t.Errorf("%s V12.5 must inherit lock-screen: %+v", m, r)
		}
		if r := find(m, "V11.0.3.0.PCOMIXM", "connect-wifi"); r != nil {
			t.Errorf("%s: connect-wifi must not be reported by itself: %+v", m, r)
		}
	}
	if rs := Select(sets, "mi-10", "V12.0.2.0.QJBCNXM"); rs.Settings["secure:browser_aggregated_data_collection"] != "1" {
		t.Errorf("V12.0 must default the aggregated switch on: %v", rs.Settings)
	}
}

func TestLoadRulesRejectsBadRules(t *testing.T) {
	for _, y := range []string{
		"rulesets: [{name: a, firmware: V1, rules: [{action: x, format: carrier-pigeon, host: h, path: /p}]}]",
		"rulesets: [{name: a, base: missing}]",
		"rulesets: [{name: a, rules: [{action: x, format: sa, host: h, path: /p, when: always}]}]",
		"rulesets: [{name: a, colour: blue}]",
	} {
		if _, err := LoadRules([]byte(y)); err == nil {
			t.Errorf("LoadRules accepted %s", y)
		}
	}
}
