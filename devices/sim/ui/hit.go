package ui

// HitTest finds the view a tap at (x, y) lands on. roots are the windows'
// trees, topmost first: the first window whose root covers the point takes
// the touch, as the input dispatcher gives it to the topmost touchable
// window, and within it the deepest clickable view under the point wins,
// later siblings (drawn on top) before earlier ones, as ViewGroup
// dispatches touches. nil: the touch landed on nothing that reacts.
func HitTest(roots []*Node, x, y int) *Node {
	for _, r := range roots {
		if r == nil || !r.Bounds.Contains(x, y) {
			continue
		}
		return deepestClickable(r, x, y)
	}
	return nil
}

func deepestClickable(n *Node, x, y int) *Node {
	if !n.Bounds.Contains(x, y) {
		return nil
	}
	for i := len(n.Children) - 1; i >= 0; i-- {
		if hit := deepestClickable(n.Children[i], x, y); hit != nil {
			return hit
		}
	}
	if n.Clickable && !n.Disabled {
		return n
	}
	return nil
}
