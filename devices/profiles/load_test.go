package profiles

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func mustLoad(t *testing.T) []*Profile {
	t.Helper()
	ps, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	return ps
}

func TestBuiltin(t *testing.T) {
	t.Setenv(EnvDir, "")
	ps := mustLoad(t)
	if got := Names(ps); !slices.Equal(got, []string{"aosp-emulator", "mi-10", "mi-9t", "mi-mix-3", "redmi-note-8"}) {
		t.Fatalf("profiles = %v", got)
	}
	for device, want := range map[string]string{
		"ginkgo": "redmi-note-8", "davinci": "mi-9t", "umi": "mi-10", "perseus": "mi-mix-3",
		"generic_x86_64": "aosp-emulator", "emu64x": "aosp-emulator", "emulator64_x86_64": "aosp-emulator",
	} {
		p := Match(ps, device)
		if p == nil || p.Name != want {
			t.Errorf("Match(%q) = %v, want %s", device, p, want)
		}
	}
	if Match(ps, "walleye") != nil || ByName(ps, "pixel-2") != nil {
		t.Error("unknown device or name matched")
	}
	if p := ByName(ps, "mi-10"); p == nil || p.DisplayName != "Mi 10" || p.Source != "devices/profiles/mi-10.yaml" {
		t.Fatalf("ByName(mi-10) = %+v", p)
	}
}

// The built-in profiles encode the agreed behaviour matrix.
func TestBehaviourMatrix(t *testing.T) {
	t.Setenv(EnvDir, "")
	ps := mustLoad(t)
	sa := []string{"form:data_list", "base64", "gzip", "json"}
	saURL := append(slices.Clone(sa), "percent") // the search phrase inside the results page URL
	ot := []string{"onetrack-aes", "gzip", "json"}
	const sw = "switch:enhanced-incognito=on"
	type leak struct {
		host string
		via  []string
		when string
	}
	common := map[string][]leak{
		ActionInstallApp:    {{"api.sec.intl.miui.com", []string{"gzip", "json"}, ""}},
		ActionOpenApp:       {{"tracking.intl.miui.com", ot, ""}, {"tracking.intl.miui.com", []string{}, ""}},
		ActionCharge:        {{"tracking.intl.miui.com", ot, ""}},
		ActionChangeSetting: {{"sa.api.intl.miui.com", sa, ""}},
		ActionCreateFolder:  {{"sa.api.intl.miui.com", sa, ""}},
	}
	with := func(extra map[string][]leak) map[string][]leak {
		m := map[string][]leak{}
		for k, v := range common {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	browser := func(when string) map[string][]leak {
		return map[string][]leak{
			ActionBrowseIncognito: {{"sa.api.intl.miui.com", sa, when}},
			ActionSearch:          {{"sa.api.intl.miui.com", sa, when}, {"sa.api.intl.miui.com", saURL, when}},
		}
	}
	later := browser(sw)
	later[ActionConnectWifi] = []leak{{"tracking.intl.miui.com", ot, ""}}
	want := map[string]map[string][]leak{
		"V11.0.3.0": with(browser("")),
		"V12.0.2.0": with(browser(sw)),
		"V12.5.1.0": with(later),
	}
	sends := []Send{
		{ActionLockScreen, "data.mistat.intl.xiaomi.com/mistats/v3", []string{"screen_lock"}},
		{ActionBackground, "sdkconfig.ad.intl.xiaomi.com/api/v4/detail/config", nil},
		{ActionBackground, "tracking.intl.miui.com/track/v1", nil},
	}
	sdk := map[string]int{"V11.0.3.0": 29, "V12.0.2.0": 29, "V12.5.1.0": 30}
	ui := map[string]string{"V11.0.3.0": "V11", "V12.0.2.0": "V12", "V12.5.1.0": "V125"}
	for _, name := range []string{"redmi-note-8", "mi-9t", "mi-10", "mi-mix-3"} {
		p := ByName(ps, name)
		if sw := p.Switches[SwitchEnhancedIncognito]; p.Root || len(p.Firmware) != 3 || sw.Flow != "browser-privacy" || sw.Default != "on" {
			t.Errorf("%s: root %v, %d firmware, switch %+v", name, p.Root, len(p.Firmware), sw)
		}
		if hosts := p.TelemetryHosts(); !slices.Equal(hosts, []string{"sa.api.intl.miui.com", "tracking.intl.miui.com",
			"api.sec.intl.miui.com", "data.mistat.intl.xiaomi.com", "sdkconfig.ad.intl.xiaomi.com"}) {
			t.Errorf("%s: telemetry hosts of a global build = %v", name, hosts)
		}
		for _, pkg := range []string{"com.mi.globalbrowser", "com.mi.globalbrowser.mini", "com.miui.analytics", "com.miui.securitycenter", "com.miui.home"} {
			if !slices.Contains(p.Packages, pkg) {
				t.Errorf("%s lacks package %s", name, pkg)
			}
		}
		for short, leaks := range want {
			fw, err := p.FindFirmware(short)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string][]leak{}
			for _, kl := range fw.KnownLeaks {
				got[kl.Action] = append(got[kl.Action], leak{kl.Host, kl.Via, kl.When})
			}
			if len(got) != len(leaks) {
				t.Errorf("%s %s: known leaks for %v, want %d actions", name, fw.Version, slices.Sorted(maps.Keys(got)), len(leaks))
			}
			for a, ls := range leaks {
				if !slices.EqualFunc(got[a], ls, func(g, l leak) bool {
					return g.host == l.host && slices.Equal(g.via, l.via) && g.when == l.when
				}) {
					t.Errorf("%s %s %s: %+v, want %+v", name, fw.Version, a, got[a], ls)
				}
			}
			if !slices.EqualFunc(fw.Sends, sends, func(a, b Send) bool {
				return a.Action == b.Action && a.Endpoint == b.Endpoint && slices.Equal(a.Events, b.Events)
			}) {
				t.Errorf("%s %s sends %+v, want %+v", name, fw.Version, fw.Sends, sends)
			}
			props := p.BuildProps(fw)
			if props["ro.build.version.sdk"] != strconv.Itoa(sdk[short]) || props["ro.miui.ui.version.name"] != ui[short] ||
				props["ro.build.version.incremental"] != fw.Version || props["ro.product.device"] != p.Devices[0] ||
				!strings.Contains(props["ro.build.fingerprint"], fw.Version) || props["ro.product.model"] != p.DisplayName {
				t.Errorf("%s %s props = %v", name, fw.Version, props)
			}
		}
		if !strings.Contains(p.Firmware[2].Notes, "HYPOTHETICAL") {
			t.Errorf("%s: V12.5 notes do not say it is hypothetical", name)
		}
	}
	emu := ByName(ps, "aosp-emulator")
	if !emu.Root || len(emu.Firmware) != 1 || len(emu.Firmware[0].KnownLeaks) != 0 || len(emu.Telemetry) != 0 {
		t.Errorf("aosp-emulator = %+v", emu)
	}
	if props := emu.BuildProps(&emu.Firmware[0]); props["ro.build.version.sdk"] != "34" || props["ro.build.version.release"] != "14" {
		t.Errorf("emulator props = %v", props)
	}
}

func TestFindFirmware(t *testing.T) {
	t.Setenv(EnvDir, "")
	p := ByName(mustLoad(t), "redmi-note-8")
	for in, want := range map[string]string{
		"V11.0.3.0.PCOMIXM": "V11.0.3.0.PCOMIXM",
		"V11.0.3.0":         "V11.0.3.0.PCOMIXM",
		"V12.5.1.0":         "V12.5.1.0.RCOMIXM",
	} {
		fw, err := p.FindFirmware(in)
		if err != nil || fw.Version != want {
			t.Errorf("FindFirmware(%q) = %v, %v", in, fw, err)
		}
	}
	for _, in := range []string{"", "V11", "V11.0.3", "V13.0.0.0"} {
		if _, err := p.FindFirmware(in); err == nil || !strings.Contains(err.Error(), "V12.0.2.0.QCOMIXM") {
			t.Errorf("FindFirmware(%q) = %v, want an error listing the known versions", in, err)
		}
	}
	if s := (&Firmware{Version: "sdk_gphone64_x86_64-14"}).Short(); s != "sdk_gphone64_x86_64-14" {
		t.Errorf("Short of a non-MIUI version = %q", s)
	}
}

const userProfile = `display_name: Pixel 2
devices: [walleye]
root: true
props: {ro.product.model: Pixel 2}
firmware:
  - version: QQ3A.200805.001
    android: "10"
    sdk: 29
actions:
  browser: {package: com.android.chrome}
settle: 500ms
`

func writeProfile(t *testing.T, dir, name, text string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestUserProfiles(t *testing.T) {
	dir := t.TempDir()
	writeProfile(t, dir, "pixel-2.yaml", userProfile)
	// Same name as a built-in: replaces it.
	writeProfile(t, dir, "mi-10.yml", strings.ReplaceAll(strings.ReplaceAll(userProfile, "walleye", "umi"), "Pixel 2", "My Mi 10"))
	writeProfile(t, dir, "README.txt", "not a profile")
	t.Setenv(EnvDir, dir)
	ps := mustLoad(t)
	if len(ps) != 6 {
		t.Fatalf("profiles = %v", Names(ps))
	}
	px := Match(ps, "walleye")
	if px == nil || px.Name != "pixel-2" || px.Source != filepath.Join(dir, "pixel-2.yaml") {
		t.Fatalf("user profile = %+v", px)
	}
	if d, _ := time.ParseDuration(px.Settle); d != 500*time.Millisecond {
		t.Errorf("settle = %q", px.Settle)
	}
	if mi := ByName(ps, "mi-10"); mi.DisplayName != "My Mi 10" || Match(ps, "umi") != mi {
		t.Fatalf("override = %+v", mi)
	}

	writeProfile(t, dir, "clash.yaml", strings.ReplaceAll(userProfile, "walleye", "ginkgo"))
	if _, err := Load(); err == nil || !strings.Contains(err.Error(), "clash.yaml") || !strings.Contains(err.Error(), "redmi-note-8.yaml") {
		t.Fatalf("two profiles for ginkgo: %v", err)
	}

	t.Setenv(EnvDir, filepath.Join(dir, "absent"))
	if _, err := Load(); err == nil || !strings.Contains(err.Error(), EnvDir) {
		t.Fatalf("missing directory: %v", err)
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		want       []string
	}{
		{"unknown field", strings.Replace(userProfile, "root: true", "root: true\nrooted: yes", 1), []string{"bad.yaml", "line 4", "rooted"}},
		{"nested unknown field", strings.Replace(userProfile, "    sdk: 29", "    sdk: 29\n    kernel: 4.14", 1), []string{"bad.yaml", "line 9", "kernel"}},
		{"bad yaml", strings.Replace(userProfile, "devices: [walleye]", "devices: [walleye", 1), []string{"bad.yaml", "line"}},
		{"wrong type", strings.Replace(userProfile, "sdk: 29", "sdk: twenty-nine", 1), []string{"bad.yaml", "line 8"}},
		{"empty", "", []string{"bad.yaml", "empty"}},
		{"name mismatch", "name: other\n" + userProfile, []string{"bad.yaml", "line 1", "other"}},
		{"no devices", strings.Replace(userProfile, "devices: [walleye]", "devices: []", 1), []string{"bad.yaml", "devices"}},
		{"no firmware", userProfile[:strings.Index(userProfile, "firmware:")], []string{"bad.yaml", "firmware"}},
		{"bad settle", strings.Replace(userProfile, "500ms", "soon", 1), []string{"bad.yaml", "line 11", "soon"}},
		{"unknown action", strings.Replace(userProfile, "    sdk: 29", "    sdk: 29\n    known_leaks:\n      - {action: teleport, host: x}", 1), []string{"bad.yaml", "line 10", "teleport"}},
		{"bad condition", strings.Replace(userProfile, "    sdk: 29", "    sdk: 29\n    known_leaks:\n      - {action: charge, host: x, when: always}", 1), []string{"bad.yaml", "line 10", "always"}},
		{"duplicate firmware", strings.Replace(userProfile, "actions:", "  - version: QQ3A.200805.001\nactions:", 1), []string{"bad.yaml", "line 9", "twice"}},
		{"unknown sends action", strings.Replace(userProfile, "    sdk: 29", "    sdk: 29\n    sends:\n      - {action: idle, endpoint: a.example/x}", 1), []string{"bad.yaml", "line 10", "idle", "background"}},
		{"bad sends endpoint", strings.Replace(userProfile, "    sdk: 29", "    sdk: 29\n    sends:\n      - {action: lock-screen, endpoint: \"a.example/x?q=1\"}", 1), []string{"bad.yaml", "line 10", "HOST/PATH"}},
		{"unknown telemetry service", strings.Replace(userProfile, "settle: 500ms", "telemetry: [onetrack, carrier-pigeon]\nsettle: 500ms", 1), []string{"bad.yaml", "line 11", "carrier-pigeon", "sensors-analytics"}},
		{"device prop mismatch", strings.Replace(userProfile, "props: {ro.product.model: Pixel 2}", "props: {ro.product.device: taimen}", 1), []string{"bad.yaml", "line 4", "taimen"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("dir/bad.yaml", []byte(tc.text))
			if err == nil {
				t.Fatal("parsed without error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
	t.Run("in a user directory", func(t *testing.T) {
		dir := t.TempDir()
		writeProfile(t, dir, "broken.yaml", strings.Replace(userProfile, "root: true", "rot: true", 1))
		t.Setenv(EnvDir, dir)
		_, err := Load()
		if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "broken.yaml")) || !strings.Contains(err.Error(), "line 3") {
			t.Fatalf("Load = %v", err)
		}
	})
}
