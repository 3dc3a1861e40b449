package launcher_test

import (
	"testing"

	"telltale.dev/devices/sim/app"
	"telltale.dev/devices/sim/apps/launcher"
	"telltale.dev/devices/sim/content"
	"telltale.dev/devices/sim/ui"
)

type pkgs []content.Launchable

func (p pkgs) Launchables() []content.Launchable               { return p }
func (pkgs) Installed(string) (content.Manifest, uint32, bool) { return content.Manifest{}, 0, false }

type starter struct{ got []content.Intent }

func (s *starter) Start(in content.Intent, _ uint32) (content.ComponentName, error) {
	s.got = append(s.got, in)
	return in.Component, nil
}

func (s *starter) Back() {}

var apps = pkgs{
	{Component: content.ComponentName{Package: "com.mi.globalbrowser", Class: "com.android.browser.BrowserActivity"}, Label: "Mi Browser"},
	{Component: content.ComponentName{Package: "com.android.settings", Class: "com.android.settings.Settings"}, Label: "Settings"},
	{Component: content.ComponentName{Package: "com.canary", Class: "android.app.Activity"}, Label: "Canary"},
	{Component: content.ComponentName{Package: "a", Class: "a.A"}, Label: "A"},
	{Component: content.ComponentName{Package: "b", Class: "b.B"}, Label: "B"},
}

func icons(root *ui.Node) []*ui.Node {
	var out []*ui.Node
	root.Walk(func(n *ui.Node) bool {
		if n.Clickable && n.OnClick != nil {
			out = append(out, n)
		}
		return true
	})
	return out
}

func TestMIUIHome(t *testing.T) {
	s := &starter{}
	l := launcher.New(content.Manifest{Package: "com.miui.home"}, app.Env{Package: "com.miui.home", UID: 10000, Activities: s, Packages: apps})
	home := l.NewActivity("com.miui.home.launcher.Launcher")
	root := home.Screen(ui.R(0, 0, 1080, 2340))
	got := icons(root)
	if len(got) != len(apps) {
		t.Fatalf("%d icons for %d apps", len(got), len(apps))
	}
	// Four to a row, in the layout of a real MIUI home.
	if got[0].Bounds != ui.R(33, 164, 287, 462) || got[4].Bounds.Top != 468 || got[4].Bounds.Left != 33 {
		t.Errorf("grid: %v %v", got[0].Bounds, got[4].Bounds)
	}
	canary := got[2]
	if canary.ContentDesc != "Canary" || canary.Class != "android.widget.RelativeLayout" || !canary.LongClickable {
		t.Errorf("icon %+v", canary)
	}
	var title *ui.Node
	canary.Walk(func(n *ui.Node) bool {
		if n.ResourceID == "com.miui.home:id/icon_title" {
			title = n
		}
		return true
	})
	if title == nil || title.Text != "Canary" {
		t.Fatalf("icon title %+v", title)
	}
	x, y := canary.Bounds.Center()
	if hit := ui.HitTest([]*ui.Node{root}, x, y); hit != canary {
		t.Fatalf("a tap on the icon's centre hit %+v", hit)
	}
	canary.OnClick()
	if len(s.got) != 1 || s.got[0].Component != apps[2].Component || s.got[0].Action != content.ActionMain ||
		!s.got[0].HasCategory(content.CategoryLauncher) {
		t.Errorf("started %+v", s.got)
	}
	if !home.Key(4) {
		t.Error("the home screen let BACK through")
	}
}

func TestOtherLaunchersShowLauncher3Icons(t *testing.T) {
	l := launcher.New(content.Manifest{Package: "com.google.android.apps.nexuslauncher"},
		app.Env{Activities: &starter{}, Packages: apps})
	got := icons(l.NewActivity("x").Screen(ui.R(0, 0, 1080, 2400)))
	if len(got) != len(apps) || got[1].Class != "android.widget.TextView" || got[1].Text != "Settings" || got[1].ContentDesc != "Settings" {
		t.Errorf("icons %+v", got)
	}
}
