// Package widget builds the views the simulated apps' screens are made of,
// nested as the platform's and MIUI's layouts nest them: the decor of an
// activity window, MIUI action bars, preference rows with titles,
// summaries, switches and seek bars, text fields, scrolling lists, dialogs
// and popup menus. It holds the little state views keep between frames (a
// list's scroll, a field's text); apps keep the rest.
//
// Layouts are measured in dp and converted for the screen they fill, so a
// screen keeps its shape on any display size.
package widget

import (
	"strings"

	"telltale.dev/devices/sim/ui"
)

// Key codes the widgets react to (android.view.KeyEvent).
const (
	KeyBack  = 4
	KeyEnter = 66
	KeyDel   = 67
)

// Kit builds the views of one package for one screen.
type Kit struct {
	Pkg    string
	Screen ui.Rect
}

// For returns a kit for pkg's windows on screen.
func For(pkg string, screen ui.Rect) Kit { return Kit{Pkg: pkg, Screen: screen} }

// Dp converts density-independent pixels to this screen's pixels (ui.Dp).
func (k Kit) Dp(v int) int { return ui.Dp(k.Screen, v) }

// StatusBar is the height of the status bar the apps' windows draw under
// (24 dp on Android 10's phones; MIUI's notch-era bar is taller: modeled).
func (k Kit) StatusBar() int { return k.Dp(29) }

// ID is the full resource id of one of the package's own ids: "url" ->
// "com.mi.globalbrowser:id/url". Ids that start with a package or "android:"
// are returned as they are.
func (k Kit) ID(name string) string {
	if name == "" || strings.Contains(name, ":") {
		return name
	}
	return k.Pkg + ":id/" + name
}

// View is a view of class with an id (see ID) over r.
func (k Kit) View(class, id string, r ui.Rect, children ...*ui.Node) *ui.Node {
	return &ui.Node{Class: class, ResourceID: k.ID(id), Package: k.Pkg, Bounds: r, Children: children}
}

// Frame is a FrameLayout.
func (k Kit) Frame(id string, r ui.Rect, children ...*ui.Node) *ui.Node {
	return k.View("android.widget.FrameLayout", id, r, children...)
}

// Linear is a LinearLayout.
func (k Kit) Linear(id string, r ui.Rect, children ...*ui.Node) *ui.Node {
	return k.View("android.widget.LinearLayout", id, r, children...)
}

// Label is a TextView showing text.
func (k Kit) Label(id, text string, r ui.Rect) *ui.Node {
	n := k.View("android.widget.TextView", id, r)
	n.Text = text
	return n
}

// Button is a Button with text; desc is its content description, often "".
func (k Kit) Button(id, text, desc string, r ui.Rect, onClick func()) *ui.Node {
	n := k.View("android.widget.Button", id, r)
	n.Text, n.ContentDesc = text, desc
	clickable(n, onClick)
	return n
}

// Icon is an ImageView known by its content description; clickable when
// onClick is set (toolbar and action-bar buttons).
func (k Kit) Icon(id, desc string, r ui.Rect, onClick func()) *ui.Node {
	n := k.View("android.widget.ImageView", id, r)
	n.ContentDesc = desc
	if onClick != nil {
		clickable(n, onClick)
	}
	return n
}

// Tappable makes n react to taps, focusable as clickable views are.
func Tappable(n *ui.Node, onClick func()) *ui.Node {
	clickable(n, onClick)
	return n
}

func clickable(n *ui.Node, onClick func()) {
	n.Clickable, n.Focusable, n.OnClick = true, true, onClick
}

// Decor wraps an activity's content the way PhoneWindow's DecorView does:
// a FrameLayout over a LinearLayout holding android:id/content, with the
// system bars' backgrounds last.
func (k Kit) Decor(content ...*ui.Node) *ui.Node {
	s := k.Screen
	return k.Frame("", s,
		k.Linear("", s, k.Frame("android:id/content", s, content...)),
		k.View("android.view.View", "android:id/statusBarBackground", ui.R(s.Left, s.Top, s.Right, s.Top+k.StatusBar())))
}

// Rows stacks views of the given heights down from top inside [left,right):
// build makes each one's view for its rect. It returns the views and the y
// below the last.
func Rows(left, top, right int, heights []int, build func(i int, r ui.Rect) *ui.Node) ([]*ui.Node, int) {
	out := make([]*ui.Node, 0, len(heights))
	y := top
	for i, h := range heights {
		out = append(out, build(i, ui.R(left, y, right, y+h)))
		y += h
	}
	return out, y
}
