package packages_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"telltale.dev/devices/sim"
	"telltale.dev/devices/sim/adbd/ddmlibtest"
	"telltale.dev/devices/sim/internal/autoinstall"
	"telltale.dev/devices/sim/rig"
	"telltale.dev/devices/sim/rig/rigtest"
	"telltale.dev/fixtures/apk"
)

// These tests install through the real adb server as a user, the adb CLI
// and ddmlib would: `adb install` streams to `cmd package install -S`,
// `adb install-multiple` and ddmlib's installPackages use sessions, and
// ddmlib's installPackage pushes the file and runs `pm install`.

type phone struct {
	rig   *rig.Rig
	p     *sim.Phone
	port  string
	files string
}

func startPhone(t *testing.T, firmware string) *phone {
	t.Helper()
	r := rigtest.New(t)
	p := rigtest.Phone(t, r, sim.Config{Model: "mi-9t", Firmware: firmware, NoNoise: true})
	// A research phone asks on the screen before each new app.
	autoinstall.Approve(t, r.Client().Device(p.Serial()))
	_, port, _ := strings.Cut(r.Client().Addr(), ":")
	return &phone{rig: r, p: p, port: port, files: t.TempDir()}
}

// file writes an APK on the host for adb to send.
func (ph *phone) file(t *testing.T, name string, b []byte) string {
	t.Helper()
	path := filepath.Join(ph.files, name)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// adb runs the adb CLI for the phone and returns its output and exit code.
func (ph *phone) adb(t *testing.T, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "adb", append([]string{"-P", ph.port, "-s", ph.p.Serial()}, args...)...).CombinedOutput()
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		t.Fatalf("adb %v timed out: %s", args, out)
	case errors.As(err, &ee):
		return string(out), ee.ExitCode()
	case err != nil:
		t.Fatalf("adb %v: %v", args, err)
	}
	return string(out), 0
}

func TestAdbInstallVerifiesSignatures(t *testing.T) {
	for _, tc := range []struct {
		firmware, android string
		unsigned          string
	}{
		{"V12.0.2.0", "10", "Failure [INSTALL_PARSE_FAILED_NO_CERTIFICATES: Failed to collect certificates from /data/app/vmdl"},
		{"V12.5.1.0", "11", "Failure [INSTALL_PARSE_FAILED_NO_CERTIFICATES: Failed collecting certificates for /data/app/vmdl"},
	} {
		t.Run("Android "+tc.android, func(t *testing.T) {
			ph := startPhone(t, tc.firmware)
			good := ph.file(t, "good.apk", buildAPK(t, apk.Options{Package: "com.canary.adb"}))
			if out, code := ph.adb(t, "install", good); code != 0 || !strings.Contains(out, "Success") {
				t.Fatalf("adb install of a signed APK: %d %s", code, out)
			}
			for name, o := range map[string]apk.Options{
				"tampered.apk": {Package: "com.canary.tampered", Tamper: apk.TamperV2Digest},
				"unsigned.apk": {Package: "com.canary.unsigned", Signing: apk.Unsigned},
			} {
				out, code := ph.adb(t, "install", ph.file(t, name, buildAPK(t, o)))
				want := "adb: failed to install " + filepath.Join(ph.files, name) + ": "
				if code != 1 || !strings.HasPrefix(out, want) || !strings.Contains(out, "Failure [INSTALL_PARSE_FAILED_NO_CERTIFICATES: ") {
					t.Errorf("adb install %s: exit %d\n%s", name, code, out)
				}
				if name == "unsigned.apk" && !strings.Contains(out, tc.unsigned) {
					t.Errorf("unsigned on Android %s:\n%s\nwant %q", tc.android, out, tc.unsigned)
				}
				if out, _ := ph.adb(t, "shell", "pm", "path", o.Package); out != "" {
					t.Errorf("%s is installed after the refusal: %q", o.Package, out)
				}
			}
		})
	}
}

func TestAdbInstallMultiple(t *testing.T) {
	ph := startPhone(t, "")
	base := ph.file(t, "base.apk", buildAPK(t, apk.Options{Package: "com.canary.multi", VersionCode: 5}))
	split := ph.file(t, "split.apk", buildAPK(t, apk.Options{Package: "com.canary.multi", VersionCode: 5, Split: "config.xxhdpi", NoLauncher: true}))
	if out, code := ph.adb(t, "install-multiple", base, split); code != 0 || !strings.Contains(out, "Success") {
		t.Fatalf("adb install-multiple: %d %s", code, out)
	}
	out, _ := ph.adb(t, "shell", "pm", "path", "com.canary.multi")
	dir := strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(out), "package:"), "/base.apk")
	if ls, _ := ph.adb(t, "shell", "ls", dir); ls != "base.apk\nsplit_config.xxhdpi.apk\n" {
		t.Errorf("ls %s = %q", dir, ls)
	}
	// A split without its base is refused whole.
	lone := ph.file(t, "lone.apk", buildAPK(t, apk.Options{Package: "com.canary.lone", Split: "config.en", NoLauncher: true}))
	if out, code := ph.adb(t, "install-multiple", lone); code == 0 || !strings.Contains(out, "INSTALL_FAILED_INVALID_APK: Full install must include a base package") {
		t.Errorf("adb install-multiple of a lone split: %d %s", code, out)
	}
}

func TestDdmlibInstalls(t *testing.T) {
	drv := ddmlibtest.Compile(t)
	ph := startPhone(t, "")
	run := func(command string, args ...string) string {
		return drv.Run(t, ph.port, ph.p.Serial(), command, args...).Out
	}
	tampered := ph.file(t, "tampered.apk", buildAPK(t, apk.Options{Package: "com.canary.ddm", Tamper: apk.TamperV2Digest}))
	if out := run("install", tampered); !strings.HasPrefix(out, "InstallException: INSTALL_PARSE_FAILED_NO_CERTIFICATES: Failed to collect certificates from /data/app/vmdl") ||
		!strings.HasSuffix(out, " using APK Signature Scheme v2: SHA-256 digest of contents did not verify\n") {
		t.Errorf("installPackage of a tampered APK: %q", out)
	}
	if out := run("install", ph.file(t, "good.apk", buildAPK(t, apk.Options{Package: "com.canary.ddm"}))); out != "installed\n" {
		t.Errorf("installPackage: %q", out)
	}
	base := buildAPK(t, apk.Options{Package: "com.canary.ddmsplit", VersionCode: 2})
	split := buildAPK(t, apk.Options{Package: "com.canary.ddmsplit", VersionCode: 2, Split: "config.en", NoLauncher: true})
	if out := run("install-multiple", ph.file(t, "b.apk", base), ph.file(t, "s.apk", split)); out != "installed\n" {
		t.Errorf("installPackages: %q", out)
	}
	if out, _ := ph.adb(t, "shell", "pm", "list", "packages", "com.canary.ddm"); !bytes.Contains([]byte(out), []byte("package:com.canary.ddmsplit\n")) {
		t.Errorf("pm list after ddmlib's installs: %q", out)
	}
}
