// Package profiles describes the phone models telltale knows: what their
// build properties say, which firmware versions exist, how each user action
// is done on that model, and which leaks each firmware is known to have.
package profiles

import (
	"time"

	"telltale.dev/protocols"
)

// Action names, shared by profiles, the simulated phone, the harness and the
// reports, so one action is spelled one way everywhere.
const (
	ActionBrowseIncognito = "browse-incognito"
	ActionSearch          = "search"
	ActionInstallApp      = "install-app"
	ActionOpenApp         = "open-app"
	ActionCharge          = "charge"
	ActionChangeSetting   = "change-setting"
	ActionCreateFolder    = "create-folder"
	ActionConnectWifi     = "connect-wifi"
	ActionLockScreen      = "lock-screen"
)

// Profile is one phone model.
type Profile struct {
	Name        string `yaml:"name"`         // file stem: "redmi-note-8"
	DisplayName string `yaml:"display_name"` // "Redmi Note 8"
	// Devices are the ro.product.device values this profile matches
	// ("ginkgo"; the emulator has several).
	Devices []string `yaml:"devices"`
	// Root is true where `adb root` works (emulator images, userdebug builds).
	Root bool `yaml:"root"`
	// Props are the build properties common to every firmware of the model.
	Props map[string]string `yaml:"props"`
	// Firmware lists the versions known to us, oldest first.
	Firmware []Firmware `yaml:"firmware"`
	// Packages are preinstalled package names.
	Packages []string `yaml:"packages"`
	Actions  Actions  `yaml:"actions"`
	// FlowLibraries name the flow libraries (flows/NAME.yaml) whose flows
	// the model starts from, later ones replacing flows of earlier ones:
	// [aosp, miui-global].
	FlowLibraries []string `yaml:"flow_libraries"`
	// Flows add to or replace the library's flows for every firmware of the
	// model; each firmware's own come on top (see FlowsFor).
	Flows Flows `yaml:"flows"`
	// Switches are on/off settings inside apps that decide whether a known
	// leak happens (known_leaks' when: switch:NAME=on).
	Switches map[string]Switch `yaml:"switches"`
	// Telemetry names the services this model is known to report to, by
	// their IDs in the vendor catalogue (telltale.dev/protocols), which
	// holds their hosts.
	Telemetry []string `yaml:"telemetry"`
	// Settle is how long to wait after an action for telemetry to flush
	// (Go duration text, e.g. "2s").
	Settle string `yaml:"settle"`
	// Flush says how long the model's telemetry takes to leave the phone
	// and what makes it leave sooner.
	Flush Flush `yaml:"flush"`
	// Source is the file the profile was read from (set by the loader).
	Source string `yaml:"-"`
	// libraries are FlowLibraries' content, linked by the loader.
	libraries []*Library
}

// Switch is an on/off setting inside an app, kept in the app's own data
// and so only seen on its screen: Mi Browser's "Enhanced incognito mode"
// (the May 2020 "aggregated data collection" switch).
type Switch struct {
	// Flow shows the page holding the switch.
	Flow string `yaml:"flow"`
	// Row is the switch's label; the checkable node in its row holds the
	// state (the label's own checked attribute when it is checkable).
	Row Selectors `yaml:"row"`
	// Leave is a flow back out of the page (none: stay).
	Leave string `yaml:"leave"`
	// Default is the state a fresh install has ("on"): what the firmware's
	// unconditional known leaks describe.
	Default string `yaml:"default"`
}

// SwitchEnhancedIncognito is Mi Browser's "Enhanced incognito mode" switch.
const SwitchEnhancedIncognito = "enhanced-incognito"

// Firmware is one firmware version of a model.
type Firmware struct {
	// Version is the MIUI version ("V11.0.5.0.PCOMIXM") or the build id of a
	// non-MIUI image; users select it by this or by its short form ("V11.0.5.0").
	Version string `yaml:"version"`
	// Android is the release ("10"); SDK the API level (29).
	Android string `yaml:"android"`
	SDK     int    `yaml:"sdk"`
	// Props override or add to the profile's props for this firmware
	// (ro.build.fingerprint, ro.miui.ui.version.name, ro.build.version.incremental ...).
	Props map[string]string `yaml:"props"`
	// Apps gives versions of preinstalled apps on this firmware
	// ("com.mi.globalbrowser.mini": "3.4.0").
	Apps  map[string]string `yaml:"apps"`
	Notes string            `yaml:"notes"`
	// Flows replace the model's flows of the same name from this firmware
	// on (later firmware inherit them).
	Flows Flows `yaml:"flows"`
	// KnownLeaks are the leaks this firmware is known to have: the expected
	// behaviour that scenarios assert and regressions are measured against.
	KnownLeaks []KnownLeak `yaml:"known_leaks"`
	// Sends is the telemetry this firmware sends that no canary can show:
	// for each action that plants nothing (lock-screen), the endpoints and
	// event names its window adds to what the idle phone sends; and, under
	// the action "background", what the phone may send at any time (config
	// fetches, heartbeats). Under the known-leaks policy an action's window
	// must add exactly its entries, besides background ones.
	Sends []Send `yaml:"sends"`
}

// ActionBackground names, in Firmware.Sends, traffic the phone sends at any
// time, whatever the action.
const ActionBackground = "background"

// Flush is how the model's telemetry SDKs empty their queues. A real phone
// cannot be asked about its queues, so the harness waits Interval where it
// needs them empty (before teardown, in --pipeline at the end).
type Flush struct {
	// Interval is the longest an SDK holds a queued event once the nudges
	// ran (Go duration text; Sensors Analytics uploads 15 s after the first
	// queued event). A window waits at most 1.5 of it for its leaks.
	Interval string `yaml:"interval"`
	// Nudges are shell commands that make apps upload without changing what
	// they send ("input keyevent KEYCODE_HOME" sends the app to the
	// background), run after each action and before teardown.
	Nudges []string `yaml:"nudges"`
}

// FlushInterval is Flush.Interval, or 0 when the profile has none.
func (p *Profile) FlushInterval() time.Duration {
	d, _ := time.ParseDuration(p.Flush.Interval) // checked at load
	return d
}

// Send is one endpoint a firmware sends to for an action.
type Send struct {
	Action string `yaml:"action"` // one of the Action* names, or ActionBackground
	// Endpoint is the host and path without the query:
	// "data.mistat.intl.xiaomi.com/mistats/v3".
	Endpoint string `yaml:"endpoint"`
	// Events are the telemetry event names the requests carry ("event"
	// fields of their decoded JSON), as the detector reads them.
	Events []string `yaml:"events"`
}

// KnownLeak says that an action's data reaches a host on a firmware.
type KnownLeak struct {
	Action string `yaml:"action"` // one of the Action* names
	Host   string `yaml:"host"`
	// Via is the decoding chain a detector is expected to report, outermost
	// first, without JSON paths ("form:data_list", "base64", "gzip", "json").
	Via []string `yaml:"via"`
	// When names a condition: "switch:enhanced-incognito=on" (a switch of
	// the profile, read on the phone's screen) or
	// "setting:NAMESPACE:KEY=VALUE"; empty means always.
	When  string `yaml:"when"`
	Notes string `yaml:"notes"`
}

// Actions say how each user action is done on this model over adb.
type Actions struct {
	Browser  Browser         `yaml:"browser"`
	Charge   Charge          `yaml:"charge"`
	Settings []SettingTarget `yaml:"settings"`
	// Launcher is the home screen package, whose folders CreateFolder makes.
	Launcher string `yaml:"launcher"`
	// FolderRoot is where CreateFolder makes folders ("/sdcard").
	FolderRoot string `yaml:"folder_root"`
}

// Browser is the model's browser. No intent opens it incognito (Chrome
// ignores its extra from the shell; Mi Browser has none): its flows do.
type Browser struct {
	Package   string `yaml:"package"`   // "com.mi.globalbrowser.mini"
	Component string `yaml:"component"` // "com.mi.globalbrowser.mini/com.android.browser.BrowserActivity"
	// SearchURL is a URL template where %s is the escaped query: the
	// browser's search engine, which a phrase typed in the address bar goes to.
	SearchURL string `yaml:"search_url"`
}

// Charge is how charging is simulated over adb.
type Charge struct {
	// Plug, Level and Unplug are shell commands; %s/%d are filled in.
	Plug   string `yaml:"plug"`   // "dumpsys battery set %s 1" (ac|usb|wireless)
	Level  string `yaml:"level"`  // "dumpsys battery set level %d"
	Unplug string `yaml:"unplug"` // "dumpsys battery unplug"
	Reset  string `yaml:"reset"`  // "dumpsys battery reset"
}

// SettingTarget is a setting the model is known to report when changed in
// its Settings app.
type SettingTarget struct {
	Namespace string `yaml:"namespace"` // system|secure|global
	Key       string `yaml:"key"`
	// Flow changes it in the Settings app to ${value}; a number setting's
	// flow also gets ${percent}, where value falls on a 0..Max slider.
	Flow string `yaml:"flow"`
	// Canary is the kind of value planted: "text" (default) or "number"
	// (for settings the system validates as integers).
	Canary string `yaml:"canary"`
	// Max is a number setting's largest value (screen_brightness: 255).
	Max int `yaml:"max"`
}

// Canary kinds of a SettingTarget.
const (
	CanaryText   = "text"
	CanaryNumber = "number"
)

// TelemetryHosts are the hosts of the profile's telemetry services, for the
// region its builds report from (ro.miui.region; global when unset).
func (p *Profile) TelemetryHosts() []string {
	region := p.Props["ro.miui.region"]
	if region == "" {
		region = protocols.RegionGlobal
	}
	return protocols.HostsOf(region, p.Telemetry...)
}
