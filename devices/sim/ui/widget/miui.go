package widget

import "telltale.dev/devices/sim/ui"

// Page is a MIUI settings-style screen: an action bar with a large title
// (and the up arrow on all but an app's first screen) over a list of rows.
// The ids are MIUI's own: miui:id/action_bar_overlay_layout,
// action_bar_container, action_bar, action_bar_title and up (a real MIUI
// settings page, reference/ui-dumps/02; the rename page in
// reference/miui-ui.md section 3); the list is an androidx RecyclerView
// with the app's recycler_view id inside android:id/list_container, as in
// the same dump.
type Page struct {
	Title string
	// Up is the up arrow's action, nil on an app's first screen; UpDesc
	// its content description ("Back").
	Up     func()
	UpDesc string
	Rows   []Row
	Scroll *Scroll
}

// Row is one preference. Only Title is required; Header rows are category
// titles that do nothing.
type Row struct {
	Title, Summary string
	// Value is shown at the right end (a list preference's choice, a
	// device name); modeled id miui:id/text_right.
	Value string
	// Arrow marks a row that opens another screen.
	Arrow bool
	// Switch, when set, is the checkbox at the end (android:id/checkbox,
	// which MIUI automation scripts select; miui-ui.md section 3).
	Switch *bool
	// Slider, when set, is a SeekBar under the title.
	Slider *Slider
	Header bool
	// Disabled greys the row out; it ignores taps.
	Disabled bool
	OnClick  func()
}

// Slider is a SeekBar's range and its reaction to a finger lifted at value v.
type Slider struct {
	Min, Max, Value int
	OnChange        func(v int)
}

// Heights of MIUI's rows and action bar, in dp (measured on the real dump
// above: rows of 68 dp, a title block of 80 dp; modeled for the others).
const (
	rowDp        = 68
	rowSummaryDp = 84
	rowSliderDp  = 110
	headerDp     = 44
	upRowDp      = 58
	titleDp      = 76
)

// ActionBarBottom is where a page's content starts.
func (k Kit) ActionBarBottom() int {
	return k.Screen.Top + k.StatusBar() + k.Dp(upRowDp+titleDp)
}

// Page builds p to fill the screen.
func (k Kit) Page(p Page) *ui.Node {
	s := k.Screen
	content := ui.R(s.Left, k.ActionBarBottom(), s.Right, s.Bottom)
	items := make([]Item, len(p.Rows))
	for i, r := range p.Rows {
		items[i] = Item{Height: k.Dp(r.height()), Build: func(b ui.Rect) *ui.Node { return k.row(r, b) }}
	}
	list := k.List("androidx.recyclerview.widget.RecyclerView", "recycler_view", content, p.Scroll, items)
	return k.MIUIScreen(k.ActionBar(p.Title, p.Up, p.UpDesc),
		k.Frame("android:id/content", content, k.View("android.view.ViewGroup", "android:id/list_container", content, list)))
}

// MIUIScreen is a MIUI activity's window: the action bar overlay layout
// holding the action bar and the content.
func (k Kit) MIUIScreen(bar, content *ui.Node) *ui.Node {
	s := k.Screen
	return k.Frame("", s, k.Frame("miui:id/action_bar_overlay_layout", s, bar, content))
}

// ActionBar is MIUI's action bar with a large title; up (the back arrow)
// is left out when nil. Extra views (action buttons) go on the up row.
func (k Kit) ActionBar(title string, up func(), upDesc string, extra ...*ui.Node) *ui.Node {
	s := k.Screen
	barTop := s.Top + k.StatusBar()
	upRow := ui.R(s.Left, barTop, s.Right, barTop+k.Dp(upRowDp))
	bottom := k.ActionBarBottom()
	bar := k.View("android.view.ViewGroup", "miui:id/action_bar", ui.R(s.Left, barTop, s.Right, bottom))
	if up != nil {
		bar.Children = append(bar.Children, k.Icon("miui:id/up", upDesc, ui.R(s.Left+k.Dp(24), upRow.Top, s.Left+k.Dp(60), upRow.Bottom), up))
	}
	bar.Children = append(bar.Children, extra...)
	titleBox := ui.R(s.Left+k.Dp(27), upRow.Bottom, s.Right-k.Dp(27), bottom)
	bar.Children = append(bar.Children, k.Linear("", titleBox, k.Label("miui:id/action_bar_title", title, titleBox)))
	return k.Frame("miui:id/action_bar_container", ui.R(s.Left, s.Top, s.Right, bottom), bar)
}

func (r Row) height() int {
	switch {
	case r.Header:
		return headerDp
	case r.Slider != nil:
		return rowSliderDp
	case r.Summary != "":
		return rowSummaryDp
	}
	return rowDp
}

// row builds one preference in b: a LinearLayout over the title and
// summary (android:id/title, android:id/summary, as AOSP's preference
// layout names them) with the value, arrow, checkbox or seek bar.
func (k Kit) row(r Row, b ui.Rect) *ui.Node {
	pad := k.Dp(24)
	if r.Header {
		return k.Label("android:id/title", r.Title, ui.R(b.Left+pad, b.Top, b.Right-pad, b.Bottom))
	}
	endW := k.Dp(110)
	if r.Switch == nil && r.Value == "" && !r.Arrow {
		endW = 0
	}
	text := ui.R(b.Left+pad, b.Top, b.Right-pad-endW, b.Bottom)
	titleBox := ui.R(text.Left, text.Top+k.Dp(16), text.Right, text.Top+k.Dp(40))
	texts := k.View("android.widget.RelativeLayout", "", text, k.Label("android:id/title", r.Title, titleBox))
	if r.Summary != "" {
		texts.Children = append(texts.Children, k.Label("android:id/summary", r.Summary, ui.R(text.Left, titleBox.Bottom, text.Right, titleBox.Bottom+k.Dp(24))))
	}
	row := k.Linear("", b, texts)
	row.Disabled = r.Disabled
	end := ui.R(b.Right-pad-endW, b.Top, b.Right-pad, b.Top+k.Dp(rowDp))
	if r.Value != "" {
		row.Children = append(row.Children, k.Label("miui:id/text_right", r.Value, ui.R(end.Left, end.Top, end.Right-k.Dp(20), end.Bottom)))
	}
	if r.Arrow {
		row.Children = append(row.Children, k.View("android.widget.ImageView", "miui:id/arrow_right", ui.R(end.Right-k.Dp(16), end.Top+k.Dp(26), end.Right, end.Bottom-k.Dp(26))))
	}
	onClick := r.OnClick
	if r.Switch != nil {
		box := k.View("android.widget.CheckBox", "android:id/checkbox", ui.R(end.Right-k.Dp(48), end.Top+k.Dp(20), end.Right, end.Bottom-k.Dp(20)))
		box.Checkable, box.Checked, box.Disabled = true, *r.Switch, r.Disabled
		row.Children = append(row.Children, box)
	}
	if r.Slider != nil {
		row.Children = append(row.Children, k.seekBar(*r.Slider, ui.R(text.Left, titleBox.Bottom+k.Dp(14), b.Right-pad, b.Bottom-k.Dp(14))))
	}
	if onClick != nil && !r.Disabled {
		clickable(row, onClick)
	}
	return row
}

// seekBar is a SeekBar over r: a finger lifted anywhere on it sets the
// value at that point, within the track's padding (AbsSeekBar's tracking).
func (k Kit) seekBar(s Slider, r ui.Rect) *ui.Node {
	n := k.View("android.widget.SeekBar", "seekbar", r)
	n.Focusable = true
	n.Range = &ui.Range{Min: s.Min, Max: s.Max, Current: s.Value}
	pad := k.Dp(16)
	n.OnDrag = func(_, to ui.Point) {
		width := r.Width() - 2*pad
		frac := float64(min(max(to.X-r.Left-pad, 0), width)) / float64(width)
		s.OnChange(s.Min + int(frac*float64(s.Max-s.Min)+0.5))
	}
	return n
}
