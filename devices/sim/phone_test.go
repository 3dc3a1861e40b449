package sim

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"sync"
	"testing"
	"time"

	"telltale.dev/devices/profiles"
	"telltale.dev/devices/sim/sdk"
	"telltale.dev/devices/sim/simtest"
	"telltale.dev/devices/sim/system/wifi"
	"telltale.dev/fixtures/apk"
)

func loadProfile(t testing.TB, name string) *profiles.Profile {
	t.Helper()
	p, err := lookupProfile(name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// newPhone builds a phone without a transport, with a recorder of what it
// tells telemetry.
func newPhone(t *testing.T, model, firmware string) (*Phone, *recorder) {
	t.Helper()
	prof := loadProfile(t, model)
	fw, err := resolveFirmware(prof, firmware)
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(prof, fw, "test")
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	sdk.Watch(p.bus, p.triggerSources(), rec.Observe)
	return p, rec
}

type recorder struct {
	mu  sync.Mutex
	got []sdk.Trigger
}

func (r *recorder) Observe(o sdk.Trigger) {
	r.mu.Lock()
	r.got = append(r.got, o)
	r.mu.Unlock()
}

func (r *recorder) take() []sdk.Trigger {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.got
	r.got = nil
	return out
}

type result struct {
	out, err string
	code     int
}

func sh(t *testing.T, p *Phone, cmd string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	o, e, code := p.Run(ctx, cmd)
	return result{o, e, code}
}

// must runs cmd and fails the test unless it exits 0.
func must(t *testing.T, p *Phone, cmd string) string {
	t.Helper()
	r := sh(t, p, cmd)
	if r.code != 0 {
		t.Fatalf("%s: exit %d, stderr %q", cmd, r.code, r.err)
	}
	return r.out
}

func TestFileCommands(t *testing.T) {
	p, _ := newPhone(t, "redmi-note-8", "")
	cases := []struct {
		cmd, out, err string
		code          int
	}{
		{"mkdir -p /sdcard/a/b && ls /sdcard/a", "b\n", "", 0},
		{"mkdir /sdcard/a", "", "mkdir: '/sdcard/a': File exists\n", 1},
		{"echo one two > /sdcard/f; echo three >> /sdcard/f; cat /sdcard/f", "one two\nthree\n", "", 0},
		{"touch /sdcard/t && ls /sdcard/t", "/sdcard/t\n", "", 0},
		{"cp /sdcard/f /sdcard/a/g && cat /sdcard/a/g", "one two\nthree\n", "", 0},
		{"mv /sdcard/a/g /sdcard/h && cat /sdcard/h && ls /sdcard/a", "one two\nthree\nb\n", "", 0},
		{"rm /sdcard/a", "", "rm: /sdcard/a: Is a directory\n", 1},
		{"rm -rf /sdcard/a /sdcard/nothing && ls /sdcard/a", "", "ls: /sdcard/a: No such file or directory\n", 1},
		{"rm /sdcard/nothing", "", "rm: /sdcard/nothing: No such file or directory\n", 1},
		{"cat /nope", "", "cat: /nope: No such file or directory\n", 1},
		{"touch /system/x", "", "touch: '/system/x': Read-only file system\n", 1},
		{"mkdir /data/app/x", "", "mkdir: '/data/app/x': Permission denied\n", 1},
		{"sh -c 'id; whoami'", "uid=2000(shell) gid=2000(shell) groups=2000(shell),1004(input),1007(log),1011(adb),1015(sdcard_rw),1028(sdcard_r),3001(net_bt_admin),3002(net_bt),3003(inet),3006(net_bw_stats) context=u:r:shell:s0\nshell\n", "", 0},
		{"ls /sdcard | grep -q Download && echo found", "found\n", "", 0},
		{"mount -o remount,rw /system", "", "mount: permission denied (are you root?)\n", 1},
		{"su -c 'id -u; id -un'", "0\nroot\n", "", 0},
		{"id -u", "2000\n", "", 0},
	}
	for _, c := range cases {
		r := sh(t, p, c.cmd)
		if r.out != c.out || r.err != c.err || r.code != c.code {
			t.Errorf("%s\n got (%q, %q, %d)\nwant (%q, %q, %d)", c.cmd, r.out, r.err, r.code, c.out, c.err, c.code)
		}
	}
	// The shell's own messages are the shell package's to test; here only
	// that the phone refuses.
	if r := sh(t, p, "echo x > /system/etc/security/cacerts/y"); r.code == 0 || !strings.Contains(r.err, "Read-only file system") {
		t.Errorf("redirect into the read-only store: %+v", r)
	}
	if r := sh(t, p, "frobnicate --now"); r.code != 127 || !strings.Contains(r.err, "frobnicate") {
		t.Errorf("unknown command: %+v", r)
	}
	p.SetUnrooted(true)
	if r := sh(t, p, "su 0 id"); r.code != 127 || r.err != "/system/bin/sh: su: inaccessible or not found\n" {
		t.Errorf("su on an unrooted phone: %+v", r)
	}
	if got := must(t, p, "ls -l /sdcard/f"); !strings.HasPrefix(got, "-rw-r--r-- 1 shell  shell        14 ") {
		t.Errorf("ls -l: %q", got)
	}
	if got := must(t, p, "ls /system/etc/security/cacerts"); strings.Count(got, ".0\n") != 3 {
		t.Errorf("system CA store: %q", got)
	}
}

func TestSettingsAndProps(t *testing.T) {
	p, rec := newPhone(t, "redmi-note-8", "V12.0.2.0")
	if got := must(t, p, "getprop ro.product.device; getprop ro.build.version.incremental; getprop ro.build.version.sdk"); got != "ginkgo\nV12.0.2.0.QCOMIXM\n29\n" {
		t.Errorf("getprop: %q", got)
	}
	if all := must(t, p, "getprop"); !strings.Contains(all, "[ro.product.model]: [Redmi Note 8]\n") {
		t.Errorf("getprop list lacks the model: %q", all)
	}
	if got := must(t, p, "settings get global http_proxy"); got != "null\n" {
		t.Errorf("unset setting: %q", got)
	}
	must(t, p, "settings put global http_proxy 127.0.0.1:8080")
	must(t, p, "settings put system screen_off_timeout 123456")
	if got := must(t, p, "settings get global http_proxy; settings --user 0 get system screen_off_timeout"); got != "127.0.0.1:8080\n123456\n" {
		t.Errorf("settings after put: %q", got)
	}
	if got := must(t, p, "settings list system"); !strings.Contains(got, "screen_off_timeout=123456\n") {
		t.Errorf("settings list: %q", got)
	}
	if got := must(t, p, "settings delete system screen_off_timeout; settings get system screen_off_timeout"); got != "Deleted 1 rows\nnull\n" {
		t.Errorf("settings delete: %q", got)
	}
	if r := sh(t, p, "settings get bogus x"); r.code == 0 || !strings.Contains(r.err, "Invalid namespace") {
		t.Errorf("bad namespace: %+v", r)
	}
	// A shell's settings put is no change made in the Settings app:
	// nothing reports it, as on a real phone.
	if occ := rec.take(); len(occ) != 0 {
		t.Errorf("setting occurrences: %+v", occ)
	}
}

func TestActionsReachTelemetry(t *testing.T) {
	p, rec := newPhone(t, "redmi-note-8", "")
	apkBytes, err := apk.Build(apk.Options{Package: "com.canary.a1b2c3", VersionName: "4.5"})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Files().WriteFile("/data/local/tmp/c.apk", apkBytes, 0o644, 2000, false); err != nil {
		t.Fatal(err)
	}
	br := p.Profile().Actions.Browser
	steps := []struct {
		cmd    string
		action string
		values map[string]string
	}{
		// The browser coming to the front is an app launch; a page it loads
		// there (a normal tab: no intent opens an incognito one) a visit.
		{"am start -W -n " + br.Component, profiles.ActionOpenApp, map[string]string{"package": br.Package}},
		{"am start -a android.intent.action.VIEW -d https://canary-host.example/page -n " + br.Component,
			sdk.ActionBrowse, map[string]string{"url": "https://canary-host.example/page"}},
		{"am start -a android.intent.action.VIEW -d 'https://www.google.com/search?q=blue%20canary' -n " + br.Component,
			profiles.ActionSearch, map[string]string{"search_word": "blue canary"}},
		// A research phone's root install skips MIUI's confirmation dialog.
		{"su -c 'pm install -r /data/local/tmp/c.apk'", profiles.ActionInstallApp, map[string]string{"package": "com.canary.a1b2c3", "version_name": "4.5"}},
		{"monkey -p com.canary.a1b2c3 -c android.intent.category.LAUNCHER 1", profiles.ActionOpenApp, map[string]string{"package": "com.canary.a1b2c3"}},
		// A launch is the app coming to the front, not every intent it gets.
		{"input keyevent KEYCODE_HOME; am start -n com.canary.a1b2c3/android.app.Activity", profiles.ActionOpenApp, map[string]string{"package": "com.canary.a1b2c3"}},
		// The phone sits on its USB cable: a charger connects only after an
		// unplug (BatteryService sends POWER_CONNECTED from no plug only).
		{"dumpsys battery unplug; dumpsys battery set ac 1", profiles.ActionCharge, map[string]string{"plugged": "ac", "level": "76", "ssid": "AndroidWifi"}},
		{"input keyevent 26", profiles.ActionLockScreen, map[string]string{}},
	}
	for _, s := range steps {
		must(t, p, s.cmd)
		occ := rec.take()
		if len(occ) != 1 || occ[0].Action != s.action {
			t.Errorf("%s: occurrences %+v, want one %s", s.cmd, occ, s.action)
			continue
		}
		for k, v := range s.values {
			if occ[0].Values[k] != v {
				t.Errorf("%s: %s=%q, want %q", s.cmd, k, occ[0].Values[k], v)
			}
		}
	}
	// A folder made in the shell is no user action in the File Manager:
	// nothing reports it, as on a real phone.
	must(t, p, "mkdir -p /sdcard/CanaryFolder")
	if occ := rec.take(); len(occ) != 0 {
		t.Errorf("mkdir reported %+v", occ)
	}
	// State read back the way the harness reads it.
	// Magisk came with the research phone.
	if got := must(t, p, "pm list packages -3"); got != "package:com.canary.a1b2c3\npackage:com.topjohnwu.magisk\n" {
		t.Errorf("third-party packages: %q", got)
	}
	if got := must(t, p, "pm path com.canary.a1b2c3"); !strings.HasPrefix(got, "package:/data/app/com.canary.a1b2c3-") {
		t.Errorf("pm path: %q", got)
	}
	if got := must(t, p, "dumpsys battery"); !strings.Contains(got, "AC powered: true") || !strings.Contains(got, "level: 76") || !strings.Contains(got, "status: 2") {
		t.Errorf("battery: %q", got)
	}
	if got := must(t, p, "dumpsys power"); !strings.Contains(got, "mWakefulness=Asleep") {
		t.Errorf("power after keyevent 26: %q", got)
	}
	must(t, p, "input keyevent KEYCODE_WAKEUP; svc wifi disable; dumpsys battery unplug; am force-stop com.canary.a1b2c3")
	if got := must(t, p, "dumpsys wifi; dumpsys power | grep mWakefulness=; dumpsys battery | grep AC"); got != "Wi-Fi is disabled\nmWifiInfo SSID: \"\", Supplicant state: DISCONNECTED\n  mWakefulness=Awake\n  AC powered: false\n" {
		t.Errorf("after undo: %q", got)
	}
	must(t, p, "pm disable-user com.miui.securitycenter")
	if got := must(t, p, "pm list packages -d; pm list packages -3 --show-versioncode"); got != "package:com.miui.securitycenter\npackage:com.canary.a1b2c3 versionCode:1\npackage:com.topjohnwu.magisk versionCode:23000\n" {
		t.Errorf("disabled and versioned listings: %q", got)
	}
	must(t, p, "pm clear com.canary.a1b2c3; pm uninstall com.canary.a1b2c3")
	if r := sh(t, p, "pm path com.canary.a1b2c3"); r.code != 1 || r.out != "" {
		t.Errorf("pm path after uninstall: %+v", r)
	}
	if r := sh(t, p, "pm install /data/local/tmp/missing.apk"); r.code != 1 {
		t.Errorf("install of a missing file: %+v", r)
	}
	must(t, p, "echo notazip > /data/local/tmp/bad.apk")
	if r := sh(t, p, "pm install /data/local/tmp/bad.apk"); r.code != 1 || !strings.Contains(r.out, "INSTALL_PARSE_FAILED_NOT_APK") {
		t.Errorf("install of a non-APK: %+v", r)
	}
	if r := sh(t, p, "am start -n com.nope/.Main"); r.code != 0 || !strings.Contains(r.err, "unable to resolve") {
		t.Errorf("start of a missing app: %+v", r)
	}
	if r := sh(t, p, "am start --ez incognito maybe"); r.code != 255 || !strings.Contains(r.err, "java.lang.IllegalArgumentException") {
		t.Errorf("bad boolean extra: %+v", r)
	}
	if got := must(t, p, "logcat -d"); !strings.Contains(got, "installed com.canary.a1b2c3") {
		t.Errorf("logcat lacks the install: %q", got)
	}
	if len(rec.take()) != 0 {
		t.Error("read-back commands must not make occurrences")
	}
}

func TestScreencapIsAPNG(t *testing.T) {
	p, _ := newPhone(t, "redmi-note-8", "")
	out := must(t, p, "screencap -p")
	if !strings.HasPrefix(out, "\x89PNG\r\n\x1a\n") {
		t.Fatalf("screencap output starts %q", out[:min(len(out), 16)])
	}
	must(t, p, "screencap -p /sdcard/s.png")
	if b, err := p.Files().ReadFile("/sdcard/s.png"); err != nil || string(b) != out {
		t.Errorf("screencap to a file: %v", err)
	}
}

// TestCAInstallRecipes follows the tmpfs recipe for API < 34 and the APEX
// bind-mount recipe for API 34 on the emulator image, where root is allowed.
func TestCAInstallRecipes(t *testing.T) {
	px := simtest.NewProxy(t)
	block, _ := pem.Decode(px.CAPEM)
	ca, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	trusted := func(p *Phone) bool {
		_, err := ca.Verify(x509.VerifyOptions{Roots: p.TrustedCAs(false)})
		return err == nil
	}
	p, _ := newPhone(t, "aosp-emulator", "")
	if err := p.Files().WriteFile("/data/local/tmp/telltale.0", px.CAPEM, 0o644, 2000, false); err != nil {
		t.Fatal(err)
	}
	if msg, restart := p.Root(); msg != "restarting adbd as root\n" || !restart {
		t.Fatalf("root: %q %v", msg, restart)
	}
	if got := must(t, p, "id"); !strings.HasPrefix(got, "uid=0(root)") {
		t.Fatalf("id as root: %q", got)
	}
	must(t, p, "mkdir -p -m 700 /data/local/tmp/ca-copy && cp /apex/com.android.conscrypt/cacerts/* /data/local/tmp/ca-copy/")
	must(t, p, "mount -t tmpfs tmpfs /system/etc/security/cacerts")
	if got := must(t, p, "ls /system/etc/security/cacerts"); got != "" {
		t.Errorf("a fresh tmpfs is not empty: %q", got)
	}
	must(t, p, "mv /data/local/tmp/ca-copy/* /system/etc/security/cacerts/ && cp /data/local/tmp/telltale.0 /system/etc/security/cacerts/")
	must(t, p, "chown root:root /system/etc/security/cacerts/*; chmod 644 /system/etc/security/cacerts/*; chcon u:object_r:system_file:s0 /system/etc/security/cacerts/*")
	if trusted(p) {
		t.Fatal("on API 34 the /system store alone must not be trusted")
	}
	must(t, p, "mount --bind /system/etc/security/cacerts /apex/com.android.conscrypt/cacerts")
	must(t, p, "nsenter --mount=/proc/$(pidof zygote)/ns/mnt -- /bin/mount --bind /system/etc/security/cacerts /apex/com.android.conscrypt/cacerts")
	if !trusted(p) {
		t.Fatal("CA not trusted after the APEX bind mount")
	}
	if got := must(t, p, "ls /apex/com.android.conscrypt/cacerts"); strings.Count(got, "\n") != 4 {
		t.Errorf("APEX store after the recipe: %q", got)
	}
	p.Reboot("")
	if trusted(p) {
		t.Error("the CA survived a reboot; mounts must not")
	}
	if got := must(t, p, "id"); !strings.HasPrefix(got, "uid=2000") {
		t.Errorf("root survived a reboot: %q", got)
	}

	// The Redmi has no root: the store stays read-only and adbd says why.
	r, _ := newPhone(t, "redmi-note-8", "")
	if msg, restart := r.Root(); msg != "adbd cannot run as root in production builds\n" || restart {
		t.Errorf("root on a production build: %q %v", msg, restart)
	}
	if res := sh(t, r, "cp /sdcard/x /system/etc/security/cacerts/"); res.code == 0 {
		t.Error("wrote the system store without root")
	}
}

func TestRemountSystem(t *testing.T) {
	prof := *loadProfile(t, "redmi-note-8")
	prof.Root = true // a rooted (userdebug) Redmi
	p, err := New(&prof, &prof.Firmware[0], "x")
	if err != nil {
		t.Fatal(err)
	}
	p.Root()
	if r := sh(t, p, "touch /system/etc/security/cacerts/a.0"); r.code != 1 || !strings.Contains(r.err, "Read-only file system") {
		t.Errorf("before remount: %+v", r)
	}
	must(t, p, "mount -o remount,rw /system && touch /system/etc/security/cacerts/a.0 && mount -o remount,ro /system")
	if r := sh(t, p, "rm /system/etc/security/cacerts/a.0"); r.code != 1 || !strings.Contains(r.err, "Read-only") {
		t.Errorf("after remount ro: %+v", r)
	}
}

func TestWifiKeepsTheJoinedNetwork(t *testing.T) {
	p, _ := newPhone(t, "mi-9t", "")
	const joined = "Wi-Fi is enabled\nmWifiInfo SSID: \"" + wifi.DefaultSSID + "\", Supplicant state: COMPLETED\n"
	if got := must(t, p, "dumpsys wifi"); got != joined {
		t.Errorf("fresh phone: %q", got)
	}
	must(t, p, "svc wifi disable")
	if on, ssid := p.Network(); on || ssid != "" || must(t, p, "settings get global wifi_on") != "0\n" {
		t.Errorf("Wi-Fi off: connected=%v ssid=%q", on, ssid)
	}
	must(t, p, "svc wifi enable")
	if on, ssid := p.Network(); !on || ssid != wifi.DefaultSSID {
		t.Errorf("Wi-Fi back on: connected=%v ssid=%q", on, ssid)
	}
	if !p.RemoveNetwork(wifi.DefaultSSID) {
		t.Fatal("the default network was not in range")
	}
	if got := must(t, p, "dumpsys wifi"); got != "Wi-Fi is enabled\nmWifiInfo SSID: \"\", Supplicant state: DISCONNECTED\n" {
		t.Errorf("after the access point went: %q", got)
	}
	p.AddNetwork(Network{SSID: wifi.DefaultSSID, Security: wifi.Open})
	if on, ssid := p.Network(); !on || ssid != wifi.DefaultSSID {
		t.Errorf("the saved network came back in range: connected=%v ssid=%q", on, ssid)
	}
}

// TestConcurrentCommands drives every service from several shells at once,
// as parallel adb streams do; under -race it proves each service guards its
// own state, and at the end the phone still answers consistently.
func TestConcurrentCommands(t *testing.T) {
	p, _ := newPhone(t, "redmi-note-8", "")
	scripts := []string{
		"am start -a android.intent.action.VIEW -d https://a.example/; input keyevent 4",
		"monkey -p com.mi.globalbrowser.mini 1; am force-stop com.mi.globalbrowser.mini",
		"input tap 160 300; input keyevent 3; uiautomator dump /dev/tty >/dev/null",
		"dumpsys battery set ac 1; dumpsys battery set level 40; dumpsys battery reset",
		"settings put system screen_off_timeout 1000; svc wifi disable; svc wifi enable",
		"input keyevent 26; input keyevent 224; dumpsys power >/dev/null",
		"screencap -p >/dev/null; dumpsys activity activities >/dev/null; dumpsys window >/dev/null",
		"mkdir -p /sdcard/c; rm -r /sdcard/c; logcat -d >/dev/null",
	}
	// Only a guard against a hang: under -race on a busy machine a script
	// may take long, which is not what this test is about.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	for _, s := range scripts {
		wg.Go(func() {
			for range 10 {
				if out, errOut, code := p.Run(ctx, s); code != 0 {
					t.Errorf("%s: exit %d: %q %q", s, code, out, errOut)
					return
				}
			}
		})
	}
	wg.Wait()
	// The sleeps of the storm left the keyguard up, which keeps HOME.
	must(t, p, "input keyevent 224; wm dismiss-keyguard; input keyevent 3")
	if got := must(t, p, "dumpsys activity activities | grep mResumedActivity"); !strings.Contains(got, " com.miui.home/.launcher.Launcher ") {
		t.Errorf("home after the storm: %q", got)
	}
	if on, ssid := p.Network(); !on || ssid != wifi.DefaultSSID {
		t.Errorf("wifi after the storm: %v %q", on, ssid)
	}
}
