package ui

// HitTest finds the view a tap at (x, y) lands on. roots are the windows'
// trees, topmost first: the first window whose root covers the point takes
// the touch, as the input dispatcher gives it to the topmost touchable
// window, and within it the deepest view under the point that reacts to
// touches wins, later siblings (drawn on top) before earlier ones, as
// ViewGroup dispatches touches; a view that only follows drags comes back
// with an OnClick that drags it to the point. A modal window (OnOutside) takes a touch
// outside its bounds too: the returned node then runs OnOutside when
// clicked. nil: the touch landed on nothing that reacts.
func HitTest(roots []*Node, x, y int) *Node {
	root, outside := window(roots, Point{x, y})
	switch {
	case root == nil:
		return nil
	case outside:
		return &Node{Class: root.Class, Package: root.Package, Clickable: true, Bounds: root.Bounds, OnClick: root.OnOutside}
	}
	p := Point{x, y}
	path := under(root, p)
	for i := len(path) - 1; i >= 0; i-- {
		n := path[i]
		switch {
		case n.Disabled:
		case n.Clickable:
			return n
		case n.OnDrag != nil:
			// A view that only follows drags (a SeekBar) takes a tap as a
			// drag to the point.
			tapped := *n
			tapped.OnClick = func() { n.OnDrag(p, p) }
			return &tapped
		}
	}
	return nil
}

// window is the root that takes a touch at p; outside when it takes it as
// a modal window the touch missed.
func window(roots []*Node, p Point) (root *Node, outside bool) {
	for _, r := range roots {
		switch {
		case r == nil:
		case r.Bounds.Contains(p.X, p.Y):
			return r, false
		case r.OnOutside != nil:
			return r, true
		}
	}
	return nil, false
}

// under is the chain of views under p from n down: each the last drawn of
// its parent's children that contains p.
func under(n *Node, p Point) []*Node {
	var path []*Node
	for n != nil && n.Bounds.Contains(p.X, p.Y) {
		path = append(path, n)
		var next *Node
		for i := len(n.Children) - 1; i >= 0; i-- {
			if n.Children[i].Bounds.Contains(p.X, p.Y) {
				next = n.Children[i]
				break
			}
		}
		n = next
	}
	return path
}

// Dispatch delivers a gesture of one finger from one point to another and
// returns the view that took it, nil when none did. A gesture that stays
// within slop pixels (TouchSlop) is a tap on the view HitTest finds. A longer, mostly vertical one is intercepted by
// the outermost scrollable view under the start that follows drags, as
// ScrollView and RecyclerView intercept once the finger passes the slop;
// any other goes to the deepest view under the start that follows drags.
// No fling is modeled: a list moves as far as the finger did.
func Dispatch(roots []*Node, from, to Point, slop int) *Node {
	if abs(to.X-from.X) <= slop && abs(to.Y-from.Y) <= slop {
		hit := HitTest(roots, from.X, from.Y)
		if hit != nil && hit.OnClick != nil {
			hit.OnClick()
		}
		return hit
	}
	root, outside := window(roots, from)
	if root == nil {
		return nil
	}
	if outside {
		root.OnOutside()
		return root
	}
	path := under(root, from)
	if abs(to.Y-from.Y) >= abs(to.X-from.X) {
		for _, n := range path {
			if n.Scrollable && n.OnDrag != nil && !n.Disabled {
				n.OnDrag(from, to)
				return n
			}
		}
	}
	for i := len(path) - 1; i >= 0; i-- {
		if n := path[i]; !n.Scrollable && n.OnDrag != nil && !n.Disabled {
			n.OnDrag(from, to)
			return n
		}
	}
	return nil
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

// TouchSlop is how far a finger may move and still tap: 8 dp
// (ViewConfiguration.TOUCH_SLOP).
func TouchSlop(screen Rect) int { return Dp(screen, 8) }
