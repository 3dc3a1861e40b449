package packages_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path"
	"strconv"
	"strings"
	"sync"
	"testing"

	"telltale.dev/devices/sim/clock"
	"telltale.dev/devices/sim/content"
	"telltale.dev/devices/sim/event"
	"telltale.dev/devices/sim/internal/cmdtest"
	"telltale.dev/devices/sim/shell"
	"telltale.dev/devices/sim/system/logd"
	"telltale.dev/devices/sim/system/packages"
	"telltale.dev/devices/sim/vfs"
	"telltale.dev/fixtures/apk"
)

var (
	signerOnce sync.Once
	signers    [2]*apk.Signer
	signerErr  error
)

// testSigners are two keys: one app's, and someone else's.
func testSigners(t *testing.T) [2]*apk.Signer {
	t.Helper()
	signerOnce.Do(func() {
		for i := range signers {
			if signers[i], signerErr = apk.NewSigner(); signerErr != nil {
				return
			}
		}
	})
	if signerErr != nil {
		t.Fatal(signerErr)
	}
	return signers
}

func buildAPK(t *testing.T, o apk.Options) []byte {
	t.Helper()
	if o.Signer == nil && o.Signing != apk.Unsigned {
		o.Signer = testSigners(t)[0]
	}
	b, err := apk.Build(o)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sessionID reads the id out of "Success: created install session [ID]".
func sessionID(t *testing.T, out string) string {
	t.Helper()
	_, rest, ok := strings.Cut(out, "Success: created install session [")
	id, _, ok2 := strings.Cut(rest, "]")
	if !ok || !ok2 {
		t.Fatalf("install-create printed %q", out)
	}
	return id
}

// runIn is cmdtest.Run with stdin.
func runIn(stdin []byte, f shell.Func, args ...string) cmdtest.Result {
	var o, e strings.Builder
	code := f(context.Background(), shell.IO{Stdin: bytes.NewReader(stdin), Stdout: &o, Stderr: &e}, args)
	return cmdtest.Result{Out: o.String(), Err: e.String(), Code: code}
}

// installSession runs create, one write per APK (streamed on stdin, as adb
// install-multiple and ddmlib do) and commit, returning commit's result.
func installSession(t *testing.T, pm shell.Func, apks map[string][]byte) cmdtest.Result {
	t.Helper()
	id := sessionID(t, cmdtest.Must(t, pm, "pm", "install-create", "-r", "-S", "100"))
	for name, data := range apks {
		size := strconv.Itoa(len(data))
		r := runIn(data, pm, "pm", "install-write", "-S", size, id, name, "-")
		if r.Code != 0 || r.Out != "Success: streamed "+size+" bytes\n" {
			t.Fatalf("install-write %s: %+v", name, r)
		}
	}
	return cmdtest.Run(context.Background(), pm, "pm", "install-commit", id)
}

func TestSplitInstall(t *testing.T) {
	m, fs, events := newManager(t)
	pm := m.Commands()["pm"]
	base := buildAPK(t, apk.Options{Package: "com.canary.split", VersionCode: 3})
	split := buildAPK(t, apk.Options{Package: "com.canary.split", VersionCode: 3, Split: "config.xxhdpi", NoLauncher: true})
	// ddmlib names the files it writes "0_base.apk", "1_split.apk".
	if r := installSession(t, pm, map[string][]byte{"0_base.apk": base, "1_config.apk": split}); r.Code != 0 || r.Out != "Success\n" {
		t.Fatalf("install-commit: %+v", r)
	}
	p, ok := m.Get("com.canary.split")
	if !ok || len(*events) != 1 {
		t.Fatalf("installed %v, events %v", ok, *events)
	}
	dir := path.Dir(p.Path)
	for name, want := range map[string][]byte{"base.apk": base, "split_config.xxhdpi.apk": split} {
		if got, err := fs.ReadFile(dir + "/" + name); err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s/%s: %d bytes, %v", dir, name, len(got), err)
		}
	}
}

// Each refusal as PackageInstallerSession words it, with the public
// status install-commit exits with (pm install exits 1).
func TestSessionRefusals(t *testing.T) {
	s := testSigners(t)
	base := buildAPK(t, apk.Options{Package: "com.canary.s", VersionCode: 3})
	split := func(o apk.Options) []byte {
		o.Split, o.NoLauncher = "config.en", true
		if o.Package == "" {
			o.Package = "com.canary.s"
		}
		if o.VersionCode == 0 {
			o.VersionCode = 3
		}
		return buildAPK(t, o)
	}
	for _, tc := range []struct {
		name string
		apks map[string][]byte
		code int
		out  string
	}{
		{"no base", map[string][]byte{"a.apk": split(apk.Options{})}, 4, "Failure [INSTALL_FAILED_INVALID_APK: Full install must include a base package]\n"},
		{"nothing staged", map[string][]byte{}, 4, "Failure [INSTALL_FAILED_INVALID_APK: No packages staged]\n"},
		{"two bases", map[string][]byte{"a.apk": base, "b.apk": base}, 4, "Failure [INSTALL_FAILED_INVALID_APK: Split null was defined multiple times]\n"},
		{"other package", map[string][]byte{"a.apk": base, "b.apk": split(apk.Options{Package: "com.canary.other"})}, 4,
			" package com.canary.other inconsistent with com.canary.s]\n"},
		{"other version", map[string][]byte{"a.apk": base, "b.apk": split(apk.Options{VersionCode: 4})}, 4,
			".tmp/b.apk version code 4 inconsistent with 3]\n"},
		{"other signer", map[string][]byte{"a.apk": base, "b.apk": split(apk.Options{Signer: s[1]})}, 4,
			".tmp/b.apk signatures are inconsistent]\n"},
		{"tampered", map[string][]byte{"a.apk": buildAPK(t, apk.Options{Package: "com.canary.s", Tamper: apk.TamperV2Digest})}, 4,
			"using APK Signature Scheme v2: SHA-256 digest of contents did not verify]\n"},
	} {
		m, _, _ := newManager(t)
		r := installSession(t, m.Commands()["pm"], tc.apks)
		if r.Code != tc.code || !strings.HasSuffix(r.Out, tc.out) {
			t.Errorf("%s: exit %d, %q; want %d, %q", tc.name, r.Code, r.Out, tc.code, tc.out)
		}
	}
}

func TestUpdatesKeepTheSigner(t *testing.T) {
	s := testSigners(t)
	m, fs, _ := newManager(t)
	pm := m.Commands()["pm"]
	install := func(o apk.Options) cmdtest.Result {
		if err := fs.WriteFile("/data/local/tmp/u.apk", buildAPK(t, o), 0o644, vfs.ShellUID, false); err != nil {
			t.Fatal(err)
		}
		return cmdtest.Run(context.Background(), pm, "pm", "install", "-r", "/data/local/tmp/u.apk")
	}
	if r := install(apk.Options{Package: "com.canary.u", VersionCode: 1}); r.Out != "Success\n" {
		t.Fatalf("first install: %+v", r)
	}
	if r := install(apk.Options{Package: "com.canary.u", VersionCode: 2}); r.Out != "Success\n" {
		t.Errorf("update by the same signer: %+v", r)
	}
	want := "Failure [INSTALL_FAILED_UPDATE_INCOMPATIBLE: Package com.canary.u signatures do not match previously installed version; ignoring!]\n"
	if r := install(apk.Options{Package: "com.canary.u", VersionCode: 3, Signer: s[1]}); r.Code != 1 || r.Out != want {
		t.Errorf("update by another signer: %+v", r)
	}
	// A system app is signed with the platform key, which no test APK has.
	want = "Failure [INSTALL_FAILED_UPDATE_INCOMPATIBLE: Package com.miui.home signatures do not match previously installed version; ignoring!]\n"
	if r := install(apk.Options{Package: "com.miui.home"}); r.Code != 1 || r.Out != want {
		t.Errorf("replacing a system app: %+v", r)
	}
}

func TestSessionBookkeeping(t *testing.T) {
	m, _, _ := newManager(t)
	pm := m.Commands()["pm"]
	id := sessionID(t, cmdtest.Must(t, pm, "pm", "install-create"))
	if out := cmdtest.Must(t, pm, "pm", "install-abandon", id); out != "Success\n" {
		t.Errorf("install-abandon: %q", out)
	}
	r := cmdtest.Run(context.Background(), pm, "pm", "install-commit", id)
	if r.Code != 255 || r.Err != "Exception occurred while executing 'install-commit':\njava.lang.SecurityException: Caller has no access to session "+id+"\n" {
		t.Errorf("commit of an abandoned session: %+v", r)
	}
	// Through `cmd package`, as adb with the cmd feature sends it.
	id = sessionID(t, cmdtest.Must(t, m.ShellCommand, "install-create", "-S", "1"))
	if r := runIn(nil, m.ShellCommand, "install-write", "-S", "0", id, "x/y.apk", "-"); r.Code != 255 || !strings.Contains(r.Err, "Invalid name: x/y.apk") {
		t.Errorf("a name with a slash: %+v", r)
	}
}

// gate answers installs as MIUI does without "Install via USB" (refuse) or
// after the user's answer, recording what it was asked.
type gate struct {
	refuse bool
	asked  []string
}

func (g *gate) ConfirmInstall(_ context.Context, uid uint32, pkg, label string, update bool) error {
	g.asked = append(g.asked, fmt.Sprintf("%d %s %q update=%v", uid, pkg, label, update))
	if g.refuse {
		return errors.New("Install canceled by user")
	}
	return nil
}

// TestGatedInstalls: the gate sees every install with its label and
// whether it is an update, after the APK verified; a refusal is
// INSTALL_FAILED_USER_RESTRICTED for pm install (exit 1) and for a session
// (public status 7), and installs nothing.
func TestGatedInstalls(t *testing.T) {
	fs := vfs.New()
	var bus event.Bus
	g := &gate{refuse: true}
	m := packages.New(packages.Config{Files: fs, Bus: &bus, Log: logd.New(clock.Real()), System: image, Gate: g,
		User: []content.Manifest{{Package: "com.topjohnwu.magisk", Label: "Magisk"}}})
	pm := m.Commands()["pm"]
	data := buildAPK(t, apk.Options{Package: "org.tt.canary", Label: "Canary"})
	size := strconv.Itoa(len(data))
	const refused = "Failure [INSTALL_FAILED_USER_RESTRICTED: Install canceled by user]\n"
	if r := runIn(data, pm, "pm", "install", "-S", size); r.Code != 1 || r.Out != refused {
		t.Errorf("refused pm install: %+v", r)
	}
	if r := installSession(t, pm, map[string][]byte{"base.apk": data}); r.Code != 7 || r.Out != refused {
		t.Errorf("refused session: %+v", r)
	}
	if m.Has("org.tt.canary") {
		t.Fatal("a refused install installed")
	}
	g.refuse = false
	if r := runIn(data, pm, "pm", "install", "-S", size); r.Code != 0 || r.Out != "Success\n" {
		t.Fatalf("allowed install: %+v", r)
	}
	if r := runIn(data, pm, "pm", "install", "-r", "-S", size); r.Code != 0 {
		t.Fatalf("update: %+v", r)
	}
	want := `[2000 org.tt.canary "Canary" update=false 2000 org.tt.canary "Canary" update=false 2000 org.tt.canary "Canary" update=false 2000 org.tt.canary "Canary" update=true]`
	if fmt.Sprint(g.asked) != want {
		t.Errorf("gate asked\n%s\nwant\n%s", g.asked, want)
	}
	if tampered := runIn([]byte("PK not an apk"), pm, "pm", "install", "-S", "13"); tampered.Code != 1 || len(g.asked) != 4 {
		t.Errorf("a broken APK reached the gate: %+v, asked %d times", tampered, len(g.asked))
	}
	if out := cmdtest.Must(t, pm, "pm", "list", "packages", "-3"); out != "package:com.topjohnwu.magisk\npackage:org.tt.canary\n" {
		t.Errorf("third-party packages: %q", out)
	}
}
