package widget

import "telltale.dev/devices/sim/ui"

// Dialog is an AlertDialog: a title, a message or a text field or a list
// of choices, and buttons. Android gives a dialog a window of its own, so
// an app shows it as an overlay (app.Overlays), and `uiautomator dump`,
// which dumps the active window, shows the dialog alone. Ids are
// AlertController's: android:id/alertTitle, message, button1 (positive),
// button2 (negative), and android:id/text1 for the rows of a
// single-choice list (select_dialog_singlechoice); MIUI's miuix dialogs
// keep them (miui-ui.md section 5: button1/button2 of the install dialog).
type Dialog struct {
	Title, Message string
	Field          *Field
	// Error is a line under the field (modeled: MIUI says it in a toast,
	// which the active-window dump would not show).
	Error   string
	Choices []string
	Chosen  int
	Choose  func(i int)
	// Buttons are laid out left to right.
	Buttons []DialogButton
	// Cancel runs on a touch outside the dialog (windowCloseOnTouchOutside);
	// nil keeps the dialog up.
	Cancel func()
}

// DialogButton is one of the dialog's buttons; ID is android:id/button1
// for the positive one, button2 for the negative.
type DialogButton struct {
	ID, Text string
	Disabled bool
	OnClick  func()
}

// Dialog builds d at the bottom of the screen, where MIUI 12 shows its
// dialogs (modeled placement), sized to its content.
func (k Kit) Dialog(d Dialog) *ui.Node {
	s := k.Screen
	pad := k.Dp(28)
	var heights []int
	var parts []func(r ui.Rect) *ui.Node
	add := func(dp int, build func(r ui.Rect) *ui.Node) {
		heights, parts = append(heights, k.Dp(dp)), append(parts, build)
	}
	if d.Title != "" {
		add(64, func(r ui.Rect) *ui.Node { return k.Label("android:id/alertTitle", d.Title, r) })
	}
	if d.Message != "" {
		add(56, func(r ui.Rect) *ui.Node { return k.Label("android:id/message", d.Message, r) })
	}
	if d.Field != nil {
		add(56, func(r ui.Rect) *ui.Node { return k.Field(*d.Field, r) })
	}
	if d.Error != "" {
		add(36, func(r ui.Rect) *ui.Node { return k.Label("", d.Error, r) })
	}
	for i, c := range d.Choices {
		add(56, func(r ui.Rect) *ui.Node {
			n := k.View("android.widget.CheckedTextView", "android:id/text1", r)
			n.Text, n.Checkable, n.Checked = c, true, i == d.Chosen
			return Tappable(n, func() { d.Choose(i) })
		})
	}
	if len(d.Buttons) > 0 {
		add(80, func(r ui.Rect) *ui.Node { return k.buttonBar(d.Buttons, r) })
	}
	total := 0
	for _, h := range heights {
		total += h
	}
	panel := ui.R(s.Left+k.Dp(10), s.Bottom-k.Dp(16)-total-pad, s.Right-k.Dp(10), s.Bottom-k.Dp(16))
	views, _ := Rows(panel.Left+pad, panel.Top+pad/2, panel.Right-pad, heights, func(i int, r ui.Rect) *ui.Node { return parts[i](r) })
	root := k.Frame("", panel, k.Linear("android:id/parentPanel", panel, views...))
	root.OnOutside = d.Cancel
	if d.Cancel == nil {
		root.OnOutside = func() {}
	}
	return root
}

func (k Kit) buttonBar(bs []DialogButton, r ui.Rect) *ui.Node {
	bar := k.Linear("android:id/buttonPanel", r)
	w := r.Width() / len(bs)
	for i, b := range bs {
		br := ui.R(r.Left+i*w+k.Dp(6), r.Top+k.Dp(14), r.Left+(i+1)*w-k.Dp(6), r.Bottom-k.Dp(14))
		btn := k.Button(b.ID, b.Text, "", br, b.OnClick)
		btn.Disabled = b.Disabled
		bar.Children = append(bar.Children, btn)
	}
	return bar
}

// MenuItem is one entry of a popup menu; Checked, when set, makes it a
// checkable item showing its state.
type MenuItem struct {
	Title   string
	Checked *bool
	OnClick func()
}

// Menu is a popup menu: a window of its own holding a ListView, hanging
// from the bottom right of Anchor, or rising from its top when Up. A touch
// outside dismisses it. Rows carry the item's text in TitleID, by default
// android:id/title (AOSP popup_menu_item_layout); ListID names the list.
type Menu struct {
	Anchor          ui.Rect
	Up              bool
	ListID, TitleID string
	Items           []MenuItem
	Dismiss         func()
}

// Menu builds m.
func (k Kit) Menu(m Menu) *ui.Node {
	rowH, w := k.Dp(52), k.Dp(240)
	h := rowH*len(m.Items) + k.Dp(16)
	box := ui.R(m.Anchor.Right-w, m.Anchor.Bottom, m.Anchor.Right, m.Anchor.Bottom+h)
	if m.Up {
		box = ui.R(m.Anchor.Right-w, m.Anchor.Top-h, m.Anchor.Right, m.Anchor.Top)
	}
	titleID := m.TitleID
	if titleID == "" {
		titleID = "android:id/title"
	}
	heights := make([]int, len(m.Items))
	for i := range heights {
		heights[i] = rowH
	}
	rows, _ := Rows(box.Left, box.Top+k.Dp(8), box.Right, heights, func(i int, r ui.Rect) *ui.Node {
		it := m.Items[i]
		title := k.Label(titleID, it.Title, ui.R(r.Left+k.Dp(20), r.Top, r.Right-k.Dp(20), r.Bottom))
		if it.Checked != nil {
			title.Checkable, title.Checked = true, *it.Checked
		}
		return Tappable(k.Linear("", r, title), it.OnClick)
	})
	root := k.Frame("", box, k.View("android.widget.ListView", m.ListID, box, rows...))
	root.OnOutside = m.Dismiss
	return root
}
