package browser_test

import (
	"fmt"
	"strings"
	"testing"

	"telltale.dev/devices/sim/apps/browser"
	"telltale.dev/devices/sim/apps/internal/apptest"
	"telltale.dev/devices/sim/content"
	"telltale.dev/devices/sim/ui/widget"
)

const miBrowser = "com.mi.globalbrowser"

func start(t *testing.T, pkg, version string) (*browser.Browser, apptest.Env) {
	env := apptest.NewEnv(t, pkg, 10042)
	b := browser.New(content.Manifest{Package: pkg, VersionName: version}, env.Env, browser.Options{SearchURL: "https://www.google.com/search?q=%s"})
	return b, env
}

func expect(t *testing.T, env apptest.Env, want ...string) {
	t.Helper()
	if got := env.Events.Take(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("events\n got %q\nwant %q", got, want)
	}
}

func view(url string, extras map[string]bool) content.Intent {
	return content.Intent{Action: content.ActionView, Data: url, BoolExtras: extras}
}

// browse types into the address bar, opened from the home page's search box
// or a page's address, and submits with Enter.
func browse(t *testing.T, s apptest.Screen, typed string) {
	t.Helper()
	if s.Find(apptest.ID("search_hint")) != nil {
		s.Tap(apptest.ID("search_hint"))
	} else {
		s.Tap(apptest.ID("url_bar"))
	}
	field := s.Must(apptest.ID(miBrowser + ":id/url"))
	if !field.Focused || field.Class != "android.widget.EditText" {
		t.Fatalf("the address field is not a focused EditText: %+v", field)
	}
	s.Type(typed)
	if !s.Key(widget.KeyEnter) {
		t.Fatal("Enter did nothing")
	}
}

func TestMiBrowserIncognitoAndTheSwitch(t *testing.T) {
	b, env := start(t, miBrowser, "12.1.4")
	s := apptest.Screen{T: t, Act: b.NewActivity(browser.MainActivity)}
	hint := s.Must(apptest.ID(miBrowser + ":id/search_hint"))
	if hint.Text != "Search or type web address" {
		t.Errorf("search box %+v", hint)
	}

	// An intent opens a regular tab: no extra asks for incognito.
	s.Act.OnIntent(view("https://canary.example/p", map[string]bool{"incognito": true}))
	expect(t, env, "event.PageLoaded{Package:com.mi.globalbrowser URL:https://canary.example/p Incognito:false Report:true}")
	browse(t, s, "blue canary")
	expect(t, env, "event.Searched{Package:com.mi.globalbrowser URL:https://www.google.com/search?q=blue+canary Query:blue canary Incognito:false Report:true}")

	// Menu > Incognito mode: an incognito tab on the home page.
	s.Tap(apptest.Desc("Menu"))
	item := s.Must(apptest.Text("Incognito mode"))
	if !item.Checkable || item.Checked {
		t.Errorf("menu item before: %+v", item)
	}
	s.Tap(apptest.Text("Incognito mode"))
	s.Must(apptest.Text("You've gone incognito"))
	browse(t, s, "canary.example/x")
	expect(t, env, "event.PageLoaded{Package:com.mi.globalbrowser URL:http://canary.example/x Incognito:true Report:true}")
	s.Must(apptest.Text("You're incognito!"))

	// The settings page holds the switch, on by default; turning it off
	// keeps incognito pages out of the statistics from then on.
	s.Tap(apptest.Desc("Menu"))
	s.Tap(apptest.Text("Settings"))
	if len(env.Starts.Intents) != 1 || env.Starts.Intents[0].Component.Class != browser.SettingsActivity {
		t.Fatalf("Settings started %+v", env.Starts.Intents)
	}
	set := apptest.Screen{T: t, Act: b.NewActivity(browser.SettingsActivity)}
	set.Tap(apptest.Text("Privacy & security"))
	sw := set.Must(apptest.ID("android:id/checkbox"))
	if !sw.Checked {
		t.Fatal("Enhanced incognito mode is off by default")
	}
	set.Tap(apptest.Text("Enhanced incognito mode"))
	if set.Must(apptest.ID("android:id/checkbox")).Checked {
		t.Fatal("the switch did not turn off")
	}
	prefs, err := env.Files.ReadFile("/data/data/com.mi.globalbrowser/shared_prefs/com.mi.globalbrowser_preferences.xml")
	if err != nil || !strings.Contains(string(prefs), `<boolean name="enhanced_incognito_mode" value="false" />`) {
		t.Errorf("shared prefs: %q %v", prefs, err)
	}
	if info, err := env.Files.StatInfo("/data/data/com.mi.globalbrowser/shared_prefs"); err != nil || info.UID != 10042 {
		t.Errorf("prefs directory owner: %+v %v", info, err)
	}
	if !set.Key(widget.KeyBack) || set.Key(widget.KeyBack) {
		t.Error("BACK should leave Privacy & security, then the activity")
	}

	browse(t, s, "https://canary.example/y")
	expect(t, env, "event.PageLoaded{Package:com.mi.globalbrowser URL:https://canary.example/y Incognito:true Report:false}")

	// The tab switcher: Close all, confirmed, closes the incognito tabs.
	s.Tap(apptest.Desc("Tabs"))
	if n := s.Must(apptest.Text("Incognito tab")); !n.Selected {
		t.Errorf("incognito kind not selected: %+v", n)
	}
	s.Tap(apptest.ID(miBrowser + ":id/nav_close_all"))
	s.Must(apptest.Text("Close all tabs currently open in browser?"))
	s.Tap(apptest.ID("android:id/button1"))
	s.Must(apptest.Text("You've gone incognito"))

	// Incognito mode off: back to the regular tabs; a regular page is
	// reported whatever the switch says.
	s.Tap(apptest.Desc("Menu"))
	s.Tap(apptest.Text("Incognito mode"))
	browse(t, s, "https://canary.example/z")
	expect(t, env, "event.PageLoaded{Package:com.mi.globalbrowser URL:https://canary.example/z Incognito:false Report:true}")
	if !s.Key(widget.KeyBack) {
		t.Error("BACK should go back in the tab")
	}
	expect(t, env, "event.Searched{Package:com.mi.globalbrowser URL:https://www.google.com/search?q=blue+canary Query:blue canary Incognito:false Report:true}")
}

func TestBrowsersBeforeTheSwitch(t *testing.T) {
	for _, c := range []struct{ pkg, version string }{{miBrowser, "12.1.0"}, {"com.mi.globalbrowser.mini", "3.4.0"}} {
		b, env := start(t, c.pkg, c.version)
		set := apptest.Screen{T: t, Act: b.NewActivity(browser.SettingsActivity)}
		set.Tap(apptest.Text("Privacy & security"))
		if set.Find(apptest.Text("Enhanced incognito mode")) != nil {
			t.Errorf("%s %s has the switch", c.pkg, c.version)
		}
		s := apptest.Screen{T: t, Act: b.NewActivity(browser.MainActivity)}
		s.Tap(apptest.Desc("Menu"))
		s.Tap(apptest.Text("Incognito mode"))
		s.Tap(apptest.ID("search_hint"))
		s.Type("x.example")
		s.Key(widget.KeyEnter)
		expect(t, env, fmt.Sprintf("event.PageLoaded{Package:%s URL:http://x.example Incognito:true Report:true}", c.pkg))
	}
}

func TestWhatTheAddressBarMakesOfText(t *testing.T) {
	cases := map[string]string{
		"https://a.example/p?q=1": "https://a.example/p?q=1",
		"a.example":               "http://a.example",
		"a.example:8080/x":        "http://a.example:8080/x",
		"canary phrase 42":        "https://www.google.com/search?q=canary+phrase+42",
		"localhost":               "https://www.google.com/search?q=localhost",
	}
	for typed, want := range cases {
		b, env := start(t, miBrowser, "12.1.4")
		s := apptest.Screen{T: t, Act: b.NewActivity(browser.MainActivity)}
		browse(t, s, typed)
		if got := env.Events.Take(); len(got) != 1 || !strings.Contains(got[0], "URL:"+want+" ") {
			t.Errorf("%q loaded %q, want %s", typed, got, want)
		}
	}
}

func TestChromeIncognitoThroughItsMenu(t *testing.T) {
	b, env := start(t, "com.android.chrome", "116.0.5845.114")
	s := apptest.Screen{T: t, Act: b.NewActivity(browser.ChromeMain)}
	s.Act.OnIntent(view("https://x.example/", map[string]bool{"com.google.android.apps.chrome.EXTRA_OPEN_NEW_INCOGNITO_TAB": true}))
	expect(t, env, "event.PageLoaded{Package:com.android.chrome URL:https://x.example/ Incognito:false Report:true}")
	s.Tap(apptest.Desc("More options"))
	s.Tap(apptest.Text("New Incognito tab"))
	s.Must(apptest.Text("You’ve gone Incognito"))
	s.Tap(apptest.ID("com.android.chrome:id/url_bar"))
	s.Type("canary words")
	s.Key(widget.KeyEnter)
	expect(t, env, "event.Searched{Package:com.android.chrome URL:https://www.google.com/search?q=canary+words Query:canary words Incognito:true Report:true}")
	if s.Must(apptest.ID("url_bar")).Text != "https://www.google.com/search?q=canary+words" {
		t.Error("the address bar does not show the page")
	}
}
