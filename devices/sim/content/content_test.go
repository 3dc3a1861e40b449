package content_test

import (
	"testing"

	"telltale.dev/devices/sim/content"
)

func TestParseAmArgs(t *testing.T) {
	in, err := content.ParseAmArgs([]string{"-W", "-a", content.ActionView, "-d", "https://a.example/x?q=1",
		"-n", "com.mi.globalbrowser/com.android.browser.BrowserActivity", "--ez", "incognito", "true", "--es", "k", "v"})
	if err != nil {
		t.Fatal(err)
	}
	if in.Component.Package != "com.mi.globalbrowser" || in.Component.Class != "com.android.browser.BrowserActivity" ||
		in.Data != "https://a.example/x?q=1" || !in.BoolExtras["incognito"] || in.Extras["k"] != "v" || in.Scheme() != "https" {
		t.Fatalf("parsed %+v", in)
	}
	want := "Intent { act=android.intent.action.VIEW dat=https://a.example/x?q=1 cmp=com.mi.globalbrowser/com.android.browser.BrowserActivity (has extras) }"
	if in.String() != want {
		t.Errorf("String() = %q\nwant        %q", in.String(), want)
	}
	for _, bad := range [][]string{{"-a"}, {"--ez", "k", "maybe"}, {"--ei", "k", "x"}, {"-n", "nopackage"}} {
		if _, err := content.ParseAmArgs(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestComponentNames(t *testing.T) {
	c, err := content.ParseComponent("com.miui.home/.launcher.Launcher")
	if err != nil {
		t.Fatal(err)
	}
	if c.Class != "com.miui.home.launcher.Launcher" || c.ShortString() != "com.miui.home/.launcher.Launcher" ||
		c.String() != "com.miui.home/com.miui.home.launcher.Launcher" {
		t.Errorf("%+v %s %s", c, c.ShortString(), c)
	}
	other := content.ComponentName{Package: "com.mi.globalbrowser", Class: "com.android.browser.BrowserActivity"}
	if other.ShortString() != other.String() {
		t.Errorf("a class outside the package is shown whole: %s", other.ShortString())
	}
}

func TestFilters(t *testing.T) {
	m := content.Manifest{Package: "b", Activities: []content.ActivityInfo{
		{Name: "b.Settings"},
		{Name: "b.Main", Filters: []content.Filter{content.Launcher, content.Browsable}},
	}}
	if a, ok := m.LauncherActivity(); !ok || a.Name != "b.Main" {
		t.Errorf("launcher activity %+v %v", a, ok)
	}
	view := content.Intent{Action: content.ActionView, Data: "https://x/", Categories: []string{content.CategoryDefault}}
	if _, ok := m.Matching(view); !ok {
		t.Error("a browsable activity does not take a web page")
	}
	view.Data = "mailto:x@y"
	if _, ok := m.Matching(view); ok {
		t.Error("a browsable activity took a mailto: URI")
	}
	if _, ok := m.Matching(content.Intent{Action: content.ActionMain, Categories: []string{content.CategoryHome}}); ok {
		t.Error("an app without a home filter matched HOME")
	}
}
