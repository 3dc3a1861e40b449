// Package apps is the phone's software: the manifests of the packages a
// firmware ships, and which app module runs each installed package (the
// launcher, a browser, or the generic app any other APK gets). Each module
// lives in its own package below this one.
package apps

import (
	"telltale.dev/devices/sim/apps/browser"
	"telltale.dev/devices/sim/apps/cronetvideo"
	"telltale.dev/devices/sim/apps/flutternews"
	"telltale.dev/devices/sim/apps/settings"
	"telltale.dev/devices/sim/content"
)

// catalog holds what the system image's packages declare: label and
// activities, and the platform shared users some run as. Packages not
// listed declare no activities (services and providers:
// com.miui.analytics, com.miui.msa.global ...).
var catalog = map[string]content.Manifest{
	// MIUI's home screen: ActivityManager starts com.miui.home/.launcher.Launcher
	// for the HOME intent (public logcat and `dumpsys activity` captures of
	// MIUI phones). The label is modeled.
	"com.miui.home": {Label: "System launcher", Activities: []content.ActivityInfo{
		{Name: "com.miui.home.launcher.Launcher", Filters: []content.Filter{content.Home}},
	}},
	// The emulator's launcher (helloklf/vtools launcher scripts:
	// com.google.android.apps.nexuslauncher/.NexusLauncherActivity).
	"com.google.android.apps.nexuslauncher": {Label: "Pixel Launcher", Activities: []content.ActivityInfo{
		{Name: "com.google.android.apps.nexuslauncher.NexusLauncherActivity", Filters: []content.Filter{content.Home}},
	}},
	// Mi Browser: scripts start com.mi.globalbrowser/com.android.browser.BrowserActivity;
	// a test asserts com.android.browser.BrowserSettingsActivity (reference/miui-ui.md
	// section 1). Label modeled.
	"com.mi.globalbrowser": {Label: "Mi Browser", Activities: []content.ActivityInfo{
		{Name: browser.MainActivity, Filters: []content.Filter{content.Launcher, content.Browsable}},
		{Name: browser.SettingsActivity},
	}},
	// Mint Browser: the same activity names as Mi Browser are inferred
	// (reference/miui-ui.md section 1). Modeled.
	"com.mi.globalbrowser.mini": {Label: "Mint Browser", Activities: []content.ActivityInfo{
		{Name: browser.MainActivity, Filters: []content.Filter{content.Launcher, content.Browsable}},
		{Name: browser.SettingsActivity},
	}},
	// Chrome's launcher alias (chromium chrome/android AndroidManifest.xml).
	"com.android.chrome": {Label: "Chrome", Activities: []content.ActivityInfo{
		{Name: "com.google.android.apps.chrome.Main", Filters: []content.Filter{content.Launcher, content.Browsable}},
	}},
	// AOSP packages/apps/Settings: the launcher alias ".Settings"; the app
	// runs as the system (AndroidManifest.xml android:sharedUserId=
	// "android.uid.system"), so `pm list packages -U` shows uid:1000.
	"com.android.settings": {Label: "Settings", SharedUserID: "android.uid.system", Activities: []content.ActivityInfo{
		{Name: "com.android.settings.Settings", Filters: []content.Filter{content.Launcher}},
	}},
	// The framework (frameworks/base/core/res AndroidManifest.xml), the
	// settings provider (packages/providers/SettingsProvider) and the shell
	// (packages/Shell) declare their platform shared users.
	"android":                        {SharedUserID: "android.uid.system"},
	"com.android.providers.settings": {SharedUserID: "android.uid.system"},
	"com.android.shell":              {SharedUserID: "android.uid.shell"},
	// Mi File Manager (reference/miui-ui.md section 4). Label modeled.
	"com.mi.android.globalFileexplorer": {Label: "File Manager", Activities: []content.ActivityInfo{
		{Name: "com.android.fileexplorer.FileExplorerTabActivity", Filters: []content.Filter{content.Launcher}},
	}},
	// MIUI Security: com.miui.securityscan.MainActivity is what scripts open
	// (public code via the code index); AdbInstallActivity is the adb-install
	// dialog (reference/miui-ui.md section 5). Label modeled.
	"com.miui.securitycenter": {Label: "Security", Activities: []content.ActivityInfo{
		{Name: "com.miui.securityscan.MainActivity", Filters: []content.Filter{content.Launcher}},
		{Name: "com.miui.permcenter.install.AdbInstallActivity"},
		{Name: settings.AdbInputActivity},
	}},
	// AOSP packages/apps/DocumentsUI: .LauncherActivity opens the Files app.
	"com.android.documentsui": {Label: "Files", Activities: []content.ActivityInfo{
		{Name: "com.android.documentsui.LauncherActivity", Filters: []content.Filter{content.Launcher}},
	}},
	// Modeled apps with network stacks of their own (sim-netstack): one
	// ignores the proxy setting, one tries QUIC first.
	flutternews.Package: flutternews.Manifest,
	cronetvideo.Package: cronetvideo.Manifest,
}

// SystemImage returns the manifests of a firmware's packages, in the
// given order, at the versions the firmware ships them (the profile's
// apps: "com.mi.globalbrowser": "12.1.4"); others are version 1.0
// (modeled). The version code is 1: no source gives them.
func SystemImage(pkgs []string, versions map[string]string) []content.Manifest {
	out := make([]content.Manifest, 0, len(pkgs))
	for _, p := range pkgs {
		m := catalog[p]
		m.Package, m.VersionCode, m.VersionName = p, 1, "1.0"
		if v, ok := versions[p]; ok {
			m.VersionName = v
		}
		out = append(out, m)
	}
	return out
}
