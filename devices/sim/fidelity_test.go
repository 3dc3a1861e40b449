package sim

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"telltale.dev/devices/adb"
	"telltale.dev/devices/adb/adbtest"
	"telltale.dev/devices/profiles"
	"telltale.dev/fixtures/apk"
)

// The rows of reference/android-fidelity.md (and CONTRACTS.md), checked
// through the real adb server and the real adb client on a phone of each
// Android version (10, 11, 12-13, 14-15) and each kind: every expectation
// is the exact text and exit status a real phone of that version and kind
// gives, as the code under devices/sim/system cites.

// fidelityPhone is one phone under test.
type fidelityPhone struct {
	name string
	kind Kind
	sdk  int
	miui bool
	cfg  Config
}

// themeTrace starts what MIUI's runtime prints as an app_process tool starts.
const themeTrace = "java.io.FileNotFoundException: /data/system/theme_config/theme_compatibility.xml: open failed: ENOENT"

// laterFirmware makes a model on a release no profile lists yet (Android 12
// and later MIUI, an Android 13 emulator): the profile's last firmware with
// another Android version and build (modeled test firmware).
func laterFirmware(t *testing.T, model, android string, sdk int) *profiles.Profile {
	t.Helper()
	base, err := lookupProfile(model)
	if err != nil {
		t.Fatal(err)
	}
	p := *base
	fw := p.Firmware[len(p.Firmware)-1]
	fw.Version, fw.Android, fw.SDK = fw.Version+"-A"+android, android, sdk
	p.Firmware = []profiles.Firmware{fw}
	return &p
}

func fidelityPhones(t *testing.T) []fidelityPhone {
	a13 := laterFirmware(t, "redmi-note-8", "13", 33)
	a14 := laterFirmware(t, "redmi-note-8", "14", 34)
	emu13 := laterFirmware(t, "aosp-emulator", "13", 33)
	return []fidelityPhone{
		{"android10-research", KindResearch, 29, true, Config{Model: "redmi-note-8", Firmware: "V11.0.3.0"}},
		{"android10-stock", KindStock, 29, true, Config{Model: "redmi-note-8", Firmware: "V11.0.3.0", Kind: KindStock}},
		{"android11-research", KindResearch, 30, true, Config{Model: "redmi-note-8", Firmware: "V12.5.1.0"}},
		{"android11-stock", KindStock, 30, true, Config{Model: "redmi-note-8", Firmware: "V12.5.1.0", Kind: KindStock}},
		{"android13-research", KindResearch, 33, true, Config{Profile: a13}},
		{"android14-stock", KindStock, 34, true, Config{Profile: a14, Kind: KindStock}},
		{"android13-emulator", KindEmulator, 33, false, Config{Profile: emu13}},
		{"android14-emulator", KindEmulator, 34, false, Config{Model: "aosp-emulator"}},
	}
}

// fdevice is a phone on the test's adb server, driven with the adb client.
type fdevice struct {
	t      *testing.T
	ph     fidelityPhone
	phone  *Phone
	server *adb.Client
}

// startOn starts a phone and connects it to server.
func startOn(t *testing.T, server *adb.Client, cfg Config) *Phone {
	t.Helper()
	cfg.NoNoise = true
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	p, err := Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	adbtest.Connect(t, server, p.Serial())
	return p
}

// cliResult is what one adb client invocation gave.
type cliResult struct {
	out, err string
	code     int
}

// adbCmd runs the adb client on the device, keeping stdout and stderr
// apart (shell v2 carries them apart); safe from any goroutine.
func (d *fdevice) adbCmd(args ...string) (cliResult, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	_, port, _ := strings.Cut(d.server.Addr(), ":")
	c := exec.CommandContext(ctx, "adb", append([]string{"-P", port, "-s", d.phone.Serial()}, args...)...)
	var o, e bytes.Buffer
	c.Stdout, c.Stderr = &o, &e
	err := c.Run()
	var exit *exec.ExitError
	switch {
	case ctx.Err() != nil:
		return cliResult{}, fmt.Errorf("adb %q timed out: %s%s", args, o.String(), e.String())
	case errors.As(err, &exit):
		return cliResult{o.String(), e.String(), exit.ExitCode()}, nil
	case err != nil:
		return cliResult{}, fmt.Errorf("adb %q: %w", args, err)
	}
	return cliResult{o.String(), e.String(), 0}, nil
}

// sh runs `adb shell CMD`.
func (d *fdevice) sh(cmd string) cliResult {
	d.t.Helper()
	r, err := d.adbCmd("shell", cmd)
	if err != nil {
		d.t.Fatal(err)
	}
	return r
}

// expect runs cmd and checks its stdout, stderr (a prefix when the wanted
// text ends in "..."), and exit status.
func (d *fdevice) expect(cmd, out, errOut string, code int) cliResult {
	d.t.Helper()
	r := d.sh(cmd)
	errOK := r.err == errOut
	if p, ok := strings.CutSuffix(errOut, "..."); ok {
		errOK = strings.HasPrefix(r.err, p)
	}
	if r.out != out || !errOK || r.code != code {
		d.t.Errorf("adb shell %q:\n got (%q, %q, %d)\nwant (%q, %q, %d)", cmd, r.out, r.err, r.code, out, errOut, code)
	}
	return r
}

// appProcessTrace is what an app_process tool prints on stderr first on
// this phone: MIUI's theme loader complaint, or nothing.
func (d *fdevice) appProcessTrace() string {
	if d.ph.miui {
		return themeTrace + "..."
	}
	return ""
}

// dump is the screen's hierarchy, read as a UI driver reads it.
func (d *fdevice) dump() (node, error) {
	r, err := d.adbCmd("exec-out", "uiautomator dump /dev/tty 2>/dev/null")
	if err != nil {
		return node{}, err
	}
	var h struct {
		Root node `xml:"node"`
	}
	xmlText, _, _ := strings.Cut(r.out, "UI hierchary dumped to:")
	if err := xml.Unmarshal([]byte(xmlText), &h); err != nil {
		return node{}, fmt.Errorf("dump %q: %w", r.out, err)
	}
	return h.Root, nil
}

// tapWhenShown waits until a node with resource id rid shows, enabled,
// and taps its centre, as a UI driver does; done ends the wait early
// (the command that put it up has finished).
func (d *fdevice) tapWhenShown(rid string, done <-chan cliResult) error {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(30 * time.Second)
	for {
		root, err := d.dump()
		if err != nil {
			return err
		}
		if ns := find(root, "resource-id", rid); len(ns) == 1 && ns[0].attr("enabled") == "true" {
			var l, tp, rt, b int
			if _, err := fmt.Sscanf(ns[0].attr("bounds"), "[%d,%d][%d,%d]", &l, &tp, &rt, &b); err != nil {
				return err
			}
			_, err := d.adbCmd("shell", fmt.Sprintf("input tap %d %d", (l+rt)/2, (tp+b)/2))
			return err
		}
		select {
		case r := <-done:
			return fmt.Errorf("the command finished before %s showed: %+v", rid, r)
		case <-deadline:
			return fmt.Errorf("%s never showed", rid)
		case <-tick.C:
		}
	}
}

// whileTapping runs `adb ARGS` and taps rid once it shows, returning the
// command's result.
func (d *fdevice) whileTapping(rid string, args ...string) cliResult {
	d.t.Helper()
	var r cliResult
	d.tapDuring(rid, func() (cliResult, error) {
		var err error
		r, err = d.adbCmd(args...)
		return r, err
	})
	return r
}

// tapDuring runs do, which waits on something the screen asks (MIUI's
// install dialog, Magisk's prompt), and taps rid once it shows.
func (d *fdevice) tapDuring(rid string, do func() (cliResult, error)) {
	d.t.Helper()
	done := make(chan cliResult, 1)
	failed := make(chan error, 1)
	go func() {
		r, err := do()
		if err != nil {
			failed <- err
			return
		}
		done <- r
	}()
	if err := d.tapWhenShown(rid, done); err != nil {
		d.t.Fatal(err)
	}
	select {
	case <-done:
	case err := <-failed:
		d.t.Fatal(err)
	}
}

// exceptionHead is how the release's shell command handler heads an
// exception other than a SecurityException on Android 10 (verb: the
// command's first word).
func exceptionHead(sdk int, verb string) string {
	if sdk >= 30 {
		return "\nException occurred while executing '" + verb + "':\n"
	}
	return "\nException occurred while executing:\n"
}

// securityHead is the same for a SecurityException.
func securityHead(sdk int, verb, msg string) string {
	if sdk >= 30 {
		return exceptionHead(sdk, verb) + "java.lang.SecurityException: " + msg + "\n"
	}
	return "Security exception: " + msg + "\n\njava.lang.SecurityException: " + msg + "\n"
}

// fidelityRows are the reference's rows, each checked on every phone.
var fidelityRows = []struct {
	name  string
	check func(d *fdevice)
}{
	{"am start prints Error on stderr and exits 0", func(d *fdevice) {
		d.expect("am start -a android.intent.action.VIEW -d ftp://x.example/",
			"Starting: Intent { act=android.intent.action.VIEW dat=ftp://x.example/ }\n",
			"Error: Activity not started, unable to resolve Intent { act=android.intent.action.VIEW dat=ftp://x.example/ flg=0x10000000 }\n", 0)
		d.expect("am start -n com.android.settings/.Nope", "Starting: Intent { cmp=com.android.settings/.Nope }\n",
			"Error type 3\nError: Activity class {com.android.settings/com.android.settings.Nope} does not exist.\n", 0)
		d.expect("am start --ez x maybe", "", exceptionHead(d.ph.sdk, "start")+"java.lang.IllegalArgumentException: ...", 255)
	}},
	{"am start -W waits and reports", func(d *fdevice) {
		const cmd = "am start -W -n com.android.settings/com.android.settings.Settings"
		d.expect(cmd, "Starting: Intent { cmp=com.android.settings/.Settings }\nStatus: ok\nLaunchState: COLD\n"+
			"Activity: com.android.settings/.Settings\nTotalTime: 412\nWaitTime: 415\nComplete\n", "", 0)
		d.expect(cmd, "Starting: Intent { cmp=com.android.settings/.Settings }\n"+
			"Warning: Activity not started, intent has been delivered to currently running top-most instance.\n"+
			"Status: ok\nLaunchState: UNKNOWN (0)\nActivity: com.android.settings/.Settings\nTotalTime: 0\nWaitTime: 3\nComplete\n", "", 0)
		d.expect("am force-stop com.android.settings", "", "", 0)
	}},
	{"monkey without a launcher activity aborts with 252", func(d *fdevice) {
		d.expect("monkey -p android -c android.intent.category.LAUNCHER 1",
			"  bash arg: -p\n  bash arg: android\n  bash arg: -c\n  bash arg: android.intent.category.LAUNCHER\n  bash arg: 1\n"+
				"** No activities found to run, monkey aborted.\n", d.appProcessTrace(), 252)
	}},
	{"settings validators", func(d *fdevice) {
		d.expect("settings put system screen_off_timeout soon", "",
			exceptionHead(d.ph.sdk, "put")+"java.lang.IllegalArgumentException: Invalid value: soon for setting: screen_off_timeout\n...", 255)
		d.expect("settings put system screen_brightness 256", "",
			exceptionHead(d.ph.sdk, "put")+"java.lang.IllegalArgumentException: Invalid value: 256 for setting: screen_brightness\n...", 255)
		d.expect("settings put system screen_brightness 255; settings get system screen_brightness", "255\n", "", 0)
		d.expect("settings get system screen_off_timeout", "60000\n", "", 0)
	}},
	{"global http_proxy: MIUI's gate, the proxy keys, :0", func(d *fdevice) {
		const denial = "Permission denial: writing to settings requires:android.permission.WRITE_SECURE_SETTINGS"
		if d.ph.kind == KindStock {
			d.expect("settings put global http_proxy 127.0.0.1:8080", "", securityHead(d.ph.sdk, "put", denial)+"...", 255)
			d.expect("settings get global http_proxy", "null\n", "", 0)
			return
		}
		d.expect("settings put global http_proxy 127.0.0.1:8080", "", "", 0)
		keys := "settings get global global_http_proxy_host; settings get global global_http_proxy_port; settings get global global_http_proxy_exclusion_list"
		d.expect(keys, "127.0.0.1\n8080\n\n", "", 0)
		d.expect("settings put global http_proxy :0; settings get global http_proxy; "+keys, ":0\n\n0\n\n", "", 0)
	}},
	{"injected input: MIUI's gate", func(d *fdevice) {
		if d.ph.kind == KindStock {
			r := d.expect("input keyevent 3", "", d.appProcessTrace(), 1)
			if !strings.Contains(r.err, "java.lang.SecurityException: Injecting to another application requires INJECT_EVENTS permission\n") {
				t := d.t
				t.Errorf("the refusal's exception is missing:\n%s", r.err)
			}
			return
		}
		d.expect("input keyevent 3", "", d.appProcessTrace(), 0)
	}},
	{"getprop tells the MIUI toggles", func(d *fdevice) {
		want := map[Kind]string{KindResearch: "1\n1\n", KindStock: "0\n0\n", KindEmulator: "\n\n"}[d.ph.kind]
		d.expect("getprop persist.security.adbinput; getprop persist.security.adbinstall", want, "", 0)
		if d.ph.kind != KindEmulator {
			d.expect("setprop persist.security.adbinput 1", "",
				"Failed to set property 'persist.security.adbinput' to '1'.\nSee dmesg for error reason.\n", 1)
		}
	}},
	{"pm install: MIUI's refusal and confirmation dialog", func(d *fdevice) {
		data, err := apk.Build(apk.Options{Package: "org.tt.fidelity", Label: "Fidelity"})
		if err != nil {
			d.t.Fatal(err)
		}
		local := filepath.Join(d.t.TempDir(), "f.apk")
		if err := os.WriteFile(local, data, 0o644); err != nil {
			d.t.Fatal(err)
		}
		if r, err := d.adbCmd("push", local, "/data/local/tmp/f.apk"); err != nil || r.code != 0 {
			d.t.Fatalf("push: %+v %v", r, err)
		}
		const refused = "Failure [INSTALL_FAILED_USER_RESTRICTED: Install canceled by user]\n"
		switch d.ph.kind {
		case KindStock:
			d.expect("pm install /data/local/tmp/f.apk", refused, "", 1)
			if r, _ := d.adbCmd("install", local); r.code != 1 || !strings.Contains(r.err, refused) {
				d.t.Errorf("adb install on a stock phone: %+v", r)
			}
		case KindResearch:
			if r := d.whileTapping("android:id/button1", "shell", "pm install /data/local/tmp/f.apk"); r.out != refused || r.code != 1 {
				d.t.Errorf("install denied in the dialog: %+v", r)
			}
			if r := d.whileTapping("android:id/button2", "shell", "pm install /data/local/tmp/f.apk"); r.out != "Success\n" || r.code != 0 {
				d.t.Errorf("install allowed in the dialog: %+v", r)
			}
			d.expect("pm install -r /data/local/tmp/f.apk", "Success\n", "", 0) // an update: no dialog
			d.expect("pm uninstall org.tt.fidelity", "Success\n", "", 0)
			d.expect("su -c 'pm install /data/local/tmp/f.apk'", "Success\n", "", 0) // root: no dialog
		case KindEmulator:
			d.expect("pm install /data/local/tmp/f.apk", "Success\n", "", 0)
		}
		if d.ph.kind != KindStock {
			d.expect("pm list packages -U org.tt.fidelity", "package:org.tt.fidelity uid:"+uidOf(d, "org.tt.fidelity")+"\n", "", 0)
		}
		d.expect("pm list packages -U com.android.shell", "package:com.android.shell uid:2000\n", "", 0)
	}},
	{"dumpsys battery: on the USB cable, unplug, reset", func(d *fdevice) {
		dock := ""
		if d.ph.sdk >= 33 {
			dock = "  Dock powered: false\n"
		}
		powered := "dumpsys battery | grep -e powered -e STOPPED"
		d.expect(powered, "  AC powered: false\n  USB powered: true\n  Wireless powered: false\n"+dock, "", 0)
		d.expect("dumpsys battery unplug; dumpsys battery set ac 1; "+powered,
			"  (UPDATES STOPPED -- use 'reset' to restart)\n  AC powered: true\n  USB powered: false\n  Wireless powered: false\n"+dock, "", 0)
		d.expect("dumpsys battery set ac x", "Bad value: x\n", "", 0)
		d.expect("dumpsys battery reset; "+powered, "  AC powered: false\n  USB powered: true\n  Wireless powered: false\n"+dock, "", 0)
	}},
	{"cmd wifi per release", func(d *fdevice) {
		if d.ph.sdk == 29 {
			const denied = "Uid 2000 does not have access to wifi commands"
			d.expect("cmd wifi status", "", securityHead(29, "status", denied)+"...", 255)
			d.expect("cmd wifi connect-network Lab open", "", securityHead(29, "connect-network", denied)+"...", 255)
			if d.ph.kind == KindResearch {
				d.expect("su -c 'cmd wifi status'", "Unknown command: status\n", "", 255)
			}
			return
		}
		done := 0
		if d.ph.sdk == 30 {
			done = 255 // Android 11's `break; ... return -1`
		}
		header := ""
		if d.ph.sdk >= 33 {
			header = "==== Primary ClientModeManager instance ====\n"
		}
		status := d.expect("cmd wifi status | head -4", "Wifi is enabled\nWifi scanning is only available when wifi is enabled\n"+header+
			"Wifi is connected to \"AndroidWifi\"\n"+map[bool]string{true: "", false: "WifiInfo: SSID: \"AndroidWifi\", BSSID: 02:00:00:00:00:00, MAC: 02:00:00:00:00:00, Supplicant state: COMPLETED, RSSI: -55, Link speed: 433Mbps, Tx Link speed: 433Mbps, Rx Link speed: 433Mbps, Frequency: 5180MHz, Net ID: 0, Metered hint: false, score: 60\n"}[header != ""], "", 0)
		_ = status
		d.expect("cmd wifi connect-network Lab wpa2 secret", "Connection initiated \n", "", done)
		d.expect("dumpsys wifi", "Wi-Fi is enabled\nmWifiInfo SSID: \"AndroidWifi\", Supplicant state: COMPLETED\n", "", 0)
		d.phone.AddNetwork(Network{SSID: "Lab", Security: "wpa2", Passphrase: "secret"})
		d.expect("cmd wifi connect-network Lab wpa2 secret; dumpsys wifi", "Connection initiated \nWi-Fi is enabled\nmWifiInfo SSID: \"Lab\", Supplicant state: COMPLETED\n", "", 0)
		d.expect("cmd wifi list-networks", "Network Id      SSID                         Security type\n"+
			"0            AndroidWifi                      open\n1            Lab                              wpa2\n", "", done)
		d.expect("cmd wifi forget-network 1", "Forget successful\n", "", done)
		d.expect("dumpsys wifi", "Wi-Fi is enabled\nmWifiInfo SSID: \"AndroidWifi\", Supplicant state: COMPLETED\n", "", 0)
		d.phone.RemoveNetwork("Lab")
		d.expect("cmd wifi force-country-code enabled DE", "",
			securityHead(d.ph.sdk, "force-country-code", "Uid 2000 does not have access to force-country-code wifi command")+"...", 255)
	}},
	{"power keys and the keyguard", func(d *fdevice) {
		if d.ph.kind == KindStock {
			r := d.expect("input keyevent 26; dumpsys power | grep mWakefulness=", "  mWakefulness=Awake\n", d.appProcessTrace(), 0)
			if !strings.Contains(r.err, "requires INJECT_EVENTS permission") {
				d.t.Errorf("a stock phone took the power key from the shell:\n%s", r.err)
			}
			return
		}
		title := map[bool]string{true: "NotificationShade", false: "StatusBar"}[d.ph.sdk >= 30]
		facts := "dumpsys power | grep mWakefulness=; dumpsys window | grep -e mCurrentFocus -e mDreamingLockscreen -e isStatusBarKeyguard"
		check := func(wake string, dreaming, keyguard bool, focus string) {
			d.t.Helper()
			r := d.sh(facts)
			for _, want := range []string{"mWakefulness=" + wake + "\n", "mDreamingLockscreen=" + strconv.FormatBool(dreaming) + " ",
				"isStatusBarKeyguard=" + strconv.FormatBool(keyguard) + "\n", "mCurrentFocus=Window{", focus + "}\n"} {
				if !strings.Contains(r.out, want) {
					d.t.Errorf("no %q in:\n%s", want, r.out)
				}
			}
		}
		check("Awake", false, false, "Launcher"+map[bool]string{true: "Activity", false: ""}[d.ph.kind == KindEmulator])
		d.expect("input keyevent 26", "", d.appProcessTrace(), 0)
		check("Asleep", true, true, " u0 "+title)
		if root, err := d.dump(); err != nil || len(find(root, "package", "com.android.systemui")) == 0 {
			d.t.Errorf("uiautomator dump with the screen off does not show the lock screen (%v)", err)
		}
		d.expect("input keyevent 224", "", d.appProcessTrace(), 0)
		check("Awake", false, true, " u0 "+title)
		d.expect("input keyevent 3", "", d.appProcessTrace(), 0)
		check("Awake", false, true, " u0 "+title)
		d.expect("wm dismiss-keyguard", "", "", 0)
		check("Awake", false, false, "Launcher"+map[bool]string{true: "Activity", false: ""}[d.ph.kind == KindEmulator])
		d.expect("input keyevent 223; dumpsys power | grep mWakefulness=", "  mWakefulness=Asleep\n", d.appProcessTrace(), 0)
		d.expect("input keyevent 224; wm dismiss-keyguard", "", d.appProcessTrace(), 0)
	}},
	{"su and adb root by kind", func(d *fdevice) {
		switch d.ph.kind {
		case KindStock:
			d.expect("su -c id", "", "/system/bin/sh: su: inaccessible or not found\n", 127)
		case KindResearch:
			d.expect("su -c 'id -u'", "0\n", "", 0)
			d.expect("su -v", "23.0:MAGISKSU\n", "", 0)
		case KindEmulator:
			d.expect("su 0 id -u", "0\n", "", 0)
			d.expect("su -c id", "", "su: invalid uid/gid '-c'\n", 1)
			d.expect("su 0 'id -u'", "", "su: failed to exec id -u: No such file or directory\n", 1)
		}
		if d.ph.kind != KindEmulator {
			r, err := d.adbCmd("root")
			if err != nil || !strings.Contains(r.out+r.err, "adbd cannot run as root in production builds") {
				d.t.Errorf("adb root on a %s phone: %+v %v", d.ph.kind, r, err)
			}
		}
	}},
	{"uiautomator dump /dev/tty", func(d *fdevice) {
		d.expect("uiautomator dump /dev/tty | tail -c 45", "</hierarchy>UI hierchary dumped to: /dev/tty\n", d.appProcessTrace(), 0)
	}},
	{"adbd features and push into new directories", func(d *fdevice) {
		r, err := d.adbCmd("features")
		if err != nil || r.code != 0 {
			d.t.Fatalf("adb features: %+v %v", r, err)
		}
		for _, f := range []string{"shell_v2", "cmd", "stat_v2", "ls_v2", "fixed_push_mkdir", "abb", "abb_exec"} {
			if !strings.Contains("\n"+r.out, "\n"+f+"\n") {
				d.t.Errorf("adb features lacks %s:\n%s", f, r.out)
			}
		}
		local := filepath.Join(d.t.TempDir(), "x.txt")
		if err := os.WriteFile(local, []byte("pushed\n"), 0o644); err != nil {
			d.t.Fatal(err)
		}
		if r, err := d.adbCmd("push", local, "/sdcard/Telltale/new/dir/x.txt"); err != nil || r.code != 0 {
			d.t.Fatalf("push into new directories: %+v %v", r, err)
		}
		d.expect("cat /sdcard/Telltale/new/dir/x.txt", "pushed\n", "", 0)
	}},
}

// uidOf is the package's uid as dumpsys package reports it.
func uidOf(d *fdevice, pkg string) string {
	d.t.Helper()
	for _, line := range strings.Split(d.sh("dumpsys package "+pkg).out, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "userId="); ok {
			return v
		}
	}
	d.t.Fatalf("no userId for %s", pkg)
	return ""
}

func TestFidelityPerReleaseAndKind(t *testing.T) {
	server := adbtest.StartServer(t)
	for _, ph := range fidelityPhones(t) {
		t.Run(ph.name, func(t *testing.T) {
			p := startOn(t, server, ph.cfg)
			if p.Kind() != ph.kind || p.Firmware().SDK != ph.sdk {
				t.Fatalf("started a %s phone on sdk %d", p.Kind(), p.Firmware().SDK)
			}
			for _, row := range fidelityRows {
				t.Run(row.name, func(t *testing.T) {
					row.check(&fdevice{t: t, ph: ph, phone: p, server: server})
				})
			}
		})
	}
}

// TestMagiskPromptThroughAdb: with Shell not yet granted, the first su shows
// Magisk's prompt and waits; Grant runs the command and is remembered;
// Deny prints Magisk's refusal and is remembered too.
func TestMagiskPromptThroughAdb(t *testing.T) {
	server := adbtest.StartServer(t)
	for _, c := range []struct {
		button string
		want   cliResult
	}{
		{"com.topjohnwu.magisk:id/grant_btn", cliResult{"0\n", "", 0}},
		{"com.topjohnwu.magisk:id/deny_btn", cliResult{"", "Permission denied\n", 13}},
	} {
		t.Run(c.button, func(t *testing.T) {
			ph := fidelityPhone{kind: KindResearch, sdk: 29, miui: true}
			p := startOn(t, server, Config{Model: "redmi-note-8", SuPolicy: SuPrompt})
			d := &fdevice{t: t, ph: ph, phone: p, server: server}
			if r := d.whileTapping(c.button, "shell", "su -c 'id -u'"); r != c.want {
				t.Errorf("first su: %+v, want %+v", r, c.want)
			}
			d.expect("su -c 'id -u'", c.want.out, c.want.err, c.want.code)
			if root, err := d.dump(); err != nil || len(find(root, "package", "com.topjohnwu.magisk")) != 0 {
				t.Errorf("the prompt is still up: %v", err)
			}
		})
	}
}

// TestKindOf: the kinds a profile can be, and the errors for those it
// cannot.
func TestKindOf(t *testing.T) {
	emu, err := lookupProfile("aosp-emulator")
	if err != nil {
		t.Fatal(err)
	}
	miui, err := lookupProfile("mi-10")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		prof *profiles.Profile
		cfg  Config
		want Kind
		err  string
	}{
		{miui, Config{}, KindResearch, ""},
		{miui, Config{Unrooted: true}, KindStock, ""},
		{miui, Config{Kind: KindStock}, KindStock, ""},
		{emu, Config{}, KindEmulator, ""},
		{emu, Config{Kind: KindStock}, "", "userdebug emulator image"},
		{miui, Config{Kind: KindEmulator}, "", "needs a userdebug image"},
		{miui, Config{Kind: KindStock, SuPolicy: SuPrompt}, "", "only a research phone has"},
		{miui, Config{Kind: KindResearch, Unrooted: true}, "", "Unrooted asks for a stock phone"},
	} {
		got, err := kindOf(c.prof, c.cfg)
		if got != c.want || (err == nil) != (c.err == "") || err != nil && !strings.Contains(err.Error(), c.err) {
			t.Errorf("%s %+v: %q %v, want %q %q", c.prof.Name, c.cfg, got, err, c.want, c.err)
		}
	}
}
