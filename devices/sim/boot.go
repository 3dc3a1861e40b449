package sim

import (
	"slices"
	"strconv"

	"telltale.dev/devices/profiles"
	"telltale.dev/devices/sim/system/security"
)

// basePackages are on every Android build whatever the profile lists.
var basePackages = []string{
	"android", "com.android.settings", "com.android.shell", "com.android.systemui",
	"com.android.providers.settings", "com.android.packageinstaller", "com.android.phone",
}

// systemPackages is the firmware's package list, each once, base first.
func systemPackages(prof *profiles.Profile) []string {
	var out []string
	for _, p := range slices.Concat(basePackages, prof.Packages) {
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

// bootProps are the properties a firmware boots with: the profile's, then
// defaults for what it leaves out, then the kind of phone's MIUI
// Developer options toggles (on for a research phone, off out of the box).
func bootProps(prof *profiles.Profile, fw *profiles.Firmware, serial string, kind Kind) map[string]string {
	props := prof.BuildProps(fw)
	if props["ro.miui.ui.version.name"] != "" {
		on := map[bool]string{true: "1", false: "0"}[kind == KindResearch]
		props[security.PropAdbInput], props[security.PropAdbInstall] = on, on
	}
	dev := prof.Name
	if len(prof.Devices) > 0 {
		dev = prof.Devices[0]
	}
	defaults := map[string]string{
		"ro.product.device":            dev,
		"ro.product.name":              dev,
		"ro.product.model":             prof.DisplayName,
		"ro.build.version.release":     fw.Android,
		"ro.build.version.sdk":         strconv.Itoa(fw.SDK),
		"ro.build.version.incremental": fw.Version,
		"ro.build.display.id":          fw.Version,
		"ro.serialno":                  serial,
		"ro.secure":                    "1",
		"ro.debuggable":                "0",
		"ro.build.type":                "user",
		"sys.boot_completed":           "1",
		"persist.sys.timezone":         "UTC",
		"ro.product.cpu.abi":           "arm64-v8a",
	}
	if prof.Root {
		defaults["ro.secure"], defaults["ro.debuggable"], defaults["ro.build.type"] = "0", "1", "userdebug"
		defaults["ro.product.cpu.abi"] = "x86_64"
	}
	for k, v := range defaults {
		if _, ok := props[k]; !ok {
			props[k] = v
		}
	}
	return props
}

// bootSettings are the settings a fresh phone has ("ns:key" -> value).
func bootSettings(prof *profiles.Profile, androidID string) map[string]string {
	return map[string]string{
		"global:adb_enabled":                    "1",
		"global:development_settings_enabled":   "1", // USB debugging needs Developer options on
		"global:airplane_mode_on":               "0",
		"global:wifi_on":                        "1",
		"global:device_name":                    prof.DisplayName,
		"global:stay_on_while_plugged_in":       "0",
		"system:screen_brightness":              "128",
		"system:screen_off_timeout":             "60000",
		"system:font_scale":                     "1.0",
		"secure:android_id":                     androidID,
		"secure:location_mode":                  "3",
		"secure:lock_screen_lock_after_timeout": "5000",
	}
}
