package telemetry

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
)

func TestJavaHashCode(t *testing.T) {
	// "polygenelubricants" is the well-known string whose hash is
	// Integer.MIN_VALUE; "é😀" is three UTF-16 units (233, 0xD83D, 0xDE00):
	// (233*31 + 55357)*31 + 56832.
	cases := map[string]int32{"": 0, "a": 97, "hello": 99162322, "polygenelubricants": -2147483648, "é😀": 1996812}
	for s, want := range cases {
		if got := JavaHashCode(s); got != want {
			t.Errorf("JavaHashCode(%q) = %d, want %d", s, got, want)
		}
	}
}

func TestSARoundTrip(t *testing.T) {
	events := []map[string]any{{"event": "browser_visit", "properties": map[string]any{"url": "https://canary.example/?q=a b"}}}
	body, err := EncodeSA(events)
	if err != nil {
		t.Fatal(err)
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		t.Fatal(err)
	}
	if form.Get("gzip") != "1" || form.Get("crc") == "" {
		t.Fatalf("form fields: %v", form)
	}
	// The layers must be the documented ones, peeled by hand.
	raw, err := base64.StdEncoding.DecodeString(form.Get("data_list"))
	if err != nil {
		t.Fatal(err)
	}
	js, err := Gunzip(raw)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(js), `"url":"https://canary.example/?q=a b"`) {
		t.Fatalf("JSON inside: %s", js)
	}
	got, err := DecodeSA(body)
	if err != nil {
		t.Fatal(err)
	}
	if got[0]["event"] != "browser_visit" {
		t.Errorf("decoded %v", got)
	}
	form.Set("crc", "1")
	if _, err := DecodeSA([]byte(form.Encode())); err == nil {
		t.Error("a wrong crc was accepted")
	}
}

func TestOneTrackRoundTrip(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 16)
	sealed, err := SealOneTrack(key, []map[string]any{{"event": "app_open", "package": "com.canary.app"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(sealed)%16 != 0 || bytes.Contains(sealed, []byte("canary")) {
		t.Fatalf("sealed body is not opaque AES blocks: %x", sealed)
	}
	js, err := OpenOneTrack(key, sealed)
	if err != nil {
		t.Fatal(err)
	}
	var evs []map[string]any
	if err := json.Unmarshal(js, &evs); err != nil || evs[0]["package"] != "com.canary.app" {
		t.Fatalf("opened %s (%v)", js, err)
	}
	if _, err := OpenOneTrack(bytes.Repeat([]byte{8}, 16), sealed); err == nil {
		t.Error("the wrong key opened the body")
	}
}

func TestParseKeyReply(t *testing.T) {
	k := bytes.Repeat([]byte{1, 2}, 8)
	for _, enc := range []string{base64.StdEncoding.EncodeToString(k), hex.EncodeToString(k)} {
		got, sid, err := ParseKeyReply([]byte(`{"code":0,"data":{"key":"` + enc + `","sid":"s1"}}`))
		if err != nil || !bytes.Equal(got, k) || sid != "s1" {
			t.Errorf("key %q: got %x %q %v", enc, got, sid, err)
		}
	}
	for _, bad := range []string{`{"code":-3}`, `{"code":0,"data":{"key":"short"}}`, `not json`} {
		if _, _, err := ParseKeyReply([]byte(bad)); err == nil {
			t.Errorf("ParseKeyReply(%s) succeeded", bad)
		}
	}
}

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
