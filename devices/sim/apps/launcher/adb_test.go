package launcher_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"telltale.dev/devices/sim"
	"telltale.dev/devices/sim/apps/internal/apptest"
	"telltale.dev/fixtures/apk"
)

// TestHomeScreenOnThePhone finds every launchable app's icon on MIUI's home
// screen with the harness's driver, an installed APK's among them, and
// opens apps from it.
func TestHomeScreenOnThePhone(t *testing.T) {
	p := apptest.StartPhone(t, sim.Config{Model: "redmi-note-8", Firmware: "V12.0.2.0"})
	b, err := apk.Build(apk.Options{Package: "com.canary.home", Label: "Canary Home"})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Dev.Push(p.Ctx, bytes.NewReader(b), "/data/local/tmp/home.apk", 0o644, time.Now()); err != nil {
		t.Fatal(err)
	}
	if out := p.Shell("su -c pm install /data/local/tmp/home.apk"); !strings.Contains(out, "Success") {
		t.Fatalf("install: %q", out)
	}
	for _, label := range []string{"Mi Browser", "Mint Browser", "Settings", "File Manager", "Canary Home"} {
		p.See("desc=" + label + ",clickable=true")
	}
	p.AgreeWithElementTree("desc=Canary Home", "id=com.miui.home:id/icon_title,text=Settings")
	p.Tap("desc=File Manager,clickable=true")
	p.See("id=com.mi.android.globalFileexplorer:id/confirm_btn")
	p.Key("KEYCODE_HOME")
	p.Tap("desc=Canary Home,clickable=true")
	p.See("text=Canary Home,package=com.canary.home")
	p.Key("KEYCODE_BACK")
	p.See("id=com.miui.home:id/workspace")
}
