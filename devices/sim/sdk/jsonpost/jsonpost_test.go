package jsonpost_test

import (
	"encoding/json"
	"strings"
	"testing"

	"telltale.dev/devices/sim/sdk/device"
	"telltale.dev/devices/sim/sdk/eventdb"
	"telltale.dev/devices/sim/sdk/jsonpost"
	"telltale.dev/devices/sim/sdk/sdktest"
	"telltale.dev/devices/sim/simtest"
	"telltale.dev/protocols"
)

func bodies(t *testing.T, reqs []simtest.Request) []string {
	t.Helper()
	var out []string
	for _, q := range reqs {
		body := q.Body
		if q.Header.Get("Content-Encoding") == "gzip" {
			var err error
			if body, err = protocols.Gunzip(body); err != nil {
				t.Fatal(err)
			}
		}
		var ev map[string]any
		if err := json.Unmarshal(body, &ev); err != nil {
			t.Fatalf("%s%s: %v", q.Host, q.Path, err)
		}
		out = append(out, q.Host+q.Path+" "+ev["event"].(string))
	}
	return out
}

var eq = sdktest.Equal

// SystemUI's MiStat posts each event as it is recorded while on Wi-Fi and
// keeps it for Wi-Fi otherwise.
func TestMistatWaitsForWifi(t *testing.T) {
	r := sdktest.New(t, device.Realistic)
	c := jsonpost.New(r.App("com.android.systemui"), jsonpost.Mistat)
	t.Cleanup(c.Close)
	lock := func() {
		c.Track(eventdb.Event{Name: "screen_lock", Host: "data.mistat.intl.xiaomi.com", Path: protocols.MistatPath, Format: "mistat", Action: "lock-screen"})
		sdktest.Wait(t, c)
	}
	lock()
	eq(t, "on Wi-Fi", bodies(t, r.Proxy.Requests()), "data.mistat.intl.xiaomi.com/mistats/v3 screen_lock")
	r.Wifi.Set(false)
	lock()
	lock()
	sdktest.Wait(t, c)
	if q := c.Queue(); q.Length != 2 || len(r.Proxy.Requests()) != 1 {
		t.Fatalf("off Wi-Fi: queue %+v, %d requests", q, len(r.Proxy.Requests()))
	}
	r.Wifi.Set(true)
	sdktest.Wait(t, c)
	if n := len(r.Proxy.Requests()); n != 3 || c.Queue().Length != 0 {
		t.Errorf("back on Wi-Fi: %d requests, queue %+v", n, c.Queue())
	}
}

// The security center's reports are gzip JSON with the IMEI's MD5; one
// that failed goes with the next.
func TestSecurityCenterRetriesWithTheNextEvent(t *testing.T) {
	r := sdktest.New(t, device.Realistic)
	c := jsonpost.New(r.App("com.miui.securitycenter"), jsonpost.SecurityCenter)
	t.Cleanup(c.Close)
	install := func(pkg string) {
		c.Track(eventdb.Event{Name: "app_install", Host: "api.sec.intl.miui.com", Path: protocols.SecurityCenterReportPath, Format: "json-gzip",
			Action: "install-app", Values: map[string]string{"package": pkg}, Data: map[string]any{"package": pkg}})
		sdktest.Wait(t, c)
	}
	r.SetReverse(false)
	install("com.canary.one")
	r.SetReverse(true)
	install("com.canary.two")
	eq(t, "requests", bodies(t, r.Proxy.Requests()), "api.sec.intl.miui.com/v1/apps/report app_install", "api.sec.intl.miui.com/v1/apps/report app_install")
	js, _ := protocols.Gunzip(r.Proxy.Requests()[0].Body)
	if !strings.Contains(string(js), `"package":"com.canary.one"`) || !strings.Contains(string(js), `"imei_md5":"`) || strings.Contains(string(js), sdktest.Identity.IMEI) {
		t.Errorf("first report %s", js)
	}
	var states []string
	for _, rec := range r.Records(t) {
		states = append(states, rec.Values["package"]+":"+rec.State)
	}
	eq(t, "ground truth", states, "com.canary.one:queued", "com.canary.one:failed", "com.canary.two:queued", "com.canary.one:sent", "com.canary.two:sent")
}
