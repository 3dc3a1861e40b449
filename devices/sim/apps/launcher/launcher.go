// Package launcher is the home screen: a page of icons for every
// launchable app, a tap on one starting it as a launcher does
// (Intent.makeMainActivity: MAIN, LAUNCHER, the component). MIUI's home
// (com.miui.home) lays its icons out as a real MIUI home dump shows them
// (tkolya-dotcom/Korneo-2.0 smoke_manager_post_login.xml, a Xiaomi phone):
// a RelativeLayout per icon carrying the label as content-desc, with
// com.miui.home:id/icon_icon and com.miui.home:id/icon_title inside. Other
// launchers show Launcher3's single TextView per icon (text and content-desc
// the label), as the Pixel launcher does.
package launcher

import (
	"telltale.dev/devices/sim/app"
	"telltale.dev/devices/sim/content"
	"telltale.dev/devices/sim/ui"
)

const miuiHome = "com.miui.home"

// Key codes the home screen handles itself.
const keyBack = 4

// Launcher is a home app's code.
type Launcher struct {
	pkg string
	env app.Env
}

// New returns the home screen of m's package.
func New(m content.Manifest, env app.Env) *Launcher { return &Launcher{pkg: m.Package, env: env} }

// NewActivity implements app.App: every activity of a launcher is its home.
func (l *Launcher) NewActivity(string) app.Activity { return home{l} }

type home struct{ l *Launcher }

func (home) OnIntent(content.Intent) {}

// Key keeps BACK: the home screen has nowhere to go back to.
func (home) Key(code int) bool { return code == keyBack }

// The grid, in pixels of a 1080-wide screen (from the MIUI dump above);
// other widths scale.
const (
	columns    = 4
	gridLeft   = 33
	gridTop    = 164
	cellWidth  = 254
	cellHeight = 304
	statusBar  = 80
)

func (h home) Screen(b ui.Rect) *ui.Node {
	pkg := h.l.pkg
	scale := func(v int) int { return v * b.Width() / 1080 }
	node := func(class, id string, r ui.Rect, children ...*ui.Node) *ui.Node {
		return &ui.Node{Class: class, ResourceID: id, Package: pkg, Bounds: r, Children: children}
	}
	grid := node("android.view.ViewGroup", "", ui.R(b.Left, b.Top+scale(statusBar), b.Right, b.Bottom))
	for i, a := range h.l.env.Packages.Launchables() {
		x := b.Left + scale(gridLeft+cellWidth*(i%columns))
		y := b.Top + scale(gridTop+cellHeight*(i/columns))
		cell := ui.R(x, y, x+scale(cellWidth), y+scale(cellHeight-6))
		grid.Children = append(grid.Children, h.icon(a, cell, scale))
	}
	indicatorTop := b.Bottom - scale(193)
	dot := node("android.widget.ImageView", "", ui.R(b.Left+b.Width()/2-scale(18), indicatorTop+scale(9), b.Left+b.Width()/2+scale(19), indicatorTop+scale(46)))
	dot.ContentDesc, dot.Clickable, dot.Focusable, dot.Selected = "Screen 1", true, true, true
	workspaceClass := "android.widget.FrameLayout"
	if pkg == miuiHome {
		workspaceClass = "com.miui.home.launcher.ScreenView"
	}
	return node("android.widget.FrameLayout", "", b,
		node("android.widget.LinearLayout", "", b,
			node("android.widget.FrameLayout", "android:id/content", b,
				node("android.widget.FrameLayout", pkg+":id/drag_layer", b,
					node(workspaceClass, pkg+":id/workspace", b,
						grid,
						node("android.widget.FrameLayout", "", ui.R(b.Left, indicatorTop, b.Right, indicatorTop+scale(55)), dot))))))
}

// icon is one app's icon in cell; tapping it starts the app.
func (h home) icon(a content.Launchable, cell ui.Rect, scale func(int) int) *ui.Node {
	pkg := h.l.pkg
	open := func() {
		in := content.Intent{Action: content.ActionMain, Categories: []string{content.CategoryLauncher}, Component: a.Component}
		// A failed start is logged by the activity manager; a real
		// launcher shows a toast.
		_, _ = h.l.env.Activities.Start(in, h.l.env.UID)
	}
	if pkg != miuiHome {
		return &ui.Node{Class: "android.widget.TextView", Package: pkg, Text: a.Label, ContentDesc: a.Label,
			Clickable: true, Focusable: true, LongClickable: true, Bounds: cell, OnClick: open}
	}
	x, y := cell.Left, cell.Top
	iconBox := ui.R(x+scale(29), y, x+scale(224), y+scale(184))
	image := &ui.Node{Class: "android.widget.ImageView", ResourceID: pkg + ":id/icon_icon", Package: pkg, ContentDesc: a.Label,
		Bounds: ui.R(x+scale(40), y+scale(11), x+scale(213), y+scale(184))}
	title := &ui.Node{Class: "android.widget.TextView", ResourceID: pkg + ":id/icon_title", Package: pkg, Text: a.Label,
		Bounds: ui.R(cell.Left, y+scale(189), cell.Right, cell.Bottom)}
	return &ui.Node{Class: "android.widget.RelativeLayout", Package: pkg, ContentDesc: a.Label,
		Clickable: true, Focusable: true, LongClickable: true, Bounds: cell, OnClick: open,
		Children: []*ui.Node{
			{Class: "android.widget.FrameLayout", ResourceID: pkg + ":id/icon_container", Package: pkg, Bounds: iconBox,
				Children: []*ui.Node{{Class: "android.widget.FrameLayout", Package: pkg, Bounds: iconBox, Children: []*ui.Node{image}}}},
			{Class: "android.widget.FrameLayout", ResourceID: pkg + ":id/icon_title_container", Package: pkg,
				Bounds: ui.R(cell.Left, y+scale(184), cell.Right, cell.Bottom), Children: []*ui.Node{title}},
		}}
}
