package ui

import (
	"fmt"
	"strconv"
	"strings"
)

// Point is a position on the screen in the display's current (rotated)
// coordinates, the ones `uiautomator dump` writes and `input tap` takes.
type Point struct{ X, Y int }

// Rect is a node's bounds as "[x1,y1][x2,y2]" gives them: x1,y1 inclusive,
// x2,y2 exclusive. Dumps hold empty ones ([0,0][0,0] for views that are not
// laid out) and inverted ones (off-screen WebView nodes, x2 < x1 or y2 < y1);
// they are kept as written.
type Rect struct{ X1, Y1, X2, Y2 int }

// ParseBounds reads a bounds attribute; ok is false when it is not of the
// form "[x1,y1][x2,y2]".
func ParseBounds(s string) (r Rect, ok bool) {
	var nums [4]int
	rest := s
	for i := 0; i < 2; i++ {
		if !strings.HasPrefix(rest, "[") {
			return Rect{}, false
		}
		end := strings.IndexByte(rest, ']')
		if end < 0 {
			return Rect{}, false
		}
		x, y, found := strings.Cut(rest[1:end], ",")
		if !found {
			return Rect{}, false
		}
		var err1, err2 error
		nums[2*i], err1 = strconv.Atoi(x)
		nums[2*i+1], err2 = strconv.Atoi(y)
		if err1 != nil || err2 != nil {
			return Rect{}, false
		}
		rest = rest[end+1:]
	}
	if rest != "" {
		return Rect{}, false
	}
	return Rect{nums[0], nums[1], nums[2], nums[3]}, true
}

func (r Rect) String() string { return fmt.Sprintf("[%d,%d][%d,%d]", r.X1, r.Y1, r.X2, r.Y2) }

// Empty reports a rectangle with no area, inverted ones included.
func (r Rect) Empty() bool { return r.X2 <= r.X1 || r.Y2 <= r.Y1 }

// Center is the middle of the rectangle as written, rounded down (so the
// same for inverted bounds as for the others).
func (r Rect) Center() Point { return Point{floorHalf(r.X1 + r.X2), floorHalf(r.Y1 + r.Y2)} }

func floorHalf(n int) int {
	if n < 0 {
		return -((-n + 1) / 2)
	}
	return n / 2
}

// Intersect is the part of r inside s; empty when they do not overlap.
func (r Rect) Intersect(s Rect) Rect {
	out := Rect{max(r.X1, s.X1), max(r.Y1, s.Y1), min(r.X2, s.X2), min(r.Y2, s.Y2)}
	if out.Empty() {
		return Rect{}
	}
	return out
}

// union grows r to hold s; an empty r is replaced.
func (r Rect) union(s Rect) Rect {
	if r.Empty() {
		return s
	}
	return Rect{min(r.X1, s.X1), min(r.Y1, s.Y1), max(r.X2, s.X2), max(r.Y2, s.Y2)}
}

// Display is the screen area the dump covers, in its own rotation: the union
// of the window roots' bounds. A landscape dump gives a landscape rectangle.
func (sc *Screen) Display() Rect {
	var d Rect
	for _, n := range sc.Nodes {
		if n.Parent < 0 && n.BoundsOK && !n.Bounds.Empty() {
			d = d.union(n.Bounds)
		}
	}
	return d
}

// VisibleBounds is the part of the node's bounds on the display; empty when
// the node is not laid out, inverted, off-screen or marked invisible to the
// user (uiautomator2-style dumps write visible-to-user="false").
func (sc *Screen) VisibleBounds(n *Node) Rect {
	if !n.BoundsOK || n.Bounds.Empty() || n.get("visible-to-user") == "false" {
		return Rect{}
	}
	return n.Bounds.Intersect(sc.Display())
}

// Visible reports a node a person could see and touch.
func (sc *Screen) Visible(n *Node) bool { return !sc.VisibleBounds(n).Empty() }

// TapPoint is where a tap on the node lands: the centre of its visible part,
// so a row half under the navigation bar is touched where it shows.
func (sc *Screen) TapPoint(n *Node) (Point, bool) {
	v := sc.VisibleBounds(n)
	if v.Empty() {
		return Point{}, false
	}
	return v.Center(), true
}
