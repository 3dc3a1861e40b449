package sim

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"image/png"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"telltale.dev/devices/adb"
	"telltale.dev/devices/adb/adbtest"
	"telltale.dev/devices/sim/sdk/groundtruth"
	"telltale.dev/devices/sim/simtest"
	"telltale.dev/fixtures/apk"
	"telltale.dev/protocols"
)

// These tests drive the phone through the real Debian adb server and the
// real adb command-line client, as a user or the harness would.

type adbRig struct {
	t      testing.TB
	phone  *Phone
	server *adb.Client
}

func startConnected(t testing.TB, cfg Config) *adbRig {
	t.Helper()
	if cfg.RebootDowntime == 0 {
		cfg.RebootDowntime = 300 * time.Millisecond
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p, err := Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	c := adbtest.StartServer(t)
	adbtest.Connect(t, c, p.Serial())
	return &adbRig{t: t, phone: p, server: c}
}

// adb runs the adb client against the test's server and device, returning
// combined output and the exit code.
func (r *adbRig) adb(args ...string) (string, int) {
	r.t.Helper()
	return r.adbIn(nil, args...)
}

func (r *adbRig) adbIn(stdin []byte, args ...string) (string, int) {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, port, _ := strings.Cut(r.server.Addr(), ":")
	cmd := exec.CommandContext(ctx, "adb", append([]string{"-P", port, "-s", r.phone.Serial()}, args...)...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		r.t.Fatalf("adb %v timed out: %s", args, out)
	}
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		r.t.Fatalf("adb %v: %v", args, err)
	}
	return string(out), code
}

// shell runs an adb shell command that must succeed.
func (r *adbRig) shell(cmd string) string {
	r.t.Helper()
	out, code := r.adb("shell", cmd)
	if code != 0 {
		r.t.Fatalf("adb shell %q: exit %d: %s", cmd, code, out)
	}
	return out
}

func TestAdbDevicesAndShell(t *testing.T) {
	r := startConnected(t, Config{Model: "redmi-note-8", NoNoise: true})
	_, port, _ := strings.Cut(r.server.Addr(), ":")
	out, err := exec.Command("adb", "-P", port, "devices", "-l").CombinedOutput()
	if err != nil || !strings.Contains(string(out), r.phone.Serial()+" ") ||
		!strings.Contains(string(out), "device product:ginkgo model:Redmi_Note_8 device:ginkgo") {
		t.Fatalf("adb devices -l: %v\n%s", err, out)
	}
	cases := []struct {
		cmd, out string
		code     int
	}{
		{"getprop ro.product.model", "Redmi Note 8\n", 0},
		{"false", "", 1},
		{"ls /nope", "ls: /nope: No such file or directory\n", 1},
		{"frobnicate", "/system/bin/sh: frobnicate: inaccessible or not found\n", 127},
	}
	for _, c := range cases {
		if got, code := r.adb("shell", c.cmd); got != c.out || code != c.code {
			t.Errorf("adb shell %s: (%q, %d), want (%q, %d)", c.cmd, got, code, c.out, c.code)
		}
	}
	// Separate arguments are joined by adb, so quoting on the host matters.
	if got, _ := r.adb("shell", "echo", "'a  b'", "c"); got != "a  b c\n" {
		t.Errorf("argument joining: %q", got)
	}
	if got, code := r.adbIn([]byte("echo from-stdin\nid -u 2>/dev/null || echo no-id-u\n"), "shell"); !strings.Contains(got, "from-stdin") || code != 0 {
		t.Errorf("script on stdin: %q %d", got, code)
	}
}

func TestAdbStateChangesReadBack(t *testing.T) {
	r := startConnected(t, Config{Model: "redmi-note-8", Firmware: "V12.0.2.0", NoNoise: true})
	steps := []struct{ do, check, want string }{
		{"settings put system screen_off_timeout 98765", "settings get system screen_off_timeout", "98765\n"},
		{"settings put global http_proxy 127.0.0.1:8080", "settings get global http_proxy", "127.0.0.1:8080\n"},
		{"settings delete global http_proxy", "settings get global http_proxy", "null\n"},
		// The browser's aggregated-data switch is its own, not Android's.
		{"true", "settings get secure browser_aggregated_data_collection", "null\n"},
		{"mkdir -p /sdcard/CanaryDir/inner", "ls /sdcard/CanaryDir", "inner\n"},
		{"echo payload > /data/local/tmp/f.txt", "cat /data/local/tmp/f.txt", "payload\n"},
		{"rm -r /sdcard/CanaryDir", "ls /sdcard", "DCIM\nDownload\n"},
		{"dumpsys battery set ac 1; dumpsys battery set level 42", "dumpsys battery | grep -e 'AC powered' -e level", "  AC powered: true\n  level: 42\n"},
		{"dumpsys battery reset", "dumpsys battery | grep 'AC powered'", "  AC powered: false\n"},
		{"svc wifi disable", "dumpsys wifi | head -1", "Wi-Fi is disabled\n"},
		{"svc wifi enable", "dumpsys wifi", "Wi-Fi is enabled\nmWifiInfo SSID: \"AndroidWifi\", Supplicant state: COMPLETED\n"},
		{"input keyevent 26", "dumpsys power | grep mWakefulness=", "  mWakefulness=Asleep\n"},
		{"input keyevent 224; input swipe 1 2 3 4 100; input text hello", "dumpsys power | grep mWakefulness=", "  mWakefulness=Awake\n"},
	}
	for _, s := range steps {
		r.shell(s.do)
		if got := r.shell(s.check); got != s.want {
			t.Errorf("after %q, %q gave %q, want %q", s.do, s.check, got, s.want)
		}
	}
	// The resumed activity, as tools read it: the component is the last
	// but one word of the mResumedActivity line.
	resumed := func() string {
		f := strings.Fields(r.shell("dumpsys activity activities | grep mResumedActivity"))
		if len(f) < 2 {
			t.Fatalf("no mResumedActivity line: %q", f)
		}
		return f[len(f)-2]
	}
	r.shell("am start -n com.miui.securitycenter/com.miui.securityscan.MainActivity")
	if got := resumed(); got != "com.miui.securitycenter/com.miui.securityscan.MainActivity" {
		t.Errorf("after am start: resumed %q", got)
	}
	r.shell("am force-stop com.miui.securitycenter")
	if got := resumed(); got != "com.miui.home/.launcher.Launcher" {
		t.Errorf("after am force-stop the home screen must be back, resumed %q", got)
	}
	if got := r.shell("logcat -d"); !strings.Contains(got, "ActivityTaskManager: START u0 {cmp=com.miui.securitycenter/") {
		t.Errorf("logcat -d lacks the phone's events: %q", got)
	}
	png1, code := r.adb("exec-out", "screencap -p")
	if code != 0 {
		t.Fatalf("screencap: exit %d", code)
	}
	if _, err := png.Decode(strings.NewReader(png1)); err != nil {
		t.Errorf("screencap -p over exec-out is not a PNG: %v", err)
	}
	if out, _ := r.adb("root"); !strings.Contains(out, "adbd cannot run as root in production builds") {
		t.Errorf("adb root on a production build: %q", out)
	}
	if got := r.shell("id"); !strings.HasPrefix(got, "uid=2000(shell)") {
		t.Errorf("id: %q", got)
	}
	if out, code := r.adb("shell", "mount -o remount,rw /system"); code == 0 {
		t.Errorf("remount without root succeeded: %q", out)
	}
}

func TestAdbInstallUninstall(t *testing.T) {
	r := startConnected(t, Config{Model: "mi-9t", NoNoise: true})
	dir := t.TempDir()
	for i, name := range []string{"com.canary.streamed", "com.canary.legacy"} {
		b, err := apk.Build(apk.Options{Package: name, VersionName: "1." + strconv.Itoa(i)})
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, name+".apk")
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		// MIUI asks on the screen before each new app (research phone,
		// "Install via USB" on): tap Install as the user would.
		d := &fdevice{t: t, phone: r.phone, server: r.server}
		if i == 0 {
			// adb 29 streams the APK over exec: or abb_exec: to the package
			// service, as the phone advertises the cmd and abb_exec features.
			if res := d.whileTapping("android:id/button2", "install", path); res.code != 0 || !strings.Contains(res.out, "Success") {
				t.Fatalf("adb install: %+v", res)
			}
			continue
		}
		// The harness's client stages the file and runs pm install PATH.
		d.tapDuring("android:id/button2", func() (cliResult, error) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := r.server.Device(r.phone.Serial()).Install(ctx, path); err != nil {
				return cliResult{}, fmt.Errorf("adb.Device.Install: %w", err)
			}
			return cliResult{}, nil
		})
	}
	if got := r.shell("pm list packages -3"); got != "package:com.canary.legacy\npackage:com.canary.streamed\npackage:com.topjohnwu.magisk\n" {
		t.Errorf("pm list packages -3: %q", got)
	}
	if got := r.shell("ls /data/local/tmp"); got != "" {
		t.Errorf("the staged APK was left behind: %q", got)
	}
	if out, code := r.adb("uninstall", "com.canary.streamed"); code != 0 || !strings.Contains(out, "Success") {
		t.Errorf("adb uninstall: %d %s", code, out)
	}
	if out, code := r.adb("shell", "pm path com.canary.streamed"); code != 1 || out != "" {
		t.Errorf("pm path after uninstall: %d %q", code, out)
	}
	if out, code := r.adb("uninstall", "com.nothing.here"); code == 0 || !strings.Contains(out, "Failure") {
		t.Errorf("uninstall of a missing package: %d %s", code, out)
	}
}

func TestAdbPushPull16MiB(t *testing.T) {
	r := startConnected(t, Config{Model: "redmi-note-8", NoNoise: true})
	data := make([]byte, 16<<20)
	if _, err := rand.Read(data); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "big.bin"), filepath.Join(dir, "back.bin")
	if err := os.WriteFile(src, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, code := r.adb("push", src, "/sdcard/Download/"); code != 0 {
		t.Fatalf("push: %s", out)
	}
	if got := r.shell("ls -l /sdcard/Download/big.bin"); !strings.Contains(got, " 16777216 ") {
		t.Errorf("pushed size: %q", got)
	}
	if out, code := r.adb("pull", "/sdcard/Download/big.bin", dst); code != 0 {
		t.Fatalf("pull: %s", out)
	}
	back, err := os.ReadFile(dst)
	if err != nil || !bytes.Equal(back, data) {
		t.Fatalf("pulled file differs (%d bytes, %v)", len(back), err)
	}
	if out, code := r.adb("push", src, "/system/etc/security/cacerts/x.0"); code == 0 || !strings.Contains(out, "Read-only file system") {
		t.Errorf("push into the read-only store: %d %s", code, out)
	}
}

// drain returns the ground-truth records written since the last drain.
func drain(t *testing.T, truth *groundtruth.Log) []groundtruth.Record {
	t.Helper()
	recs, err := truth.Drain()
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

func (r *adbRig) flush() {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := r.phone.Flush(ctx); err != nil {
		r.t.Fatal(err)
	}
}

// waitOnline waits for the phone to come back after a root restart or reboot.
func (r *adbRig) waitOnline() {
	r.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		_ = r.server.Disconnect(ctx, r.phone.Serial())
		err := r.server.Connect(ctx, r.phone.Serial())
		if err == nil {
			err = r.server.Device(r.phone.Serial()).WaitForDevice(ctx)
		}
		cancel()
		if err == nil {
			if _, code := r.adb("shell", "true"); code == 0 {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	r.t.Fatalf("%s did not come back online", r.phone.Serial())
}

// installCA installs a CA into the system store over adb the way the harness
// does: as root (adb root where the build allows it, else su -c on a rooted
// phone), a tmpfs over the store holding the old certificates plus the new one.
func (r *adbRig) installCA(pemBytes []byte, adbRoot bool) {
	r.t.Helper()
	path := filepath.Join(r.t.TempDir(), "telltale.0")
	if err := os.WriteFile(path, pemBytes, 0o644); err != nil {
		r.t.Fatal(err)
	}
	if out, code := r.adb("push", path, "/data/local/tmp/telltale.0"); code != 0 {
		r.t.Fatalf("push CA: %s", out)
	}
	recipe := "mkdir -p /data/local/tmp/ca-copy && cp /system/etc/security/cacerts/* /data/local/tmp/ca-copy/ && " +
		"mount -t tmpfs tmpfs /system/etc/security/cacerts && mv /data/local/tmp/ca-copy/* /system/etc/security/cacerts/ && " +
		"cp /data/local/tmp/telltale.0 /system/etc/security/cacerts/ && chmod 644 /system/etc/security/cacerts/*"
	if !adbRoot {
		if out, code := r.adb("shell", recipe); code == 0 || !strings.Contains(out, "permission denied") {
			r.t.Fatalf("the recipe worked without root: %d %s", code, out)
		}
		r.shell("su -c " + adb.Quote(recipe))
		return
	}
	if out, _ := r.adb("root"); !strings.Contains(out, "restarting adbd as root") {
		r.t.Fatalf("adb root: %q", out)
	}
	r.waitOnline()
	r.shell(recipe)
}

// TestTelemetryOverAdbReverse drives actions on a (Magisk-)rooted Redmi with
// the phone's proxy set to 127.0.0.1:8080 and `adb reverse` carrying that
// port to a local HTTPS proxy, then compares the ground-truth log with what
// arrived.
func TestTelemetryOverAdbReverse(t *testing.T) {
	prof := loadProfile(t, "redmi-note-8")
	truth := &groundtruth.Log{}
	// Immediate timing: one request per event, as the SDKs' debug modes do.
	r := startConnected(t, Config{Model: "redmi-note-8", Truth: truth, NoNoise: true, TelemetryTiming: "immediate"})
	px := simtest.NewProxy(t)
	if out, code := r.adb("reverse", "tcp:8080", "tcp:"+strconv.Itoa(px.Port())); code != 0 {
		t.Fatalf("adb reverse: %s", out)
	}
	r.shell("settings put global http_proxy 127.0.0.1:8080")
	comp := prof.Actions.Browser.Component
	// outcomes is each event since the last call: its final state, and why
	// its attempts failed.
	outcomes := func() map[string]string {
		r.flush()
		recs := drain(t, truth)
		why := map[string]string{}
		for _, rec := range recs {
			if rec.State == groundtruth.Failed {
				why[rec.ID] += rec.Reason
			}
		}
		out := map[string]string{}
		for _, rec := range groundtruth.Latest(recs) {
			out[rec.Event+" "+rec.Values["search_word"]] = rec.State + " " + why[rec.ID]
		}
		return out
	}

	// Without the CA, the phone refuses the proxy's certificate; debug mode
	// drops what failed.
	r.shell("am start -W -a android.intent.action.VIEW -d 'https://www.google.com/search?q=canary%20one' -n " + comp)
	if got := fmt.Sprint(outcomes()); got != "map[app_open :dropped tls browser_search canary one:dropped tls]" {
		t.Fatalf("without the CA: %s", got)
	}
	if len(px.Requests()) != 0 {
		t.Fatal("a request got through without the CA")
	}

	r.installCA(px.CAPEM, false)
	r.shell("am start -a android.intent.action.VIEW -d 'https://www.google.com/search?q=canary%20words' -n " + comp)
	// The phone sits on its USB cable: a charger connects after an unplug.
	r.shell("dumpsys battery unplug; dumpsys battery set level 63; dumpsys battery set ac 1")
	r.shell("input keyevent 26")
	r.flush()
	recs := drain(t, truth)
	byEvent := map[string][]groundtruth.Record{}
	for _, rec := range groundtruth.Latest(recs) {
		if !rec.Delivered {
			t.Errorf("undelivered with the CA installed: %+v", rec)
		}
		byEvent[rec.Event] = append(byEvent[rec.Event], rec)
	}
	if s := byEvent["browser_search"]; len(s) != 1 || s[0].Values["search_word"] != "canary words" || s[0].Action != "search" {
		t.Errorf("search ground truth: %+v", s)
	}
	if c := byEvent["battery_charging"]; len(c) != 1 || c[0].Values["level"] != "63" || c[0].Values["plugged"] != "ac" || c[0].Values["ssid"] != "" {
		t.Errorf("charge ground truth: %+v", c)
	}
	if l := byEvent["screen_lock"]; len(l) != 1 || l[0].Host != "data.mistat.intl.xiaomi.com" {
		t.Errorf("lock ground truth: %+v", l)
	}
	// What arrived must carry what the ground truth says, in its layers.
	var sawSearch, sawLevel bool
	for _, q := range px.Requests() {
		switch {
		case q.Host == "sa.api.intl.miui.com":
			evs, err := protocols.DecodeSA(q.Body)
			if err != nil {
				t.Fatal(err)
			}
			props := evs[0]["properties"].(map[string]any)
			sawSearch = props["search_word"] == "canary words" && strings.Contains(props["url"].(string), "q=canary%20words") &&
				props["$device_id"] == r.shell("settings get secure android_id")[:16]
		case q.Path == "/track/v4":
			js, err := protocols.OpenOneTrack(px.Key, q.Body)
			if err != nil {
				t.Fatal(err)
			}
			sawLevel = sawLevel || strings.Contains(string(js), `"level":63`)
		}
	}
	if !sawSearch || !sawLevel {
		t.Errorf("arrived: search %v, level %v; requests %d", sawSearch, sawLevel, len(px.Requests()))
	}

	// No reverse rule: the phone cannot reach the proxy and says so.
	if out, code := r.adb("reverse", "--remove-all"); code != 0 {
		t.Fatalf("reverse --remove-all: %s", out)
	}
	r.shell("input keyevent 224; input keyevent 26") // wake, then lock again
	if got := fmt.Sprint(outcomes()); got != "map[screen_lock :dropped no-reverse]" {
		t.Errorf("without reverse: %s", got)
	}
}

func TestAdbRootCARecipeAndReboot(t *testing.T) {
	truth := &groundtruth.Log{}
	r := startConnected(t, Config{Model: "aosp-emulator", Truth: truth})
	if got := r.shell("getprop ro.build.version.sdk"); got != "34\n" {
		t.Fatalf("sdk: %q", got)
	}
	px := simtest.NewProxy(t)
	if out, code := r.adb("reverse", "tcp:8080", "tcp:"+strconv.Itoa(px.Port())); code != 0 {
		t.Fatalf("adb reverse: %s", out)
	}
	r.installCA(px.CAPEM, true)
	if got := r.shell("id"); !strings.HasPrefix(got, "uid=0(root)") {
		t.Fatalf("id after adb root: %q", got)
	}
	// adb root restarts adbd, and the server drops the transport's reverse
	// rules with it, as with a real phone.
	if out, _ := r.adb("reverse", "--list"); strings.Contains(out, "tcp:8080") {
		t.Errorf("reverse rules survived adbd restarting: %q", out)
	}
	r.shell("mount --bind /system/etc/security/cacerts /apex/com.android.conscrypt/cacerts")
	if got := r.shell("ls /apex/com.android.conscrypt/cacerts | grep -c '.0'"); got != "4\n" {
		t.Errorf("APEX store after the bind mount: %q", got)
	}
	// The control device sends nothing whatever is done.
	r.shell("settings put global http_proxy 127.0.0.1:8080; mkdir /sdcard/CanaryFolder; dumpsys battery set ac 1; input keyevent 26")
	r.flush()
	if recs := drain(t, truth); len(recs) != 0 {
		t.Errorf("the emulator sent telemetry: %+v", recs)
	}
	if out, code := r.adb("reboot"); code != 0 {
		t.Fatalf("adb reboot: %d %s", code, out)
	}
	r.waitOnline()
	if got := r.shell("id"); !strings.HasPrefix(got, "uid=2000(shell)") {
		t.Errorf("root survived the reboot: %q", got)
	}
	if got := r.shell("ls /apex/com.android.conscrypt/cacerts | grep -c '.0'"); got != "3\n" {
		t.Errorf("the CA mount survived the reboot: %q", got)
	}
	if got := r.shell("ls /sdcard"); !strings.Contains(got, "CanaryFolder") {
		t.Errorf("files must survive a reboot: %q", got)
	}
}

// TestNcThroughAdbReverse sends from the phone's shell to a host listener
// over a reverse rule, as the harness's probe does.
func TestNcThroughAdbReverse(t *testing.T) {
	r := startConnected(t, Config{Model: "mi-10", NoNoise: true})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		line, _ := bufio.NewReader(c).ReadString('\n')
		c.Write([]byte("echo:" + strings.ToUpper(line)))
	}()
	if out, code := r.adb("shell", "printf 'hi\\n' | toybox nc -w 5 127.0.0.1 9000"); code != 1 || !strings.Contains(out, "Connection refused") {
		t.Errorf("nc without a reverse rule: %d %q", code, out)
	}
	if out, code := r.adb("reverse", "tcp:9000", "tcp:"+strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)); code != 0 {
		t.Fatalf("adb reverse: %s", out)
	}
	if out := r.shell("printf 'hello %s\\n' phone | toybox nc -w 5 127.0.0.1 9000"); out != "echo:HELLO PHONE\n" {
		t.Errorf("nc through the reverse rule: %q", out)
	}
	// A real address is the modeled outside: it takes what nc sends and
	// never answers, so nc ends at its -w timeout with nothing to print.
	if out, code := r.adb("shell", "echo x | nc -w 1 93.184.216.34 80"); code != 0 || out != "" {
		t.Errorf("nc to a real address: %d %q", code, out)
	}
}
