// Package searchbox is the search field the netstack-aware apps share: an
// EditText that takes focus on a tap, takes `input text` and DEL while
// focused, and on Enter shows "Results for QUERY" and hands the query to
// the app, which sends it in the background as its network code would.
// The field keeps its text after a search, as Android's SearchView does.
package searchbox

import (
	"sync"

	"telltale.dev/devices/sim/content"
	"telltale.dev/devices/sim/ui"
	"telltale.dev/devices/sim/ui/widget"
)

// Box is one search field's state; safe for concurrent use.
type Box struct {
	// Submit receives each non-empty query, in a goroutine of its own.
	Submit func(query string)

	mu      sync.Mutex
	text    widget.Text
	focused bool
	results string
}

// Field is the field's view: id is "" for toolkits without resource ids
// (Flutter).
func (b *Box) Field(k widget.Kit, id, hint string, r ui.Rect) *ui.Node {
	b.mu.Lock()
	defer b.mu.Unlock()
	return k.Field(widget.Field{ID: id, Hint: hint, Text: &b.text, Focused: b.focused,
		OnFocus: b.focus, OnText: b.typeText, OnEnter: b.enter}, r)
}

// Results is what the results line shows: idle before the first search.
func (b *Box) Results(idle string) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.results == "" {
		return idle
	}
	return b.results
}

// Key is the keys the focused field handles itself (DEL).
func (b *Box) Key(code int) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.focused && b.text.Key(code)
}

func (b *Box) focus() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.focused = true
}

func (b *Box) typeText(s string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.text.Type(s)
}

func (b *Box) enter() {
	b.mu.Lock()
	q := b.text.Value
	b.results = "Results for " + q
	b.mu.Unlock()
	if q != "" {
		go b.Submit(q)
	}
}

// Activity is a one-screen app's activity around a Box: the app draws the
// screen (Layout), the Box takes the keys its field handles; BACK and
// ENTER go to the system (ENTER comes back as the field's editor action).
type Activity struct {
	Box    *Box
	Layout func(b ui.Rect) *ui.Node
}

func (Activity) OnIntent(content.Intent)     {}
func (a Activity) Key(code int) bool         { return a.Box.Key(code) }
func (a Activity) Screen(b ui.Rect) *ui.Node { return a.Layout(b) }
