package app_test

import (
	"fmt"
	"testing"

	"telltale.dev/devices/sim/app"
	"telltale.dev/devices/sim/clock"
	"telltale.dev/devices/sim/content"
	"telltale.dev/devices/sim/system/activity"
	"telltale.dev/devices/sim/system/logd"
	"telltale.dev/devices/sim/ui"
	"telltale.dev/devices/sim/vfs"
)

// journal records what the host does to the apps' code.
type journal []string

type fakeApp struct {
	pkg string
	j   *journal
}

func (a fakeApp) NewActivity(class string) app.Activity {
	*a.j = append(*a.j, "create "+class)
	return &fakeActivity{name: class, j: a.j}
}

type fakeActivity struct {
	name string
	j    *journal
}

func (f *fakeActivity) OnIntent(in content.Intent) { *f.j = append(*f.j, "intent "+f.name+" "+in.Data) }
func (f *fakeActivity) Screen(b ui.Rect) *ui.Node  { return &ui.Node{Text: f.name, Bounds: b} }
func (f *fakeActivity) Key(int) bool               { return false }
func (f *fakeActivity) OnResume()                  { *f.j = append(*f.j, "resume "+f.name) }
func (f *fakeActivity) OnPause()                   { *f.j = append(*f.j, "pause "+f.name) }

type installed map[string]uint32

func (i installed) Launchables() []content.Launchable { return nil }
func (i installed) Installed(pkg string) (content.Manifest, uint32, bool) {
	uid, ok := i[pkg]
	return content.Manifest{Package: pkg}, uid, ok
}

func rec(token int, pkg, class string, seq uint64) activity.Record {
	return activity.Record{Token: token, Component: content.ComponentName{Package: pkg, Class: class}, Seq: seq}
}

func TestHostRunsActivities(t *testing.T) {
	var j journal
	var envs []app.Env
	factory := func(m content.Manifest, env app.Env) app.App {
		j = append(j, fmt.Sprintf("start %s uid %d", env.Package, env.UID))
		envs = append(envs, env)
		return fakeApp{pkg: m.Package, j: &j}
	}
	h := app.NewHost(factory, app.Env{Packages: installed{"a": 10001, "b": 10002}}, logd.New(clock.Real()))
	in := func(d string) *content.Intent { return &content.Intent{Data: d} }
	h.Resume(rec(1, "a", "a.Main", 1), in("x"))
	h.Resume(rec(2, "a", "a.Detail", 2), in("y"))
	h.Resume(rec(3, "b", "b.Main", 3), in("z"))
	// A resume older than the last one seen delivers its intent only.
	h.Resume(rec(1, "a", "a.Main", 2), in("late"))
	want := journal{
		"start a uid 10001", "create a.Main", "intent a.Main x", "resume a.Main",
		"create a.Detail", "pause a.Main", "intent a.Detail y", "resume a.Detail",
		"start b uid 10002", "create b.Main", "pause a.Detail", "intent b.Main z", "resume b.Main",
		"intent a.Main late",
	}
	if fmt.Sprint(j) != fmt.Sprint(want) {
		t.Fatalf("journal\n got %q\nwant %q", j, want)
	}
	if ws := h.Windows(); len(ws) != 1 || ws[0].Title != "b/b.Main" || ws[0].Package != "b" || ws[0].Content(ui.R(0, 0, 1, 1)).Text != "b.Main" {
		t.Fatalf("windows %+v", ws)
	}
	// Finishing b's only activity kills its process: it starts afresh.
	h.Destroy([]int{3})
	if len(h.Windows()) != 0 {
		t.Error("a destroyed activity still has a window")
	}
	j = nil
	h.Resume(rec(4, "b", "b.Main", 5), nil)
	h.Resume(rec(2, "a", "a.Detail", 6), nil)
	want = journal{"start b uid 10002", "create b.Main", "resume b.Main", "pause b.Main", "resume a.Detail"}
	if fmt.Sprint(j) != fmt.Sprint(want) {
		t.Fatalf("after destroy\n got %q\nwant %q", j, want)
	}
	// An app gone between resolution and start is not started.
	h.Resume(rec(5, "gone", "g.Main", 7), in("x"))
	if ws := h.Windows(); len(ws) != 1 || ws[0].Package != "a" {
		t.Errorf("a missing package took the screen: %+v", ws)
	}
}

// dialogActivity shows a list under a dialog with a button.
type dialogActivity struct {
	fakeActivity
	open    bool
	scrolls int
}

func (d *dialogActivity) Screen(b ui.Rect) *ui.Node {
	return &ui.Node{Bounds: b, Children: []*ui.Node{{Scrollable: true, Bounds: b,
		OnDrag: func(from, to ui.Point) { d.scrolls++ }}}}
}

func (d *dialogActivity) Overlays() []*ui.Window {
	if !d.open {
		return nil
	}
	return []*ui.Window{{Content: func(b ui.Rect) *ui.Node {
		return &ui.Node{Bounds: ui.R(0, 500, 400, 800), Children: []*ui.Node{
			{Text: "OK", Clickable: true, Bounds: ui.R(0, 700, 400, 800), OnClick: func() { d.open = false }},
		}}
	}}}
}

type dialogApp struct{ act *dialogActivity }

func (a dialogApp) NewActivity(string) app.Activity { return a.act }

func TestHostStacksDialogsAndTakesSwipes(t *testing.T) {
	act := &dialogActivity{fakeActivity: fakeActivity{name: "a.Main", j: &journal{}}, open: true}
	h := app.NewHost(func(content.Manifest, app.Env) app.App { return dialogApp{act} },
		app.Env{Packages: installed{"a": 10001}}, logd.New(clock.Real()))
	h.Resume(rec(1, "a", "a.Main", 1), nil)
	ws := h.Windows()
	if len(ws) != 2 || ws[1].Title != "a/a.Main" || ws[1].Package != "a" || ws[1].Layer <= ws[0].Layer {
		t.Fatalf("windows %+v", ws)
	}
	screen := ui.R(0, 0, 400, 800)
	// The dialog is modal in effect: a swipe on the list under it is taken
	// by the dialog's window, which does not scroll.
	if h.Swipe(200, 600, 200, 550, screen) || act.scrolls != 0 {
		t.Error("a swipe on the dialog scrolled the list below")
	}
	if !h.Swipe(200, 750, 202, 751, screen) || act.open {
		t.Error("a short swipe on OK was not a tap")
	}
	if len(h.Windows()) != 1 {
		t.Error("the dialog's window stayed")
	}
	if !h.Swipe(200, 600, 200, 100, screen) || act.scrolls != 1 {
		t.Error("the list did not scroll once the dialog was gone")
	}
}

func TestPrefsLiveInTheAppsData(t *testing.T) {
	fs := vfs.New()
	env := app.Env{Package: "com.example", UID: 10077, Files: fs}
	p := env.DefaultPrefs()
	if !p.Bool("on", true) || p.String("name", "x") != "x" {
		t.Error("defaults of a missing file")
	}
	if err := p.SetBool("on", false); err != nil {
		t.Fatal(err)
	}
	if err := env.DefaultPrefs().SetString("name", `a<b&"c"`); err != nil {
		t.Fatal(err)
	}
	b, err := fs.ReadFile("/data/data/com.example/shared_prefs/com.example_preferences.xml")
	want := "<?xml version='1.0' encoding='utf-8' standalone='yes' ?>\n<map>\n" +
		"    <boolean name=\"on\" value=\"false\" />\n    <string name=\"name\">a&lt;b&amp;&#34;c&#34;</string>\n</map>\n"
	if err != nil || string(b) != want {
		t.Fatalf("file %q %v\nwant %q", b, err, want)
	}
	if p.Bool("on", true) || p.String("name", "") != `a<b&"c"` {
		t.Error("values read back differ")
	}
	for _, d := range []string{"/data/data/com.example", "/data/data/com.example/shared_prefs"} {
		if info, err := fs.StatInfo(d); err != nil || info.UID != 10077 {
			t.Errorf("%s: %+v %v", d, info, err)
		}
	}
	// Damaged preferences read as defaults, and the next write replaces them.
	if err := fs.WriteFile("/data/data/com.example/shared_prefs/com.example_preferences.xml", []byte("garbage"), 0o660, 10077, false); err != nil {
		t.Fatal(err)
	}
	if !p.Bool("on", true) {
		t.Error("a damaged file did not read as defaults")
	}
	if err := p.SetBool("on", false); err != nil || p.Bool("on", true) {
		t.Errorf("a damaged file was not replaced: %v", err)
	}
}
