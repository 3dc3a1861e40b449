package widget

import (
	"sync"

	"telltale.dev/devices/sim/ui"
)

// Scroll is how far a list is scrolled, in pixels from its top. The zero
// Scroll is at the top. It is safe for concurrent use: input moves it
// while screens are being built.
type Scroll struct {
	mu sync.Mutex
	y  int
}

// Offset is the current scroll.
func (s *Scroll) Offset() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.y
}

// Reset scrolls back to the top, as a list shown anew is.
func (s *Scroll) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.y = 0
}

// by scrolls by dy, kept within [0, limit].
func (s *Scroll) by(dy, limit int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.y = min(max(s.y+dy, 0), max(limit, 0))
}

// Item is one row of a list: its height and how to build it in a rect.
type Item struct {
	Height int
	Build  func(r ui.Rect) *ui.Node
}

// List lays items out from the top of view, moved up by the scroll, and
// keeps only those that show: a RecyclerView or ListView holds views for
// its visible rows only, which is why a driver scrolls to find the others.
// The list is scrollable only when its items are taller than the view; a
// vertical swipe on it then moves the content with the finger.
func (k Kit) List(class, id string, view ui.Rect, scroll *Scroll, items []Item) *ui.Node {
	total := 0
	for _, it := range items {
		total += it.Height
	}
	limit := total - view.Height()
	scroll.by(0, limit) // the content may have shrunk since the last scroll
	list := k.View(class, id, view)
	if limit > 0 {
		list.Scrollable, list.Focusable = true, true
		list.OnDrag = func(from, to ui.Point) { scroll.by(from.Y-to.Y, limit) }
	}
	y := view.Top - scroll.Offset()
	for _, it := range items {
		r := ui.R(view.Left, y, view.Right, y+it.Height)
		y += it.Height
		if r.Bottom <= view.Top || r.Top >= view.Bottom {
			continue
		}
		list.Children = append(list.Children, it.Build(r))
	}
	return list
}
