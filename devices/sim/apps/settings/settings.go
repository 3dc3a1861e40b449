// Package settings is MIUI's Settings app (com.android.settings): the root
// list; Display with "Brightness level" and "Sleep" (and Lock screen with
// "Sleep", where MIUI keeps it on LCD phones); About phone with "Device
// name" and its full-screen rename page; the Wi-Fi list of networks in
// range (wifi.go); Additional settings > Developer options with MIUI's two
// toggles, and Security's three-step warning that guards one of them
// (developer.go).
//
// The app changes settings as the Settings app does, through the settings
// provider under its own uid, and tells the phone what the user changed
// (event.SettingEdited), which its analytics reports; a `settings put` from
// the shell never passes through here. Pages it does not simulate open
// empty under their title.
package settings

import (
	"fmt"
	"slices"
	"sync"

	"telltale.dev/devices/sim/app"
	"telltale.dev/devices/sim/content"
	"telltale.dev/devices/sim/event"
	"telltale.dev/devices/sim/ui"
	"telltale.dev/devices/sim/ui/widget"
)

// App is the Settings app's process.
type App struct{ env app.Env }

// New returns the Settings app of env's package.
func New(env app.Env) *App { return &App{env: env} }

// NewActivity implements app.App: one activity holds every page, as
// fragments in SubSettings would (modeled: MIUI starts SubSettings for
// most pages).
func (a *App) NewActivity(string) app.Activity {
	return &screen{env: a.env, pages: []*page{{kind: rootPage}}}
}

type pageKind int

const (
	rootPage pageKind = iota
	displayPage
	lockPage
	aboutPage
	renamePage
	wifiPage
	networkPage
	additionalPage
	developerPage
	blankPage
)

// page is one page on the back stack.
type page struct {
	kind   pageKind
	title  string // blank pages: the row that opened it
	ssid   string // networkPage: the network shown
	name   widget.Text
	scroll widget.Scroll
}

// dialogKind is what the open dialog asks.
type dialogKind int

const (
	noDialog dialogKind = iota
	sleepDialog
	passwordDialog
	errorDialog
)

// screen is the Settings activity: a stack of pages and at most one dialog.
type screen struct {
	env app.Env

	mu      sync.Mutex
	pages   []*page
	dialog  dialogKind
	ssid    string      // passwordDialog: the network joined
	pass    widget.Text // passwordDialog: the passphrase typed
	message string      // errorDialog
	taps    int         // taps on "MIUI version" towards Developer options
}

func (s *screen) OnIntent(content.Intent) {}

// do runs change under the lock: the form of every handler.
func (s *screen) do(change func()) func() {
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		change()
	}
}

// open pushes a page; s.mu is held.
func (s *screen) open(p *page) { s.pages = append(s.pages, p) }

// pop leaves the top page; false on the root page (the system then
// finishes the activity). s.mu is held.
func (s *screen) pop() bool {
	if len(s.pages) == 1 {
		return false
	}
	s.pages = s.pages[:len(s.pages)-1]
	return true
}

// Key: BACK closes the dialog or the page; DEL edits the focused field.
func (s *screen) Key(code int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	top := s.pages[len(s.pages)-1]
	switch {
	case code == widget.KeyDel && s.dialog == passwordDialog:
		return s.pass.Key(code)
	case code == widget.KeyDel && top.kind == renamePage:
		return top.name.Key(code)
	case code != widget.KeyBack:
		return false
	case s.dialog != noDialog:
		s.dialog = noDialog
		return true
	}
	return s.pop()
}

// Screen draws the top page.
func (s *screen) Screen(r ui.Rect) *ui.Node {
	lang := s.env.Language()
	k := widget.For(s.env.Package, r)
	s.mu.Lock()
	top := s.pages[len(s.pages)-1]
	s.mu.Unlock()
	t := func(key string) string { return text(lang, key) }
	up := s.do(func() { s.pop() })
	page := func(title string, rows []widget.Row) *ui.Node {
		if top.kind == rootPage {
			up = nil
		}
		return k.Page(widget.Page{Title: title, Up: up, UpDesc: t("back"), Rows: rows, Scroll: &top.scroll})
	}
	switch top.kind {
	case rootPage:
		return page(t("settings"), s.rootRows(t))
	case displayPage:
		return page(t("display"), []widget.Row{s.brightnessRow(t), s.sleepRow(t, lang)})
	case lockPage:
		return page(t("lock"), []widget.Row{s.sleepRow(t, lang)})
	case aboutPage:
		return page(t("about"), s.aboutRows(t))
	case renamePage:
		return s.renameView(k, t, top)
	case wifiPage:
		return page(t("wifi"), s.wifiRows(t))
	case networkPage:
		return page(top.ssid, s.networkRows(t, top.ssid))
	case additionalPage:
		return page(t("additional"), s.additionalRows(t))
	case developerPage:
		return page(t("developer"), s.developerRows(t))
	}
	return page(top.title, nil)
}

// to is a row's action that opens a page.
func (s *screen) to(p *page) func() { return s.do(func() { s.open(p) }) }

// rootRows is MIUI 12's root list (modeled order and entries).
func (s *screen) rootRows(t func(string) string) []widget.Row {
	wifi := t("off")
	if s.env.Wifi != nil && s.env.Wifi.Enabled() {
		wifi = ""
		if ok, ssid := s.env.Wifi.Network(); ok {
			wifi = ssid
		}
	}
	rows := []widget.Row{
		{Title: t("about"), Value: s.env.Props.Get("ro.build.version.incremental"), Arrow: true, OnClick: s.to(&page{kind: aboutPage})},
		{Title: t("mobile"), Arrow: true, OnClick: s.to(&page{kind: blankPage, title: t("mobile")})},
		{Title: t("wifi"), Value: wifi, Arrow: true, OnClick: s.to(&page{kind: wifiPage})},
	}
	for _, e := range []struct {
		key  string
		kind pageKind
	}{{"bluetooth", blankPage}, {"connection", blankPage}, {"lock", lockPage}, {"display", displayPage}, {"sound", blankPage},
		{"notifications", blankPage}, {"home", blankPage}, {"wallpaper", blankPage}, {"themes", blankPage}, {"passwords", blankPage},
		{"privacy", blankPage}, {"battery", blankPage}, {"apps", blankPage}, {"additional", additionalPage}, {"wellbeing", blankPage},
		{"special", blankPage}, {"account", blankPage}, {"google", blankPage}, {"accounts", blankPage}, {"feedback", blankPage}} {
		rows = append(rows, widget.Row{Title: t(e.key), Arrow: true, OnClick: s.to(&page{kind: e.kind, title: t(e.key)})})
	}
	return rows
}

// put writes a setting as the Settings app and says the user changed it;
// nothing happens when the value is already there.
func (s *screen) put(ns, key, value string) {
	old, _ := s.env.Settings.Setting(ns, key)
	if old == value {
		return
	}
	if err := s.env.Settings.Put(ns, key, value, s.env.UID); err != nil {
		s.fail(err)
		return
	}
	s.env.Bus.Publish(event.SettingEdited{Package: s.env.Package, NS: ns, Key: key, Old: old, New: value})
}

// fail shows an error in a dialog, as the app would in a toast (modeled:
// the active-window dump would not show a toast).
func (s *screen) fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dialog, s.message = errorDialog, err.Error()
}

// brightnessRow is the brightness slider over system:screen_brightness,
// 0-255 as the settings provider's validator allows it (MIUI's own range
// is not known: modeled).
func (s *screen) brightnessRow(t func(string) string) widget.Row {
	v := 0
	if cur, ok := s.env.Settings.Setting("system", "screen_brightness"); ok {
		_, _ = fmt.Sscan(cur, &v)
	}
	return widget.Row{Title: t("brightness"), Slider: &widget.Slider{Min: 0, Max: 255, Value: v, OnChange: func(n int) {
		s.put("system", "screen_brightness", fmt.Sprint(n))
	}}}
}

// sleepRow opens the Sleep choices; its summary is the current one.
func (s *screen) sleepRow(t func(string) string, lang string) widget.Row {
	cur, _ := s.env.Settings.Setting("system", "screen_off_timeout")
	summary := ""
	if i := slices.Index(sleepValues, cur); i >= 0 {
		summary = fmt.Sprintf(t("sleep_summary"), sleepEntry(lang, i))
		if i == len(sleepValues)-1 {
			summary = sleepEntry(lang, i)
		}
	}
	return widget.Row{Title: t("sleep"), Summary: summary, Arrow: true, OnClick: s.do(func() { s.dialog = sleepDialog })}
}

func sleepEntry(lang string, i int) string {
	entries, ok := sleepEntries[lang]
	if !ok {
		entries = sleepEntries["en"]
	}
	return entries[i]
}

// aboutRows: "Device name" opens the rename page; seven taps on "MIUI
// version" turn Developer options on, as seven taps on the build number do
// in AOSP (BuildNumberPreferenceController).
func (s *screen) aboutRows(t func(string) string) []widget.Row {
	name, _ := s.env.Settings.Setting("global", "device_name")
	if name == "" {
		name = s.env.Props.Get("ro.product.model")
	}
	tapVersion := func() {
		s.mu.Lock()
		s.taps++
		enough := s.taps >= 7
		s.mu.Unlock()
		if enough {
			s.put("global", "development_settings_enabled", "1")
		}
	}
	return []widget.Row{
		{Title: t("device_name"), Value: name, Arrow: true, OnClick: s.do(func() {
			s.open(&page{kind: renamePage, name: widget.Text{Value: name}})
		})},
		{Title: t("miui_version"), Value: s.env.Props.Get("ro.build.version.incremental"), OnClick: tapVersion},
		{Title: t("android_version"), Value: s.env.Props.Get("ro.build.version.release")},
	}
}

// renameView is MIUI's full-screen rename page (not a dialog): the action
// bar holds Cancel (android:id/button1, at the left) and OK
// (android:id/button2, at the right) as icons known by their
// descriptions, the reverse of AOSP dialogs; the field is
// com.android.settings:id/device_name, focused, with its caption
// (miui-ui.md section 3, from a real Mi 8 SE page source). The title is
// "Rename phone" on MIUI 12.0, "Rename device" on 12.5.
func (s *screen) renameView(k widget.Kit, t func(string) string, p *page) *ui.Node {
	title := t("rename_12")
	if v := s.env.Props.Get("ro.miui.ui.version.name"); v >= "V125" {
		title = t("rename_125")
	}
	cancel := s.do(func() { s.pop() })
	ok := func() {
		s.mu.Lock()
		name := p.name.Value
		s.pop()
		s.mu.Unlock()
		if name != "" {
			s.put("global", "device_name", name)
		}
	}
	sc := k.Screen
	barTop := sc.Top + k.StatusBar()
	icon := k.Dp(56)
	bar := k.ActionBar(title, nil, "",
		k.Icon("android:id/button1", t("cancel"), ui.R(sc.Left+k.Dp(8), barTop, sc.Left+k.Dp(8)+icon, barTop+icon), cancel),
		k.Icon("android:id/button2", t("ok"), ui.R(sc.Right-k.Dp(8)-icon, barTop, sc.Right-k.Dp(8), barTop+icon), ok))
	top := k.ActionBarBottom()
	s.mu.Lock()
	name := p.name
	s.mu.Unlock()
	field := k.Field(widget.Field{ID: "device_name", Hint: t("enter_name"), Text: &name, Focused: true,
		OnText: func(typed string) { s.do(func() { p.name.Type(typed) })() }},
		ui.R(sc.Left+k.Dp(24), top+k.Dp(16), sc.Right-k.Dp(24), top+k.Dp(72)))
	caption := k.Label("", t("name_caption"), ui.R(sc.Left+k.Dp(24), top+k.Dp(80), sc.Right-k.Dp(24), top+k.Dp(110)))
	content := ui.R(sc.Left, top, sc.Right, sc.Bottom)
	return k.MIUIScreen(bar, k.Frame("android:id/content", content, k.Linear("", content, field, caption)))
}

// additionalRows: Developer options shows once enabled
// (global:development_settings_enabled, as AOSP's
// DevelopmentSettingsEnabler reads it).
func (s *screen) additionalRows(t func(string) string) []widget.Row {
	var rows []widget.Row
	for _, key := range []string{"date", "languages", "region", "accessibility"} {
		rows = append(rows, widget.Row{Title: t(key), Arrow: true, OnClick: s.to(&page{kind: blankPage, title: t(key)})})
	}
	if on, _ := s.env.Settings.Setting("global", "development_settings_enabled"); on == "1" {
		rows = append(rows, widget.Row{Title: t("developer"), Arrow: true, OnClick: s.to(&page{kind: developerPage})})
	}
	return append(rows, widget.Row{Title: t("backup"), Arrow: true, OnClick: s.to(&page{kind: blankPage, title: t("backup")})})
}

// Overlays is the open dialog.
func (s *screen) Overlays() []*ui.Window {
	s.mu.Lock()
	open := s.dialog != noDialog
	s.mu.Unlock()
	if !open {
		return nil
	}
	return []*ui.Window{{Content: s.dialogView, Key: s.Key}}
}

func (s *screen) dialogView(r ui.Rect) *ui.Node {
	lang := s.env.Language()
	k := widget.For(s.env.Package, r)
	s.mu.Lock()
	kind, message, ssid, pass := s.dialog, s.message, s.ssid, s.pass
	s.mu.Unlock()
	closeDialog := s.do(func() { s.dialog = noDialog })
	switch kind {
	case sleepDialog:
		cur, _ := s.env.Settings.Setting("system", "screen_off_timeout")
		entries := sleepEntries["en"]
		if e, ok := sleepEntries[lang]; ok {
			entries = e
		}
		return k.Dialog(widget.Dialog{Title: text(lang, "sleep"), Choices: entries, Chosen: slices.Index(sleepValues, cur),
			Choose: func(i int) {
				closeDialog()
				s.put("system", "screen_off_timeout", sleepValues[i])
			}, Cancel: closeDialog,
			Buttons: []widget.DialogButton{{ID: "android:id/button2", Text: text(lang, "cancel"), OnClick: closeDialog}}})
	case passwordDialog:
		return s.passwordDialog(k, lang, ssid, &pass, closeDialog)
	}
	return k.Dialog(widget.Dialog{Message: message, Cancel: closeDialog,
		Buttons: []widget.DialogButton{{ID: "android:id/button1", Text: text(lang, "ok"), OnClick: closeDialog}}})
}
