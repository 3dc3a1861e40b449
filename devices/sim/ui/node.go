// Package ui is the simulated phone's view hierarchy: the nodes an app's
// screen is made of, carrying the attributes `uiautomator dump` prints and
// the handlers input reaches them by; the XML dump in the platform tool's
// format; hit testing for taps; and a PNG a person can read for screencap.
package ui

import "fmt"

// Rect is a box in screen pixels, right and bottom exclusive.
type Rect struct{ Left, Top, Right, Bottom int }

// R builds a Rect.
func R(left, top, right, bottom int) Rect { return Rect{left, top, right, bottom} }

func (r Rect) Width() int  { return r.Right - r.Left }
func (r Rect) Height() int { return r.Bottom - r.Top }
func (r Rect) Empty() bool { return r.Right <= r.Left || r.Bottom <= r.Top }

// Contains says whether the pixel (x, y) is inside r.
func (r Rect) Contains(x, y int) bool {
	return x >= r.Left && x < r.Right && y >= r.Top && y < r.Bottom
}

// Dp converts density-independent pixels to pixels of screen. Phones are
// about 393 dp wide whatever their pixels (1080 px at 440 dpi on the
// Redmi Note 8): modeled, the profiles carry no density.
func Dp(screen Rect, v int) int { return v * screen.Width() / 393 }

// Point is one pixel of the screen.
type Point struct{ X, Y int }

// Center is where a driver taps: the middle of the bounds.
func (r Rect) Center() (x, y int) { return (r.Left + r.Right) / 2, (r.Top + r.Bottom) / 2 }

// Intersect is the part of r inside o; the zero Rect when they do not meet.
func (r Rect) Intersect(o Rect) Rect {
	x := Rect{max(r.Left, o.Left), max(r.Top, o.Top), min(r.Right, o.Right), min(r.Bottom, o.Bottom)}
	if x.Empty() {
		return Rect{}
	}
	return x
}

// String is Rect.toShortString, the form of the bounds attribute: "[0,0][1080,2340]".
func (r Rect) String() string {
	return fmt.Sprintf("[%d,%d][%d,%d]", r.Left, r.Top, r.Right, r.Bottom)
}

// Node is one view. The exported attributes are what AccessibilityNodeInfo
// reports and `uiautomator dump` prints; the handlers are how injected input
// reaches the app and are never dumped.
type Node struct {
	Text, ResourceID, Class, Package, ContentDesc, Hint string

	Checkable, Checked, Clickable, Focusable, Focused bool
	Scrollable, LongClickable, Password, Selected     bool
	// Disabled is the inverse of the enabled attribute, so that a zero Node
	// is enabled as most views are.
	Disabled bool

	Bounds   Rect
	Children []*Node

	// Range is a SeekBar's or ProgressBar's AccessibilityNodeInfo.RangeInfo.
	// `uiautomator dump` does not print it; the screenshot draws it.
	Range *Range

	// OnClick runs when a tap lands on the node.
	OnClick func()
	// OnDrag follows a finger that went down on the node and moved from
	// one point to another (a tap is a drag that ends where it began): a
	// SeekBar sets its progress, a scrollable list scrolls.
	OnDrag func(from, to Point)
	// OnOutside, on a window's root, makes the window modal: a touch
	// outside its bounds runs OnOutside instead of reaching the windows
	// below, as a Dialog that cancels on touch outside and a focusable
	// PopupWindow do.
	OnOutside func()
	// OnText receives `input text` while the node has focus.
	OnText func(text string)
	// OnEditorAction runs on KEYCODE_ENTER while the node has focus.
	OnEditorAction func()
}

// Range is a value in [Min, Max] (AccessibilityNodeInfo.RangeInfo).
type Range struct{ Min, Max, Current int }

// Walk calls fn on n and its descendants, depth first in child order,
// until fn returns false.
func (n *Node) Walk(fn func(*Node) bool) bool {
	if !fn(n) {
		return false
	}
	for _, c := range n.Children {
		if !c.Walk(fn) {
			return false
		}
	}
	return true
}

// Focus is the focused node of the tree, nil when none has focus.
func (n *Node) Focus() *Node {
	var found *Node
	n.Walk(func(c *Node) bool {
		if c.Focused {
			found = c
			return false
		}
		return true
	})
	return found
}

// Window is one surface on the screen. The window manager stacks windows by
// Layer; an app's window shows its resumed activity.
type Window struct {
	Package string
	// Title is what dumpsys window prints: the activity's component
	// ("com.miui.home/com.miui.home.launcher.Launcher").
	Title string
	// Layer orders windows: higher is nearer the user.
	Layer int
	// Content builds the window's view tree to fill bounds, on demand, from
	// the app's current state.
	Content func(bounds Rect) *Node
	// Key offers the window a key press; false leaves it to the system.
	Key func(code int) bool
}
