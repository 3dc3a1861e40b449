package settings

import (
	"slices"

	"telltale.dev/devices/sim/app"
	"telltale.dev/devices/sim/ui"
	"telltale.dev/devices/sim/ui/widget"
)

// wifiRows is the Wi-Fi page: the radio's switch and, while it is on, the
// networks in range, strongest first. Tapping an open network joins it at
// once, a secured one asks for its password, a saved or joined one opens
// its page with "Forget" (AOSP's WifiSettings behaves so; the strings are
// MIUI's, miui-ui.md section 3; the summaries are modeled).
func (s *screen) wifiRows(t func(string) string) []widget.Row {
	w := s.env.Wifi
	on := w.Enabled()
	rows := []widget.Row{{Title: t("wifi"), Switch: &on, OnClick: func() { w.SetEnabled(!on) }}}
	if !on {
		return rows
	}
	rows = append(rows, widget.Row{Title: t("wifi_networks"), Header: true})
	joined, current := w.Network()
	aps := w.Scan()
	slices.SortStableFunc(aps, func(a, b app.AccessPoint) int { return b.Level - a.Level })
	for _, ap := range aps {
		row := widget.Row{Title: ap.SSID, Summary: t("open")}
		if ap.Secured {
			row.Summary = t("secured")
		}
		saved := w.Saved(ap.SSID)
		switch {
		case joined && ap.SSID == current:
			row.Summary = t("connected")
		case saved:
			row.Summary = t("saved")
		}
		switch {
		case saved || (joined && ap.SSID == current):
			row.Arrow = true
			row.OnClick = s.to(&page{kind: networkPage, ssid: ap.SSID})
		case ap.Secured:
			row.OnClick = s.do(func() { s.dialog, s.ssid, s.pass = passwordDialog, ap.SSID, widget.Text{} })
		default:
			row.OnClick = func() { s.join(ap.SSID, "") }
		}
		rows = append(rows, row)
	}
	return rows
}

func (s *screen) join(ssid, passphrase string) {
	if err := s.env.Wifi.Connect(ssid, passphrase); err != nil {
		s.fail(err)
	}
}

// networkRows is a saved network's page: its state, and "Forget".
func (s *screen) networkRows(t func(string) string, ssid string) []widget.Row {
	state := t("saved")
	if ok, cur := s.env.Wifi.Network(); ok && cur == ssid {
		state = t("connected")
	}
	return []widget.Row{
		{Title: ssid, Value: state},
		{Title: t("forget"), OnClick: func() {
			if err := s.env.Wifi.Forget(ssid); err != nil {
				s.fail(err)
				return
			}
			s.do(func() { s.pop() })()
		}},
	}
}

// passwordDialog asks a secured network's passphrase: "Password" and
// Cancel / Connect.
func (s *screen) passwordDialog(k widget.Kit, lang, ssid string, pass *widget.Text, closeDialog func()) *ui.Node {
	connect := func() {
		s.mu.Lock()
		typed := s.pass.Value
		s.mu.Unlock()
		closeDialog()
		s.join(ssid, typed)
	}
	return k.Dialog(widget.Dialog{Title: ssid, Cancel: closeDialog,
		Field: &widget.Field{ID: "password", Hint: text(lang, "password"), Text: pass, Focused: true, Password: true,
			OnText: func(typed string) { s.do(func() { s.pass.Type(typed) })() }, OnEnter: connect},
		Buttons: []widget.DialogButton{
			{ID: "android:id/button2", Text: text(lang, "cancel"), OnClick: closeDialog},
			{ID: "android:id/button1", Text: text(lang, "connect"), OnClick: connect},
		}})
}
