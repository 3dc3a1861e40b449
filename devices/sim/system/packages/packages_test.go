package packages_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"telltale.dev/devices/sim/clock"
	"telltale.dev/devices/sim/content"
	"telltale.dev/devices/sim/event"
	"telltale.dev/devices/sim/internal/cmdtest"
	"telltale.dev/devices/sim/system/logd"
	"telltale.dev/devices/sim/system/packages"
	"telltale.dev/devices/sim/vfs"
	"telltale.dev/fixtures/apk"
)

var image = []content.Manifest{
	{Package: "android", SharedUserID: "android.uid.system"},
	{Package: "com.miui.home", Activities: []content.ActivityInfo{{Name: "com.miui.home.launcher.Launcher", Filters: []content.Filter{content.Home}}}},
	{Package: "com.mi.globalbrowser.mini", Label: "Mint Browser", Activities: []content.ActivityInfo{
		{Name: "com.android.browser.BrowserActivity", Filters: []content.Filter{content.Launcher, content.Browsable}}}},
	{Package: "com.mi.globalbrowser", Label: "Mi Browser", Activities: []content.ActivityInfo{
		{Name: "com.android.browser.BrowserActivity", Filters: []content.Filter{content.Launcher, content.Browsable}}}},
}

func newManager(t *testing.T) (*packages.Manager, *vfs.FS, *[]event.Event) {
	t.Helper()
	fs := vfs.New()
	if err := fs.MkdirAll("/data/local/tmp", 0o777, vfs.RootUID); err != nil {
		t.Fatal(err)
	}
	var bus event.Bus
	var got []event.Event
	bus.Subscribe(func(ev event.Event) { got = append(got, ev) })
	m := packages.New(packages.Config{Files: fs, Bus: &bus, Log: logd.New(clock.Real()), System: image, Browser: "com.mi.globalbrowser"})
	return m, fs, &got
}

func TestResolve(t *testing.T) {
	m, _, _ := newManager(t)
	web := content.Intent{Action: content.ActionView, Data: "https://x.example/"}
	cases := []struct {
		in   content.Intent
		want string
		err  string
	}{
		// Two browsers open web pages: the default one wins.
		{web, "com.mi.globalbrowser/com.android.browser.BrowserActivity", ""},
		{content.Intent{Action: content.ActionMain, Categories: []string{content.CategoryHome}}, "com.miui.home/.launcher.Launcher", ""},
		{content.Intent{Package: "com.mi.globalbrowser.mini"}, "com.mi.globalbrowser.mini/com.android.browser.BrowserActivity", ""},
		{content.Intent{Component: content.ComponentName{Package: "com.miui.home", Class: "com.miui.home.Other"}}, "",
			"Error: Activity class {com.miui.home/com.miui.home.Other} does not exist."},
		{content.Intent{Component: content.ComponentName{Package: "com.nope", Class: "x.Y"}}, "",
			"Error: Activity not started, unable to resolve Intent { cmp=com.nope/x.Y }"},
		{content.Intent{Package: "android"}, "", "Error: Activity not started, unable to resolve Intent { pkg=android }"},
		{content.Intent{Action: content.ActionView, Data: "mailto:a@b"}, "", "unable to resolve"},
	}
	for _, c := range cases {
		got, err := m.Resolve(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: %v, want error %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || got.ShortString() != c.want {
			t.Errorf("%s: %s %v, want %s", c.in, got.ShortString(), err, c.want)
		}
	}
	var unresolved *packages.UnresolvedError
	if _, err := m.Resolve(content.Intent{Package: "com.nope"}); !errors.As(err, &unresolved) {
		t.Errorf("error type %T", err)
	}
	if got := m.Launchables(); len(got) != 2 || got[0].Label != "Mint Browser" || got[1].Label != "Mi Browser" {
		t.Errorf("launchables %+v", got)
	}
}

func TestInstallAndUninstall(t *testing.T) {
	m, fs, events := newManager(t)
	b, err := apk.Build(apk.Options{Package: "com.canary.pm", Label: "Canary", VersionName: "2.5", VersionCode: 7})
	if err != nil {
		t.Fatal(err)
	}
	if err := fs.WriteFile("/data/local/tmp/c.apk", b, 0o644, vfs.ShellUID, false); err != nil {
		t.Fatal(err)
	}
	pm := m.Commands()["pm"]
	if out := cmdtest.Must(t, pm, "pm", "install", "-r", "/data/local/tmp/c.apk"); out != "Success\n" {
		t.Fatalf("install: %q", out)
	}
	if fmt.Sprint(*events) != "[{com.canary.pm 2.5 7 adb false}]" {
		t.Errorf("events %v", *events)
	}
	// The APK's own launcher activity is what a launcher shows and starts.
	got, err := m.Resolve(content.Intent{Action: content.ActionMain, Categories: []string{content.CategoryLauncher}, Package: "com.canary.pm"})
	if err != nil || got.String() != "com.canary.pm/android.app.Activity" {
		t.Errorf("launcher activity of the APK: %s %v", got, err)
	}
	if out := cmdtest.Must(t, pm, "pm", "list", "packages", "-3", "-U", "--show-versioncode"); out != "package:com.canary.pm versionCode:7 uid:10003\n" {
		t.Errorf("pm list: %q", out)
	}
	if out := cmdtest.Must(t, m.ShellCommand, "path", "com.canary.pm"); !strings.HasPrefix(out, "package:/data/app/com.canary.pm-") {
		t.Errorf("cmd package path: %q", out)
	}
	*events = nil
	cmdtest.Must(t, pm, "pm", "uninstall", "com.canary.pm")
	if fmt.Sprint(*events) != "[{com.canary.pm}]" || m.Has("com.canary.pm") {
		t.Errorf("after uninstall: events %v, installed %v", *events, m.Has("com.canary.pm"))
	}
	ctx := context.Background()
	if r := cmdtest.Run(ctx, pm, "pm", "uninstall", "com.miui.home"); r.Code != 1 || r.Out != "Failure [DELETE_FAILED_INTERNAL_ERROR]\n" {
		t.Errorf("uninstalling a system package: %+v", r)
	}
	if err := fs.WriteFile("/data/local/tmp/bad.apk", []byte("notazip"), 0o644, vfs.ShellUID, false); err != nil {
		t.Fatal(err)
	}
	if r := cmdtest.Run(ctx, pm, "pm", "install", "/data/local/tmp/bad.apk"); r.Code != 1 || !strings.Contains(r.Out, "INSTALL_PARSE_FAILED_NOT_APK") {
		t.Errorf("install of a non-APK: %+v", r)
	}
	cmdtest.Must(t, pm, "pm", "disable-user", "com.mi.globalbrowser")
	if got, _ := m.Resolve(content.Intent{Action: content.ActionView, Data: "https://x/"}); got.Package != "com.mi.globalbrowser.mini" {
		t.Errorf("a disabled default browser still opens pages: %s", got)
	}
	if out := cmdtest.Must(t, m.Dump, "com.mi.globalbrowser"); !strings.Contains(out, "  Package [com.mi.globalbrowser]") || !strings.Contains(out, "enabled=3") {
		t.Errorf("dumpsys package:\n%s", out)
	}
}

// Packages that declare a shared user run as one uid: the platform's
// shared users have fixed ones (`pm list packages -U` shows the Settings
// app as uid 1000), any other shares the first member's app uid.
func TestSharedUsers(t *testing.T) {
	m := packages.New(packages.Config{Files: vfs.New(), Bus: &event.Bus{}, Log: logd.New(clock.Real()), System: []content.Manifest{
		{Package: "android", SharedUserID: "android.uid.system"},
		{Package: "com.android.settings", SharedUserID: "android.uid.system"},
		{Package: "com.android.shell", SharedUserID: "android.uid.shell"},
		{Package: "com.example.a", SharedUserID: "com.example.shared"},
		{Package: "com.example.alone"},
		{Package: "com.example.b", SharedUserID: "com.example.shared"},
	}})
	out := cmdtest.Must(t, m.Commands()["pm"], "pm", "list", "packages", "-U")
	want := "package:android uid:1000\npackage:com.android.settings uid:1000\npackage:com.android.shell uid:2000\n" +
		"package:com.example.a uid:10000\npackage:com.example.alone uid:10001\npackage:com.example.b uid:10000\n"
	if out != want {
		t.Errorf("pm list packages -U:\n%s\nwant\n%s", out, want)
	}
}
