package browser_test

import (
	"fmt"
	"testing"

	"telltale.dev/devices/sim/app"
	"telltale.dev/devices/sim/apps/browser"
	"telltale.dev/devices/sim/content"
	"telltale.dev/devices/sim/event"
	"telltale.dev/devices/sim/ui"
)

func TestPagesAndSearches(t *testing.T) {
	var bus event.Bus
	var got []string
	bus.Subscribe(func(ev event.Event) { got = append(got, fmt.Sprintf("%T%+v", ev, ev)) })
	b := browser.New(app.Env{Package: "com.mi.globalbrowser", Bus: &bus}, browser.Options{IncognitoExtra: "incognito"})
	tab := b.NewActivity("com.android.browser.BrowserActivity")
	view := func(data string, extras map[string]bool) content.Intent {
		return content.Intent{Action: content.ActionView, Data: data, BoolExtras: extras}
	}
	tab.OnIntent(view("https://canary.example/p", map[string]bool{"incognito": true}))
	tab.OnIntent(view("https://www.google.com/search?q=blue%20canary", map[string]bool{"other_incognito": true}))
	tab.OnIntent(content.Intent{Action: content.ActionMain})
	tab.OnIntent(view("mailto:x@y", nil))
	want := []string{
		"event.PageLoaded{Package:com.mi.globalbrowser URL:https://canary.example/p Incognito:true}",
		"event.Searched{Package:com.mi.globalbrowser URL:https://www.google.com/search?q=blue%20canary Query:blue canary Incognito:false}",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("events\n got %q\nwant %q", got, want)
	}
	var url *ui.Node
	tab.Screen(ui.R(0, 0, 1080, 2340)).Walk(func(n *ui.Node) bool {
		if n.ResourceID == "com.mi.globalbrowser:id/url" {
			url = n
		}
		return true
	})
	if url == nil || url.Text != "https://www.google.com/search?q=blue%20canary" || url.Hint != "Search or type web address" {
		t.Errorf("address bar %+v", url)
	}
	// Without a configured extra, any extra naming incognito counts.
	got = nil
	chrome := browser.New(app.Env{Package: "com.android.chrome", Bus: &bus}, browser.Options{}).NewActivity("m")
	chrome.OnIntent(view("https://x.example/", map[string]bool{"com.google.android.apps.chrome.EXTRA_OPEN_NEW_INCOGNITO_TAB": true}))
	if fmt.Sprint(got) != "[event.PageLoaded{Package:com.android.chrome URL:https://x.example/ Incognito:true}]" {
		t.Errorf("chrome: %q", got)
	}
}
