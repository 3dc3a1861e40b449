package settings_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"telltale.dev/devices/sim/app"
	"telltale.dev/devices/sim/apps/internal/apptest"
	"telltale.dev/devices/sim/apps/settings"
	"telltale.dev/devices/sim/clock"
	"telltale.dev/devices/sim/ui"
	"telltale.dev/devices/sim/ui/widget"
)

// The Settings app runs as the system (sharedUserId android.uid.system).
const uid = 1000

// wifi is a Wi-Fi service with networks in range.
type wifi struct {
	on      bool
	inRange []app.AccessPoint
	saved   []string
	joined  string
	calls   []string
}

func (w *wifi) Enabled() bool      { return w.on }
func (w *wifi) SetEnabled(on bool) { w.on = on; w.calls = append(w.calls, fmt.Sprint("enable ", on)) }
func (w *wifi) Network() (bool, string) {
	return w.on && w.joined != "", w.joined
}
func (w *wifi) Scan() []app.AccessPoint { return w.inRange }
func (w *wifi) Saved(ssid string) bool  { return slices.Contains(w.saved, ssid) }
func (w *wifi) Connect(ssid, pass string) error {
	w.calls = append(w.calls, "connect "+ssid+" "+pass)
	w.saved, w.joined = append(w.saved, ssid), ssid
	return nil
}
func (w *wifi) Forget(ssid string) error {
	w.calls = append(w.calls, "forget "+ssid)
	w.saved = slices.DeleteFunc(w.saved, func(s string) bool { return s == ssid })
	if w.joined == ssid {
		w.joined = ""
	}
	return nil
}

// security holds the two MIUI toggles; install may be refused.
type security struct {
	input, install bool
	refuse         error
}

func (s *security) AdbInput() bool   { return s.input }
func (s *security) AdbInstall() bool { return s.install }
func (s *security) SetAdbInput(on bool) error {
	s.input = on
	return nil
}
func (s *security) SetAdbInstall(on bool) error {
	if on && s.refuse != nil {
		return s.refuse
	}
	s.install = on
	return nil
}

func open(t testing.TB, props apptest.Props) (apptest.Screen, apptest.Env, *wifi, *security) {
	env := apptest.NewEnv(t, "com.android.settings", uid)
	for k, v := range props {
		env.Props[k] = v
	}
	w := &wifi{on: true, joined: "AndroidWifi", saved: []string{"AndroidWifi"},
		inRange: []app.AccessPoint{{SSID: "AndroidWifi", Level: -50}, {SSID: "Canary Open", Level: -40}, {SSID: "Canary Lock", Secured: true, Level: -60}}}
	sec := &security{}
	env.Wifi, env.Security = w, sec
	for k, v := range map[string]string{"system:screen_brightness": "128", "system:screen_off_timeout": "60000", "global:device_name": "Redmi Note 8"} {
		ns, key, _ := strings.Cut(k, ":")
		_ = env.Settings.Put(ns, key, v, 0)
	}
	env.Settings.Writes = nil
	return apptest.Screen{T: t, Act: settings.New(env.Env).NewActivity("com.android.settings.Settings")}, env, w, sec
}

func expectWrites(t *testing.T, env apptest.Env, want ...string) {
	t.Helper()
	if fmt.Sprint(env.Settings.Writes) != fmt.Sprint(want) {
		t.Errorf("writes %q, want %q", env.Settings.Writes, want)
	}
	env.Settings.Writes = nil
}

func TestDisplayBrightnessAndSleep(t *testing.T) {
	s, env, _, _ := open(t, apptest.Props{"ro.build.version.incremental": "V12.0.2.0.QCOMIXM"})
	if s.Must(apptest.ID("miui:id/action_bar_title")).Text != "Settings" || s.Find(apptest.ID("miui:id/up")) != nil {
		t.Error("the root page has a title and no up arrow")
	}
	s.Tap(apptest.Text("Display"))
	bar := s.Must(apptest.Selector{Class: "android.widget.SeekBar"})
	if bar.Range == nil || bar.Range.Current != 128 || bar.Range.Max != 255 {
		t.Fatalf("slider %+v", bar.Range)
	}
	pad := ui.Dp(apptest.Display, 16)
	width := bar.Bounds.Width() - 2*pad
	s.TapAt(bar.Bounds.Left+pad+width/4, bar.Bounds.Top+bar.Bounds.Height()/2)
	expectWrites(t, env, fmt.Sprintf("system:screen_brightness=64 by %d", uid))
	y := bar.Bounds.Top + bar.Bounds.Height()/2
	s.Swipe(ui.Point{X: bar.Bounds.Left + pad, Y: y}, ui.Point{X: bar.Bounds.Right, Y: y + 10})
	expectWrites(t, env, fmt.Sprintf("system:screen_brightness=255 by %d", uid))
	want := []string{
		"event.SettingEdited{Package:com.android.settings NS:system Key:screen_brightness Old:128 New:64}",
		"event.SettingEdited{Package:com.android.settings NS:system Key:screen_brightness Old:64 New:255}",
	}
	if got := env.Events.Take(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("events %q", got)
	}

	if s.Must(apptest.Text("After 1 minute of inactivity")) == nil {
		t.Fatal("no Sleep summary")
	}
	s.Tap(apptest.Text("Sleep"))
	choices := 0
	s.Top().Walk(func(n *ui.Node) bool {
		if n.ResourceID == "android:id/text1" {
			choices++
		}
		return true
	})
	if choices != 7 || !s.Must(apptest.Text("1 minute")).Checked {
		t.Fatalf("%d choices:\n%s", choices, apptest.Outline(s.Top()))
	}
	s.Tap(apptest.Text("10 minutes"))
	expectWrites(t, env, fmt.Sprintf("system:screen_off_timeout=600000 by %d", uid))
	s.Must(apptest.Text("After 10 minutes of inactivity"))
	if !s.Key(widget.KeyBack) || s.Key(widget.KeyBack) {
		t.Error("BACK should leave Display, then the activity")
	}
}

func TestRenameThePhone(t *testing.T) {
	for _, c := range []struct{ miui, title string }{{"V12", "Rename phone"}, {"V125", "Rename device"}} {
		s, env, _, _ := open(t, apptest.Props{"ro.miui.ui.version.name": c.miui})
		s.Tap(apptest.Text("About phone"))
		s.Tap(apptest.Text("Device name"))
		if got := s.Must(apptest.ID("miui:id/action_bar_title")).Text; got != c.title {
			t.Errorf("%s: title %q", c.miui, got)
		}
		field := s.Must(apptest.ID("com.android.settings:id/device_name"))
		if !field.Focused || field.Text != "Redmi Note 8" {
			t.Fatalf("field %+v", field)
		}
		for range "Note 8" {
			s.Key(widget.KeyDel)
		}
		s.Type("canary")
		if ok := s.Must(apptest.ID("android:id/button2")); ok.ContentDesc != "OK" || ok.Text != "" {
			t.Errorf("OK button %+v", ok)
		}
		if cancel := s.Must(apptest.ID("android:id/button1")); cancel.ContentDesc != "Cancel" || cancel.Bounds.Left > 540 {
			t.Errorf("Cancel button %+v", cancel)
		}
		s.Tap(apptest.Desc("OK"))
		expectWrites(t, env, fmt.Sprintf("global:device_name=Redmi canary by %d", uid))
		s.Must(apptest.Text("Redmi canary"))
	}
}

func TestWifiList(t *testing.T) {
	s, _, w, _ := open(t, nil)
	s.Tap(apptest.Text("Wi-Fi"))
	if s.Must(apptest.Text("Canary Open")).Bounds.Top > s.Must(apptest.Text("AndroidWifi")).Bounds.Top {
		t.Error("networks are not strongest first")
	}
	s.Tap(apptest.Text("Canary Open"))
	s.Tap(apptest.Text("Canary Lock"))
	s.Must(apptest.Selector{Text: "Password", Class: "android.widget.EditText"})
	s.Type("s3cret")
	if f := s.Top().Focus(); f.Text != "••••••" || !f.Password {
		t.Errorf("password field %+v", f)
	}
	s.Tap(apptest.Text("Connect"))
	s.Tap(apptest.Text("Canary Lock"))
	s.Tap(apptest.Text("Forget"))
	want := []string{"connect Canary Open ", "connect Canary Lock s3cret", "forget Canary Lock"}
	if fmt.Sprint(w.calls) != fmt.Sprint(want) {
		t.Errorf("calls %q", w.calls)
	}
}

func TestDeveloperOptions(t *testing.T) {
	s, env, _, sec := open(t, apptest.Props{"ro.build.version.incremental": "V12.0.2.0.QCOMIXM"})
	// Additional settings is below the screen: scroll the list to reach it.
	if s.Find(apptest.Text("Additional settings")) != nil {
		t.Fatal("the whole root list fits on the screen")
	}
	scrollTo(t, s, "Additional settings", true)
	s.Tap(apptest.Text("Additional settings"))
	if s.Find(apptest.Text("Developer options")) != nil {
		t.Fatal("Developer options show before they are enabled")
	}
	s.Key(widget.KeyBack)
	// The root list is where it was left.
	if s.Find(apptest.Text("About phone")) != nil {
		t.Fatal("the root list scrolled back by itself")
	}
	scrollTo(t, s, "About phone", false)
	s.Tap(apptest.Text("About phone"))
	for range 7 {
		s.Tap(apptest.Text("MIUI version"))
	}
	expectWrites(t, env, fmt.Sprintf("global:development_settings_enabled=1 by %d", uid))
	s.Key(widget.KeyBack)
	scrollTo(t, s, "Additional settings", true)
	s.Tap(apptest.Text("Additional settings"))
	s.Tap(apptest.Text("Developer options"))

	sec.refuse = errors.New("Sign in to your Mi Account first")
	s.Tap(apptest.Text("Install via USB"))
	s.Must(apptest.Text("Sign in to your Mi Account first"))
	s.Tap(apptest.ID("android:id/button1"))
	sec.refuse = nil
	s.Tap(apptest.Text("Install via USB"))
	if !sec.install {
		t.Error("Install via USB did not turn on")
	}
	s.Tap(apptest.Text("USB debugging (Security settings)"))
	if sec.input || len(env.Starts.Intents) != 1 || env.Starts.Intents[0].Component.Class != settings.AdbInputActivity ||
		env.Starts.Intents[0].Component.Package != "com.miui.securitycenter" {
		t.Fatalf("the toggle went on without the warning: %+v %v", env.Starts.Intents, sec.input)
	}
}

func TestSecurityWarningCountsDown(t *testing.T) {
	env := apptest.NewEnv(t, "com.miui.securitycenter", uid)
	fake := clock.NewFake(time.Unix(1_600_000_000, 0))
	sec := &security{}
	env.Clock, env.Security = fake, sec
	s := apptest.Screen{T: t, Act: settings.NewAdbInputApply(env.Env)}
	steps := []string{"This might lead to leaks", "Developers can use special software", "Allow now?"}
	for i, step := range steps {
		if !strings.HasPrefix(s.Must(apptest.ID("warning_info")).Text, step) {
			t.Fatalf("step %d: %q", i+1, s.Must(apptest.ID("warning_info")).Text)
		}
		counting, done := "Next step (5)", "Next"
		if i == 2 {
			counting, done = "Accept (5)", "Accept"
		}
		if b := s.Must(apptest.ID("accept")); b.Text != counting || !b.Disabled {
			t.Fatalf("step %d: button %q enabled=%v", i+1, b.Text, !b.Disabled)
		}
		fake.Advance(4 * time.Second)
		if b := s.Must(apptest.ID("accept")); b.Text != strings.Replace(counting, "5", "1", 1) || !b.Disabled {
			t.Fatalf("step %d after 4 s: %q", i+1, b.Text)
		}
		fake.Advance(time.Second)
		if b := s.Must(apptest.ID("accept")); b.Text != done || b.Disabled {
			t.Fatalf("step %d after 5 s: %q enabled=%v", i+1, b.Text, !b.Disabled)
		}
		if !s.Key(widget.KeyBack) {
			t.Fatal("BACK left the warning")
		}
		s.Tap(apptest.ID("accept"))
	}
	if !sec.input || env.Starts.Backs != 1 {
		t.Errorf("accepted: toggle %v, finished %d times", sec.input, env.Starts.Backs)
	}
}

func TestPortuguese(t *testing.T) {
	s, _, _, _ := open(t, apptest.Props{"persist.sys.locale": "pt-BR"})
	s.Must(apptest.Text("Configurações"))
	s.Tap(apptest.Text("Tela"))
	s.Must(apptest.Text("Nível de brilho"))
	s.Must(apptest.Text("Após 1 minuto de inatividade"))
	if s.Must(apptest.ID("miui:id/up")).ContentDesc != "Voltar" {
		t.Error("the up arrow is not described in Portuguese")
	}
}

// scrollTo swipes the page's list until text shows: down reveals what is
// below (the finger moves up).
func scrollTo(t *testing.T, s apptest.Screen, text string, down bool) {
	t.Helper()
	list := s.Must(apptest.ID("com.android.settings:id/recycler_view")).Bounds
	from, to := ui.Point{X: 540, Y: list.Bottom - 100}, ui.Point{X: 540, Y: list.Top + 100}
	if !down {
		from, to = to, from
	}
	for range 5 {
		if s.Find(apptest.Text(text)) != nil {
			return
		}
		s.Swipe(from, to)
	}
	s.Must(apptest.Text(text))
}
