// Package generic is the app any installed package without a module of its
// own runs: each activity is an empty window under an action bar with the
// app's label, as a code-less APK whose activity is the framework's
// android.app.Activity looks with the default theme (modeled on AOSP's
// DecorView: android:id/action_bar_container, android:id/content).
package generic

import (
	"telltale.dev/devices/sim/app"
	"telltale.dev/devices/sim/content"
	"telltale.dev/devices/sim/ui"
)

// App is a package's generic code.
type App struct{ m content.Manifest }

// New returns the generic code of m's package.
func New(m content.Manifest) *App { return &App{m: m} }

// NewActivity implements app.App.
func (a *App) NewActivity(string) app.Activity { return activity{a} }

type activity struct{ a *App }

func (activity) OnIntent(content.Intent) {}
func (activity) Key(int) bool            { return false }

// actionBarHeight is 56dp at 440 dpi (modeled).
const actionBarHeight = 154

func (v activity) Screen(b ui.Rect) *ui.Node {
	pkg, label := v.a.m.Package, v.a.m.Label
	if label == "" {
		label = pkg
	}
	bar := ui.R(b.Left, b.Top, b.Right, b.Top+actionBarHeight)
	node := func(class, id string, r ui.Rect, children ...*ui.Node) *ui.Node {
		return &ui.Node{Class: class, ResourceID: id, Package: pkg, Bounds: r, Children: children}
	}
	title := node("android.widget.TextView", "", ui.R(bar.Left+48, bar.Top, bar.Right-48, bar.Bottom))
	title.Text = label
	return node("android.widget.FrameLayout", "", b,
		node("android.widget.LinearLayout", "", b,
			node("android.widget.FrameLayout", "android:id/action_bar_container", bar,
				node("android.view.ViewGroup", "android:id/action_bar", bar, title)),
			node("android.widget.FrameLayout", "android:id/content", ui.R(b.Left, bar.Bottom, b.Right, b.Bottom))))
}
