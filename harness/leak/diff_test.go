package leak

import (
	"reflect"
	"testing"

	"telltale.dev/harness/capture"
)

func TestDifferential(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	ot := oneTrack(10, key, "s1", "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
		otEvent("app_open", map[string]any{"package": "com.x"}))
	config := post(1, "https://sdkconfig.ad.intl.xiaomi.com/api/v4/detail/config?r=1", nil, nil)
	baseline := []capture.Flow{config, ot[0], saFlow(2, saEvent("heartbeat", nil))}
	action := []capture.Flow{
		config, ot[1],
		saFlow(3, saEvent("heartbeat", nil), saEvent("browser_visit", map[string]any{"url": "https://a.example/"})),
		post(4, "https://data.mistat.intl.xiaomi.com/mistats/v3", nil, []byte(`{"event":"screen_lock","t":1}`)),
		{Kind: capture.KindTLSFailure, TLS: &capture.TLSInfo{SNI: "pinned.example.com"}},
	}
	got := Differential(baseline, action)
	want := Diff{
		Hosts:  []string{"data.mistat.intl.xiaomi.com", "pinned.example.com"},
		Paths:  []string{"data.mistat.intl.xiaomi.com/mistats/v3", "tracking.intl.miui.com/track/v4"},
		Events: []string{"app_open", "browser_visit", "screen_lock"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	if d := Differential(action, action); len(d.Hosts)+len(d.Paths)+len(d.Events) != 0 {
		t.Errorf("a window against itself: %+v", d)
	}
}

func TestEndpointCatalog(t *testing.T) {
	for host, want := range map[string]string{
		"sa.api.intl.miui.com":         "Sensors Analytics",
		"TRACKING.intl.miui.com:443":   "OneTrack",
		"tracking.rus.miui.com":        "OneTrack",
		"data.mistat.intl.xiaomi.com":  "mistat",
		"api.sec.intl.miui.com":        "MIUI security center",
		"sdkconfig.ad.intl.xiaomi.com": "MIUI ad config",
		"static.sensorsdata.cn":        "Sensors Analytics",
		"sensorsdata.cn":               "Sensors Analytics",
	} {
		if got, ok := Endpoint(host); !ok || got != want {
			t.Errorf("%s: %q %v, want %q", host, got, ok, want)
		}
	}
	for _, host := range []string{"example.com", "evilsensorsdata.cn", "miui.com"} {
		if got, ok := Endpoint(host); ok {
			t.Errorf("%s labelled %q", host, got)
		}
	}
}
