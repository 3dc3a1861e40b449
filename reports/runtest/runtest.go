// Package runtest writes synthetic run directories shaped like what the
// simulated phones do (notes/behaviour.md): the findings, chains, hosts and
// differential entries each firmware produces for each action. Tests and
// benchmarks of the reports use it instead of running phones.
package runtest

import (
	"cmp"
	"fmt"
	"strings"
	"time"

	"telltale.dev/devices/profiles"
	"telltale.dev/fixtures/canary"
	"telltale.dev/harness/bypass"
	"telltale.dev/harness/capture"
	"telltale.dev/harness/leak"
	"telltale.dev/reports/run"
)

// Variants the scenario suite gives the browser spec on firmware that has
// the "aggregated data collection" switch.
const (
	VariantSwitchOff = "aggregated switch off"
	VariantSwitchOn  = "aggregated switch on"
)

// Hosts of the simulated Xiaomi telemetry.
const (
	HostSA       = "sa.api.intl.miui.com"
	HostSec      = "api.sec.intl.miui.com"
	HostOneTrack = "tracking.intl.miui.com"
	HostMistat   = "data.mistat.intl.xiaomi.com"
	HostConfig   = "sdkconfig.ad.intl.xiaomi.com"
)

// Firmware versions of the simulated redmi-note-8.
const (
	FirmwareLeaky = "V11.0.3.0.PCOMIXM"
	FirmwareFixed = "V12.0.2.0.QCOMIXM"
	FirmwareLater = "V12.5.1.0.RCOMIXM"
	FirmwareAOSP  = "sdk_gphone64_x86_64-14"
)

// Phone is one device of a synthetic run.
type Phone struct {
	Serial, Model, Firmware string
	// NotDecrypted lists hosts whose TLS the phone refuses (pinning): their
	// flows are TLS failures instead of requests.
	NotDecrypted []string
	// Capture is the phone's capture mode ("" is proxy); in transparent
	// capture every finding names the app that sent it (AppSender).
	Capture string
	// Bypass are connections every window of the phone saw going around
	// the proxy (an app that ignores the proxy setting).
	Bypass []bypass.Bypass
}

// AppSender is the app a transparent phone's findings name.
var AppSender = capture.App{UID: 10068, Package: "com.miui.analytics"}

// Spec is one action, as the scenario suite names it.
type Spec struct{ Action, Variant string }

// SpecsFor lists the specs the scenario suite runs on a phone: every action;
// change-setting once per setting the profile reports (the variant is
// "namespace:key"); and, where the firmware has the aggregated switch, the
// browser again with it off and back on.
func SpecsFor(p Phone) []Spec {
	specs := []Spec{{profiles.ActionBrowseIncognito, ""}, {profiles.ActionSearch, ""}}
	if hasSwitch(p.Firmware) {
		specs = append(specs, Spec{profiles.ActionBrowseIncognito, VariantSwitchOff}, Spec{profiles.ActionBrowseIncognito, VariantSwitchOn})
	}
	specs = append(specs, Spec{profiles.ActionInstallApp, ""}, Spec{profiles.ActionOpenApp, ""}, Spec{profiles.ActionCharge, ""})
	settings := []string{"system:screen_off_timeout", "system:screen_brightness", "global:device_name"}
	if p.Model == "aosp-emulator" {
		settings = []string{"system:screen_off_timeout", "global:device_name"}
	}
	for _, st := range settings {
		specs = append(specs, Spec{profiles.ActionChangeSetting, st})
	}
	return append(specs, Spec{profiles.ActionCreateFolder, ""}, Spec{profiles.ActionConnectWifi, ""}, Spec{profiles.ActionLockScreen, ""})
}

func hasSwitch(firmware string) bool { return strings.HasPrefix(firmware, "V12") }

// Leak is one expected finding: the host and the chain with its JSON path,
// found in the body unless Where says otherwise.
type Leak struct {
	Host, Path string
	Chain      []string
	Where      string
}

// Expected returns the findings the detector reports for an action on a
// firmware, following the agreed behaviour matrix.
func Expected(firmware, action, variant string) []Leak {
	if !strings.HasPrefix(firmware, "V1") {
		return nil // the AOSP emulator sends no telemetry
	}
	later := strings.HasPrefix(firmware, "V12.5")
	sa := func(path string) []string { return []string{"form:data_list", "base64", "gzip", "json:" + path} }
	ot := func(path string) []string { return []string{"onetrack-aes", "gzip", "json:" + path} }
	const saPath, otPath = "/sa?project=mi_browser", "/track/v4"
	switch action {
	case profiles.ActionBrowseIncognito:
		if hasSwitch(firmware) && variant == VariantSwitchOff {
			return nil
		}
		return []Leak{{HostSA, saPath, sa("$[0].properties.url"), ""}}
	case profiles.ActionSearch:
		if hasSwitch(firmware) && variant == VariantSwitchOff {
			return nil
		}
		return []Leak{
			{HostSA, saPath, sa("$[0].properties.search_word"), ""},
			{HostSA, saPath, append(sa("$[0].properties.url"), "percent"), ""},
		}
	case profiles.ActionInstallApp:
		return []Leak{{HostSec, "/v1/apps/report", []string{"gzip", "json:$.apps[0].package"}, ""}}
	case profiles.ActionOpenApp:
		// The package also travels as it is in the upload's OT_sender header.
		return []Leak{{HostOneTrack, otPath, ot("$.events[0].package"), ""}, {HostOneTrack, otPath, nil, "header:OT_sender"}}
	case profiles.ActionCharge:
		return []Leak{{HostOneTrack, otPath, ot("$.events[0].level"), ""}}
	case profiles.ActionChangeSetting:
		return []Leak{{HostSA, saPath, sa("$[0].properties.new"), ""}}
	case profiles.ActionCreateFolder:
		return []Leak{{HostSA, saPath, sa("$[0].properties.folder"), ""}}
	case profiles.ActionConnectWifi:
		if later {
			return []Leak{{HostOneTrack, otPath, ot("$.events[0].ssid"), ""}}
		}
	}
	return nil
}

// Options shape a synthetic run.
type Options struct {
	// FlowsPerSpec is how many flows each spec's window holds (at least the
	// leaking requests); 0 means 20.
	FlowsPerSpec int
	// Start is when the run began; zero means two minutes ago, so the run
	// reads as just finished. Phones run in parallel, as with one Ginkgo
	// process per phone.
	Start time.Time
	Seed  int64
}

// Write creates a run directory at dir with SpecsFor each phone run on it,
// finishes it and returns it read back.
func Write(dir string, phones []Phone, o Options) (*run.Run, error) {
	if o.FlowsPerSpec == 0 {
		o.FlowsPerSpec = 20
	}
	if o.Start.IsZero() {
		o.Start = time.Now().UTC().Add(-2 * time.Minute).Truncate(time.Second)
	}
	w, err := run.Create(dir, run.Manifest{
		Harness: run.Harness{Version: "test", Commit: "0000000"},
		RunID:   "synthetic-" + o.Start.Format("20060102-150405"),
		Start:   o.Start, Seed: o.Seed, Policy: "known-leaks",
		GinkgoFlags: []string{"--procs=2"},
	})
	if err != nil {
		return nil, err
	}
	failed := false
	for pi, p := range phones {
		if err := w.AddDevice(Device(p)); err != nil {
			return nil, err
		}
		seq := int64(pi) * 1_000_000
		t := o.Start
		for si, s := range SpecsFor(p) {
			r, flows := spec(p, s, pi, si, o.FlowsPerSpec, &seq, t)
			t = r.Window.End.Add(3 * time.Second)
			if r.State == run.StateFailed {
				failed = true
			}
			if _, err := w.RecordSpec(r, flows); err != nil {
				return nil, err
			}
		}
	}
	status, reason := run.StatusPassed, ""
	if failed {
		status, reason = run.StatusFailed, "a spec failed"
	}
	if err := w.Finish(status, reason); err != nil {
		return nil, err
	}
	return run.Open(dir)
}

// Device is the run.json record of a synthetic phone.
func Device(p Phone) run.Device {
	d := run.Device{
		Serial: p.Serial, Model: p.Model, Firmware: p.Firmware,
		CAStore: "user", CAFingerprint: "sha256:3f2a9c", ProxyImage: "sha256:telltale-proxy", ProxyMode: "regular",
		Host: "127.0.0.1:5037", Capture: cmp.Or(p.Capture, "proxy"),
	}
	switch {
	case strings.HasPrefix(p.Firmware, "V11"):
		d.AndroidVersion, d.MIUIVersion = "10", "V11"
	case strings.HasPrefix(p.Firmware, "V12.5"):
		d.AndroidVersion, d.MIUIVersion = "11", "V125"
	case strings.HasPrefix(p.Firmware, "V12"):
		d.AndroidVersion, d.MIUIVersion = "10", "V12"
	default:
		d.AndroidVersion, d.CAStore = "14", "system"
	}
	if p.Model == "redmi-note-8" {
		d.DisplayName = "Redmi Note 8"
		d.Fingerprint = "Xiaomi/ginkgo/ginkgo:" + d.AndroidVersion + "/QKQ1.200114.002/" + p.Firmware + ":user/release-keys"
	}
	return d
}

func spec(p Phone, s Spec, pi, si, nflows int, seq *int64, start time.Time) (run.SpecResult, []capture.Flow) {
	c := canaryFor(s.Action, pi, si)
	r := run.SpecResult{
		Name:   fmt.Sprintf("%s on %s %s", s.Action, p.Model, p.Firmware),
		Device: p.Serial, Action: s.Action, Variant: s.Variant,
		State: run.StatePassed, Start: start,
	}
	if c.Value != "" {
		r.Canaries = []canary.Canary{c}
	}
	if s.Action == profiles.ActionConnectWifi {
		// the connect-wifi scenario plugs the charger after connecting so a
		// later firmware's charge event has a chance to carry the SSID.
		r.Canaries = append(r.Canaries, canary.Canary{ID: "charge-level", Value: fmt.Sprint(40 + si), Kind: canary.KindNumber})
	}
	expected := Expected(p.Firmware, s.Action, s.Variant)
	window := 4*time.Second + time.Duration(len(expected))*time.Second
	step := window / time.Duration(max(nflows, 1))
	*seq++
	r.Window = run.Window{StartSeq: *seq, Start: start}
	flows := make([]capture.Flow, 0, nflows)
	leakAt := map[int]Leak{}
	for i, l := range expected {
		leakAt[(i+1)*nflows/(len(expected)+1)] = l
	}
	for i := 0; i < nflows || len(leakAt) > 0; i++ {
		*seq++
		at := start.Add(time.Duration(i) * step)
		f := capture.Flow{Seq: *seq, Kind: capture.KindHTTP, Start: at, End: at.Add(30 * time.Millisecond), Client: "127.0.0.1:40000"}
		host, path, method, body := HostConfig, "/api/v4/detail/config", "GET", ""
		if l, ok := leakAt[i]; ok {
			delete(leakAt, i)
			host, path, method, body = l.Host, l.Path, "POST", "crc=1&gzip=1&data_list=H4sIAAAAAAAA"
			if hasHost(p.NotDecrypted, host) {
				// pinned: the request happened but nothing in it can be read
				flows = append(flows, tlsFailure(*seq, at, host))
				continue
			}
			r.Findings = append(r.Findings, run.Finding{Place: leak.Place{Finding: leak.Finding{
				Canary: c.ID, Entry: len(flows), Seq: *seq, Time: at, Host: l.Host, Method: method,
				URL: "https://" + l.Host + l.Path, Where: cmp.Or(l.Where, "body"), Chain: l.Chain,
				Evidence: evidence(l, c), Endpoint: endpoint(l.Host), App: sender(p),
			}, Requests: 1, LastSeq: *seq, Planted: leak.Planting{Seq: r.Window.StartSeq, Time: start}, Delay: at.Sub(start)}})
		}
		if hasHost(p.NotDecrypted, host) {
			flows = append(flows, tlsFailure(*seq, at, host))
			continue
		}
		f.TLS = &capture.TLSInfo{SNI: host, Version: "TLS 1.3", Decrypted: true}
		f.Request = &capture.Request{Method: method, URL: "https://" + host + path, Proto: "HTTP/1.1",
			Headers: []capture.Header{{Name: "Host", Value: host}}, Body: []byte(body), BodySize: int64(len(body))}
		f.Response = &capture.Response{Status: 200, Proto: "HTTP/1.1", BodySize: 2, Body: []byte("{}")}
		flows = append(flows, f)
	}
	r.Bypassed = p.Bypass
	r.Window.EndSeq, r.Window.End = *seq, start.Add(window)
	r.End = r.Window.End
	if s.Action == profiles.ActionLockScreen && strings.HasPrefix(p.Firmware, "V1") {
		r.Diff = leak.Diff{Hosts: []string{HostMistat}, Paths: []string{HostMistat + "/mistats/v3"}, Events: []string{"screen_lock"}}
	} else if len(expected) > 0 {
		r.Diff = leak.Diff{Hosts: []string{expected[0].Host}, Paths: []string{expected[0].Host + expected[0].Path}}
	}
	// A spec fails when the phone leaked something its policy did not expect
	// — here, never; a real suite sets it from its assertions.
	return r, flows
}

// sender is the app a phone's findings name: known in transparent capture.
func sender(p Phone) *capture.App {
	if p.Capture != "transparent" {
		return nil
	}
	app := AppSender
	return &app
}

func tlsFailure(seq int64, at time.Time, host string) capture.Flow {
	return capture.Flow{Seq: seq, Kind: capture.KindTLSFailure, Start: at, Client: "127.0.0.1:40000",
		TLS: &capture.TLSInfo{SNI: host, Alert: "bad certificate"}}
}

func hasHost(hosts []string, h string) bool {
	for _, x := range hosts {
		if x == h {
			return true
		}
	}
	return false
}

func canaryFor(action string, pi, si int) canary.Canary {
	id := fmt.Sprintf("%s-%d-%d", action, pi, si)
	switch action {
	case profiles.ActionBrowseIncognito:
		return canary.Canary{ID: id, Value: fmt.Sprintf("https://tt-%d-%d.example/private", pi, si)}
	case profiles.ActionSearch:
		return canary.Canary{ID: id, Value: fmt.Sprintf("telltale phrase %d %d", pi, si)}
	case profiles.ActionInstallApp, profiles.ActionOpenApp:
		return canary.Canary{ID: id, Value: fmt.Sprintf("dev.telltale.c%d%d", pi, si)}
	case profiles.ActionCharge:
		return canary.Canary{ID: id, Value: fmt.Sprint(40 + si), Kind: canary.KindNumber}
	case profiles.ActionChangeSetting:
		return canary.Canary{ID: id, Value: fmt.Sprintf("tt-setting-%d-%d", pi, si)}
	case profiles.ActionCreateFolder:
		return canary.Canary{ID: id, Value: fmt.Sprintf("TT-folder-%d-%d", pi, si)}
	case profiles.ActionConnectWifi:
		return canary.Canary{ID: id, Value: fmt.Sprintf("TT-WIFI-%d-%d", pi, si)}
	}
	return canary.Canary{}
}

func evidence(l Leak, c canary.Canary) string {
	if len(l.Chain) == 0 {
		return c.Value // sent as it is
	}
	last := l.Chain[len(l.Chain)-1]
	if last == "percent" {
		return `"url":"https://www.google.com/search?q=` + c.Value + `&ie=UTF-8"`
	}
	field := last[strings.LastIndex(last, ".")+1:]
	if c.Kind == canary.KindNumber {
		return `"plugged":"ac","` + field + `":` + c.Value + `,"temp":310`
	}
	return `"event":"x","properties":{"` + field + `":"` + c.Value + `"}`
}

func endpoint(host string) string {
	switch host {
	case HostSA:
		return "Sensors Analytics"
	case HostOneTrack:
		return "OneTrack"
	case HostSec:
		return "MIUI security app report"
	}
	return ""
}
