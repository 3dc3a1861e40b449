package settings_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"telltale.dev/devices/sim"
	"telltale.dev/devices/sim/apps/internal/apptest"
	"telltale.dev/devices/sim/clock"
	securitysvc "telltale.dev/devices/sim/system/security"
	hui "telltale.dev/harness/ui"
)

// These tests drive the Settings app on a simulated phone through the real
// adb server, with the harness's UI driver, as a scenario would.

const settingsMain = "com.android.settings/com.android.settings.Settings"

func setting(p *apptest.Phone, ns, key string) string {
	p.T.Helper()
	return strings.TrimSpace(p.Shell(fmt.Sprintf("settings get %s %s", ns, key)))
}

func TestSettingsOnThePhone(t *testing.T) {
	p := apptest.StartPhone(t, sim.Config{Model: "redmi-note-8", Firmware: "V12.0.2.0",
		Networks: []sim.Network{{SSID: "AndroidWifi", Security: "open"}, {SSID: "Canary AP", Security: "open"}}})
	p.Start(settingsMain)

	// Display: a tap a quarter along the slider, then a swipe to three
	// quarters; Sleep from its list.
	p.Tap("text=Display")
	bar := p.See("class=android.widget.SeekBar").Bounds
	pad := 16 * 1080 / 393 // the track's padding: 16 dp on this 1080-px-wide screen
	track := bar.X2 - bar.X1 - 2*pad
	y := (bar.Y1 + bar.Y2) / 2
	if err := p.UI.TapAt(p.Ctx, hui.Point{X: bar.X1 + pad + track/4, Y: y}); err != nil {
		t.Fatal(err)
	}
	if got := setting(p, "system", "screen_brightness"); got != "64" {
		t.Errorf("brightness after a tap at 1/4: %s", got)
	}
	if err := p.UI.Swipe(p.Ctx, hui.Point{X: bar.X1 + pad + track/4, Y: y}, hui.Point{X: bar.X1 + pad + 3*track/4, Y: y}, 300*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if got := setting(p, "system", "screen_brightness"); got != "191" {
		t.Errorf("brightness after a swipe to 3/4: %s", got)
	}
	p.Tap("text=Sleep")
	p.Tap("text=10 minutes")
	p.See("text=After 10 minutes of inactivity")
	if got := setting(p, "system", "screen_off_timeout"); got != "600000" {
		t.Errorf("sleep: %s", got)
	}
	p.Expect(
		"event.SettingEdited{Package:com.android.settings NS:system Key:screen_brightness Old:128 New:64}",
		"event.SettingEdited{Package:com.android.settings NS:system Key:screen_brightness Old:64 New:191}",
		"event.SettingEdited{Package:com.android.settings NS:system Key:screen_off_timeout Old:60000 New:600000}")
	// A shortcut from the shell is no change made in the app.
	p.Shell("settings put system screen_off_timeout 30000")
	p.Expect()

	// About phone > Device name: the full-screen rename page.
	p.Key(hui.KeyBack)
	p.Tap("text=About phone")
	p.Tap("text=Device name")
	p.See("id=miui:id/action_bar_title,text=Rename phone")
	p.See("id=com.android.settings:id/device_name,focused=true,text=Redmi Note 8")
	for range len("Redmi Note 8") {
		p.Key(hui.KeyDel)
	}
	p.Type("canary-phone")
	p.Tap("id=android:id/button2,desc=OK")
	if got := setting(p, "global", "device_name"); got != "canary-phone" {
		t.Errorf("device name: %q", got)
	}
	p.Expect("event.SettingEdited{Package:com.android.settings NS:global Key:device_name Old:Redmi Note 8 New:canary-phone}")

	// Wi-Fi: an open network in range joins on a tap; Forget leaves it.
	p.Key(hui.KeyBack)
	p.Tap("text=Wi-Fi")
	p.Tap("text=Canary AP")
	p.See("text=Canary AP")
	p.Expect("event.WifiDisconnected{SSID:AndroidWifi}", "event.WifiConnected{SSID:Canary AP Reconnect:false}")
	p.Tap("text=Canary AP")
	p.Tap("text=Forget")
	if got := p.Take(); len(got) == 0 || got[0] != "event.WifiDisconnected{SSID:Canary AP}" {
		t.Errorf("after Forget: %q", got)
	}

	// Additional settings is below the first screen.
	p.Key(hui.KeyBack)
	p.Scroll(true, "text=Additional settings")
	p.Tap("text=Additional settings")
	p.Tap("text=Developer options")
	p.See("text=Install via USB")
	p.AgreeWithElementTree("text=USB debugging (Security settings)", "text=Install via USB")
	p.Tap("text=Install via USB")
	if got := strings.TrimSpace(p.Shell("getprop persist.security.adbinstall")); got != "0" {
		t.Errorf("Install via USB after turning it off: %q", got)
	}
	// Turning "USB debugging (Security settings)" off takes input away
	// from the shell, as on a real phone.
	p.Tap("text=USB debugging (Security settings)")
	if r, err := p.Dev.Shell(p.Ctx, "input keyevent KEYCODE_BACK"); err != nil || !strings.Contains(string(r.Stderr)+string(r.Stdout), "INJECT_EVENTS") {
		t.Errorf("input after the toggle went off: %v %+v", err, r)
	}
}

// TestSecurityWarningOnThePhone turns "USB debugging (Security settings)"
// on through Security's three timed steps, tapping as root (su -c input),
// which the toggle does not gate.
func TestSecurityWarningOnThePhone(t *testing.T) {
	fake := clock.NewFake(time.Date(2020, 5, 4, 12, 0, 0, 0, time.UTC))
	p := apptest.StartPhone(t, sim.Config{Model: "redmi-note-8", Firmware: "V12.0.2.0", Clock: fake})
	p.Shell("su -c setprop persist.security.adbinput 0")
	rootTap := func(sel string) {
		t.Helper()
		n := p.See(sel)
		c := n.Bounds.Center()
		if out := p.Shell(fmt.Sprintf("su -c input tap %d %d", c.X, c.Y)); out != "" {
			t.Fatalf("su -c input tap: %q", out)
		}
	}
	if out := p.Shell("su -c am start -W -n " + settingsMain); !strings.Contains(out, "Status: ok") {
		t.Fatal(out)
	}
	for range 5 {
		if p.Visible("text=Additional settings") {
			break
		}
		p.Shell("su -c input swipe 540 2000 540 800 300")
	}
	rootTap("text=Additional settings")
	rootTap("text=Developer options")
	rootTap("text=USB debugging (Security settings)")
	for i, button := range []string{"Next step", "Next step", "Accept"} {
		p.See(fmt.Sprintf("id=com.miui.securitycenter:id/accept,text=%s (5),enabled=false", button))
		fake.Advance(5 * time.Second)
		done := map[string]string{"Next step": "Next", "Accept": "Accept"}[button]
		rootTap(fmt.Sprintf("id=accept,text=%s,enabled=true", done))
		if i == 0 {
			p.See(`text="Developers can use special software to imitate gestures, change settings, and grant permissions via USB."`)
		}
	}
	p.See("text=USB debugging (Security settings)")
	if got := strings.TrimSpace(p.Shell("getprop persist.security.adbinput")); got != "1" {
		t.Fatalf("the toggle after the warning: %q", got)
	}
	// Input works again for the shell.
	p.Key(hui.KeyBack)
}

func TestSettingsInPortuguese(t *testing.T) {
	p := apptest.StartPhone(t, sim.Config{Model: "redmi-note-8", Firmware: "V12.5.1.0"})
	p.Shell("su -c setprop persist.sys.locale pt-BR")
	p.Start(settingsMain)
	p.See("text=Configurações")
	p.Tap("text=Sobre o telefone")
	p.Tap("text=Nome do dispositivo")
	p.See("text=Renomear dispositivo")
	// A flow written for both languages picks the button by its id.
	p.Tap("id=android:id/button1,desc=Cancel", "id=android:id/button1,desc=Cancelar")
	p.See("desc=Voltar")
}

// TestMIUITogglesGoThroughTheSecurityService: the Settings app switches
// MIUI's two toggles through the security service, never by writing their
// properties itself; a build without MIUI (the emulator) has no such
// toggles, so the service refuses and the property stays unset.
func TestMIUITogglesGoThroughTheSecurityService(t *testing.T) {
	p := apptest.StartPhone(t, sim.Config{Model: "aosp-emulator"})
	p.Start(settingsMain)
	p.Scroll(true, "text=Additional settings")
	p.Tap("text=Additional settings")
	p.Tap("text=Developer options")
	p.Tap("text=Install via USB")
	p.See("text=" + securitysvc.ErrNoToggle.Error())
	if got := strings.TrimSpace(p.Shell("getprop persist.security.adbinstall")); got != "" {
		t.Errorf("persist.security.adbinstall = %q on a build without MIUI", got)
	}
}
