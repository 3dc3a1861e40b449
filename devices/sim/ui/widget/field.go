package widget

import (
	"strings"
	"unicode/utf8"

	"telltale.dev/devices/sim/ui"
)

// Text is what an EditText holds as typing changes it. The cursor stays at
// the end (modeled: no app here moves it); Selected marks text that is
// selected as a whole, as a field prefilled with a suggestion is when it
// takes focus, so that typing replaces it. Text is not safe for concurrent
// use: the app that owns it guards it.
type Text struct {
	Value    string
	Selected bool
}

// Type inserts s at the cursor (replacing the selection).
func (t *Text) Type(s string) {
	if t.Selected {
		t.Value, t.Selected = "", false
	}
	t.Value += s
}

// Key edits the text for the keys an EditText handles itself and says
// whether it did: DEL deletes the selection or the character before the
// cursor.
func (t *Text) Key(code int) bool {
	if code != KeyDel {
		return false
	}
	switch {
	case t.Selected:
		t.Value, t.Selected = "", false
	case t.Value != "":
		_, size := utf8.DecodeLastRuneInString(t.Value)
		t.Value = t.Value[:len(t.Value)-size]
	}
	return true
}

// Field is an EditText showing t, or its hint when empty. A focused field
// receives `input text` (onText) and, on KEYCODE_ENTER, runs its editor
// action (onEnter, nil for none); tapping an unfocused one focuses it
// (onFocus).
type Field struct {
	ID, Hint string
	Text     *Text
	Focused  bool
	Password bool
	OnFocus  func()
	OnText   func(s string)
	OnEnter  func()
}

// Field builds f in r.
func (k Kit) Field(f Field, r ui.Rect) *ui.Node {
	n := k.View("android.widget.EditText", f.ID, r)
	n.Hint, n.Focused, n.Password = f.Hint, f.Focused, f.Password
	if f.Text != nil {
		n.Text = f.Text.Value
		if f.Password {
			// A password field shows, and reports, a bullet per character.
			n.Text = strings.Repeat("•", utf8.RuneCountInString(n.Text))
		}
	}
	// An empty EditText reports its hint as its text to accessibility
	// (TextView.getTextForAccessibility), so dumps show the hint there.
	if n.Text == "" {
		n.Text = f.Hint
	}
	n.Clickable, n.Focusable, n.LongClickable = true, true, true
	n.OnClick = f.OnFocus
	if f.Focused {
		n.OnText, n.OnEditorAction = f.OnText, f.OnEnter
	}
	return n
}
