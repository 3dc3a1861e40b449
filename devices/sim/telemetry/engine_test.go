package telemetry_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"telltale.dev/devices/sim/adbd"
	"telltale.dev/devices/sim/clock"
	"telltale.dev/devices/sim/netstack"
	"telltale.dev/devices/sim/simtest"
	"telltale.dev/devices/sim/telemetry"
	"telltale.dev/devices/sim/vfs"
	"telltale.dev/protocols"
)

// source is a phone reduced to what the engine asks: settings, Wi-Fi, and
// (through the real network stack) a CA store and a reverse rule to the test
// proxy. Dials are counted to prove that no unreachable proxy is ever dialed.
type source struct {
	mu       sync.Mutex
	settings map[string]string
	reverse  map[string]string // "tcp:8080" -> host address
	wifi     bool
	dials    atomic.Int32
}

func (s *source) Setting(ns, key string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.settings[ns+":"+key]
	return v, ok
}

func (s *source) set(k, v string) {
	s.mu.Lock()
	s.settings[k] = v
	s.mu.Unlock()
}

func (s *source) Network() (bool, string) { return s.wifi, "" }

func (s *source) DialReverse(ctx context.Context, local string) (net.Conn, error) {
	s.dials.Add(1)
	addr, ok := s.reverse[local]
	if !ok {
		return nil, adbd.ErrNoReverse
	}
	var d net.Dialer
	return d.DialContext(ctx, "tcp", addr)
}

func (s *source) Disconnect(time.Duration) {}

// stack is the phone's network stack over src, with the test proxy's CA in
// the system store when trustCA.
func stack(t testing.TB, src *source, caPEM []byte, trustCA bool) *netstack.Stack {
	t.Helper()
	fs := vfs.New("/system")
	if err := fs.Remount("/system", false); err != nil {
		t.Fatal(err)
	}
	if err := fs.MkdirAll(netstack.SystemCADir, 0o755, vfs.RootUID); err != nil {
		t.Fatal(err)
	}
	if trustCA {
		if err := fs.WriteFile(netstack.SystemCADir+"/test.0", caPEM, 0o644, vfs.RootUID, false); err != nil {
			t.Fatal(err)
		}
	}
	n := netstack.New(netstack.Config{Settings: src, Files: fs, Clock: clock.Real(), SDK: 29})
	n.SetTunnel(src)
	return n
}

type rig struct {
	proxy *simtest.Proxy
	src   *source
	truth *telemetry.TruthLog
	eng   *telemetry.Engine
}

func newRig(t testing.TB, firmware string, trustCA bool) *rig {
	t.Helper()
	sets, err := telemetry.DefaultRules()
	if err != nil {
		t.Fatal(err)
	}
	rs := telemetry.Select(sets, "redmi-note-8", firmware)
	if rs == nil {
		t.Fatalf("no ruleset for %s", firmware)
	}
	px := simtest.NewProxy(t)
	src := &source{settings: map[string]string{"global:http_proxy": "127.0.0.1:8080"}, wifi: true,
		reverse: map[string]string{"tcp:8080": fmt.Sprintf("127.0.0.1:%d", px.Port())}}
	for k, v := range rs.Settings {
		src.settings[k] = v
	}
	truth := &telemetry.TruthLog{}
	eng := telemetry.Start(telemetry.Config{Rules: rs, Source: src, Net: stack(t, src, px.CAPEM, trustCA),
		Truth: telemetry.NewTruth(truth), NoiseOff: true,
		Timeout: 5 * time.Second,
		Identity: telemetry.Identity{Serial: "127.0.0.1:1", Device: "ginkgo", Model: "Redmi Note 8", MIUIVersion: firmware,
			Android: "10", AndroidID: "0123456789abcdef", IMEI: "861234567890123"}})
	t.Cleanup(eng.Close)
	return &rig{proxy: px, src: src, truth: truth, eng: eng}
}

// records parses the whole ground-truth log so far.
func (r *rig) records(t testing.TB) []telemetry.Record {
	t.Helper()
	recs, err := r.truth.Records()
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

func (r *rig) flush(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.eng.Flush(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestSensorsAnalyticsDelivered(t *testing.T) {
	r := newRig(t, "V11.0.3.0.PCOMIXM", true)
	url := "https://www.google.com/search?q=canary+phrase%21"
	r.eng.Observe(telemetry.Occurrence{Action: "search", App: "com.mi.globalbrowser.mini",
		Values: map[string]string{"url": url, "search_word": "canary phrase!", "incognito": "true"}})
	r.flush(t)
	reqs := r.proxy.Requests()
	if len(reqs) != 1 {
		t.Fatalf("proxy got %d requests, want 1: %+v", len(reqs), reqs)
	}
	q := reqs[0]
	if q.Host != "sa.api.intl.miui.com" || q.Method != "POST" || q.Path != "/sa?project=mibrowser_global" {
		t.Fatalf("request %s %s%s", q.Method, q.Host, q.Path)
	}
	evs, err := protocols.DecodeSA(q.Body)
	if err != nil {
		t.Fatal(err)
	}
	props, _ := evs[0]["properties"].(map[string]any)
	if evs[0]["event"] != "browser_search" || props["url"] != url || props["search_word"] != "canary phrase!" ||
		props["$device_id"] != "0123456789abcdef" || evs[0]["distinct_id"] != "0123456789abcdef" ||
		props["$model"] != "Redmi Note 8" || props["$wifi"] != true || evs[0]["_flush_time"] == nil {
		t.Errorf("event: %v", evs[0])
	}
	recs := r.records(t)
	if len(recs) != 1 || !recs[0].Delivered || recs[0].Action != "search" || recs[0].Values["search_word"] != "canary phrase!" ||
		recs[0].Values["url"] != url || recs[0].Format != "sa" || recs[0].Status != 200 {
		t.Errorf("ground truth: %+v", recs)
	}
	if _, ok := recs[0].Values["incognito"]; ok {
		t.Error("values not carried by the event must not be in the ground truth")
	}
}

func TestOneTrackKeyExchangeAndUpload(t *testing.T) {
	r := newRig(t, "V12.5.1.0.RCOMIXM", true)
	r.eng.Observe(telemetry.Occurrence{Action: "charge", App: "com.miui.powerkeeper",
		Values: map[string]string{"plugged": "ac", "level": "57", "ssid": "CanaryNet"}})
	r.eng.Observe(telemetry.Occurrence{Action: "open-app", App: "com.canary.app", Values: map[string]string{"package": "com.canary.app"}})
	r.flush(t)
	var uploads []simtest.Request
	keyGets := 0
	for _, q := range r.proxy.Requests() {
		switch q.Path {
		case "/track/key_get":
			keyGets++
			if !strings.Contains(string(q.Body), "secretKey=") || !strings.Contains(string(q.Body), "sign=") {
				t.Errorf("key_get form: %s", q.Body)
			}
		case "/track/v4":
			uploads = append(uploads, q)
		}
	}
	if keyGets < 1 || len(uploads) != 2 {
		t.Fatalf("want a key exchange and 2 uploads, got %d key_get and %d uploads", keyGets, len(uploads))
	}
	seen := map[string]map[string]any{}
	for _, u := range uploads {
		for _, h := range []string{"OT_SID", "OT_ts", "OT_net", "OT_sender", "OT_protocol"} {
			if u.Header.Get(h) == "" {
				t.Errorf("upload lacks header %s: %v", h, u.Header)
			}
		}
		if bytes.Contains(u.Body, []byte("Canary")) {
			t.Error("OneTrack body is readable without the key")
		}
		js, err := protocols.OpenOneTrack(r.proxy.Key, u.Body)
		if err != nil {
			t.Fatal(err)
		}
		var evs []map[string]any
		if err := json.Unmarshal(js, &evs); err != nil {
			t.Fatal(err)
		}
		seen[evs[0]["event"].(string)] = evs[0]
	}
	ch := seen["battery_charging"]
	if ch["level"] != float64(57) || ch["plugged"] != "ac" || ch["ssid"] != "CanaryNet" || ch["imei"] != "861234567890123" {
		t.Errorf("charging event: %v", ch)
	}
	if op := seen["app_open"]; op["package"] != "com.canary.app" || op["start"] == nil || op["duration"] == nil {
		t.Errorf("app_open event: %v", op)
	}
}

func TestFixedFirmwareHonoursTheSwitch(t *testing.T) {
	r := newRig(t, "V12.0.2.0.PCOMIXM", true)
	visit := telemetry.Occurrence{Action: "browse-incognito", Values: map[string]string{"url": "https://a.example/"}}
	r.src.set("secure:browser_aggregated_data_collection", "0")
	r.eng.Observe(visit)
	r.flush(t)
	if n := len(r.proxy.Requests()); n != 0 {
		t.Fatalf("switch off: %d requests sent", n)
	}
	r.src.set("secure:browser_aggregated_data_collection", "1")
	r.eng.Observe(visit)
	r.eng.Observe(telemetry.Occurrence{Action: "charge", Values: map[string]string{"plugged": "ac", "level": "50", "ssid": "Net"}})
	r.flush(t)
	for _, rec := range r.records(t) {
		if rec.Action == "charge" && rec.Values["ssid"] != "" {
			t.Errorf("V12.0 charge carried the SSID: %+v", rec)
		}
	}
	if n := len(r.records(t)); n != 2 {
		t.Fatalf("switch on: %d events, want 2", n)
	}
}

func TestUndeliveredWithoutDialing(t *testing.T) {
	cases := []struct{ proxy, reason string }{
		{"", "no-proxy"}, {":0", "no-proxy"}, {"null", "no-proxy"},
		{"10.1.2.3:8080", "proxy-not-loopback"}, {"proxy.example:3128", "proxy-not-loopback"},
	}
	for _, c := range cases {
		r := newRig(t, "V11.0.3.0.PCOMIXM", true)
		r.src.set("global:http_proxy", c.proxy)
		r.eng.Observe(telemetry.Occurrence{Action: "lock-screen", Values: map[string]string{}})
		r.flush(t)
		recs := r.records(t)
		if len(recs) != 1 || recs[0].Delivered || recs[0].Reason != c.reason {
			t.Errorf("proxy %q: %+v", c.proxy, recs)
		}
		if n := r.src.dials.Load(); n != 0 {
			t.Errorf("proxy %q: dialed %d times", c.proxy, n)
		}
	}
	r := newRig(t, "V11.0.3.0.PCOMIXM", true)
	r.src.set("global:http_proxy", "127.0.0.1:9999")
	r.eng.Observe(telemetry.Occurrence{Action: "lock-screen", Values: map[string]string{}})
	r.flush(t)
	if recs := r.records(t); len(recs) != 1 || recs[0].Reason != "no-reverse" {
		t.Errorf("loopback proxy without a reverse rule: %+v", recs)
	}
}

func TestMissingCAIsATLSFailure(t *testing.T) {
	r := newRig(t, "V11.0.3.0.PCOMIXM", false)
	r.eng.Observe(telemetry.Occurrence{Action: "create-folder", Values: map[string]string{"folder": "CanaryDir"}})
	r.flush(t)
	recs := r.records(t)
	if len(recs) != 1 || recs[0].Delivered || recs[0].Reason != "tls" || recs[0].Values["folder"] != "CanaryDir" {
		t.Errorf("ground truth: %+v", recs)
	}
	if len(r.proxy.Requests()) != 0 {
		t.Error("a request got through an untrusted certificate")
	}
	deadline := time.Now().Add(2 * time.Second)
	for len(r.proxy.TLSFailures()) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if f := r.proxy.TLSFailures(); len(f) != 1 || f[0] != "sa.api.intl.miui.com" {
		t.Errorf("proxy saw TLS failures %v", f)
	}
}

func TestGzipJSONAndMistat(t *testing.T) {
	r := newRig(t, "V11.0.3.0.PCOMIXM", true)
	r.eng.Observe(telemetry.Occurrence{Action: "install-app", Values: map[string]string{"package": "com.canary.pkg", "installer": "adb"}})
	r.eng.Observe(telemetry.Occurrence{Action: "lock-screen", Values: map[string]string{}})
	r.flush(t)
	got := map[string]bool{}
	for _, q := range r.proxy.Requests() {
		switch q.Host {
		case "api.sec.intl.miui.com":
			if q.Header.Get("Content-Encoding") != "gzip" {
				t.Errorf("api.sec without gzip: %v", q.Header)
			}
			js, err := protocols.Gunzip(q.Body)
			if err != nil || !strings.Contains(string(js), `"package":"com.canary.pkg"`) {
				t.Errorf("api.sec body %s (%v)", js, err)
			}
			got["install"] = true
		case "data.mistat.intl.xiaomi.com":
			if !strings.Contains(string(q.Body), `"event":"screen_lock"`) || q.Path != "/mistats/v3" {
				t.Errorf("mistat %s %s", q.Path, q.Body)
			}
			got["lock"] = true
		}
	}
	if !got["install"] || !got["lock"] {
		t.Errorf("arrived: %v", got)
	}
}

func TestSkipKeysAndUnknownActions(t *testing.T) {
	r := newRig(t, "V11.0.3.0.PCOMIXM", true)
	r.eng.Observe(telemetry.Occurrence{Action: "change-setting", Values: map[string]string{"key": "http_proxy", "new": "127.0.0.1:8080"}})
	r.eng.Observe(telemetry.Occurrence{Action: "connect-wifi", Values: map[string]string{"ssid": "x"}})
	r.eng.Observe(telemetry.Occurrence{Action: "browse", Values: map[string]string{"url": "https://x/"}})
	r.flush(t)
	if recs := r.records(t); len(recs) != 0 {
		t.Errorf("events for ignored occurrences: %+v", recs)
	}
}
