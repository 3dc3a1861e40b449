package browser

import (
	"strconv"
	"sync"

	"telltale.dev/devices/sim/content"
	"telltale.dev/devices/sim/ui"
	"telltale.dev/devices/sim/ui/widget"
)

// miMain is Mi Browser's and Mint Browser's main screen
// (com.android.browser.BrowserActivity): the home page with its search box,
// the address bar, a page, the bottom toolbar, the menu, the tab switcher
// and the bookmarks & history page.
//
// Incognito, as the 2020 global Mi Browser does it: the menu's "Incognito
// mode" item switches the whole browser into incognito mode, which opens an
// incognito tab on a home page saying "You've gone incognito"; while it is
// on, new tabs are incognito, only incognito tabs show in the tab switcher,
// pages carry a "You're incognito!" strip, and visits stay out of the
// history. Turning it off closes the incognito tabs. Whether an incognito
// page is reported is the "Enhanced incognito mode" switch's call
// (settings.go). Texts are Mi Browser's strings (XEU MiBrowserGlobal,
// reference/miui-ui.md section 1); where a view sits and the ids the
// sources do not give are modeled.
type miMain struct {
	b *Browser

	bar omnibox

	mu   sync.Mutex
	menu bool
	// switcher: the tab switcher is showing; closeAll its confirmation.
	switcher, closeAll bool
	history            bool
	scroll             widget.Scroll
}

// Ids the sources show: search_hint (the home page's fake search box) and
// url (the address field) from privacytests.org's Mi Browser driver,
// nav_close_all from uiautomator2 scripts (miui-ui.md section 1); url_bar
// on a loaded page is Mint's (code-index id 17430645863), used for both.
// The toolbar's and the tab switcher's other ids are modeled.
const (
	idSearchHint = "search_hint"
	idURL        = "url"
	idURLBar     = "url_bar"
	idCloseAll   = "nav_close_all"
)

// Mi Browser's strings (XEU MiBrowserGlobal, miui-ui.md section 1).
const (
	textURLHint      = "Search or type web address"
	textIncognito    = "Incognito mode"
	textGoneIncog    = "You've gone incognito"
	textYoureIncog   = "You're incognito!"
	textSettings     = "Settings"
	textBookmarks    = "Bookmarks & History"
	textRefresh      = "Refresh"
	textExit         = "Exit"
	textRegularTab   = "Regular tab"
	textIncognitoTab = "Incognito tab"
	textNewTab       = "New tab"
	textCloseAll     = "Close all"
	textBack         = "Back"
	textCloseTitle   = "Close all tabs"
	textCloseMessage = "Close all tabs currently open in browser?"
)

func (m *miMain) OnIntent(in content.Intent) { m.b.view(in) }

// Key: BACK closes what is open, then goes back in the tab, then leaves
// the app to the system; DEL edits the address.
func (m *miMain) Key(code int) bool {
	if code != widget.KeyBack {
		return m.bar.key(code)
	}
	m.mu.Lock()
	closed := true
	switch {
	case m.closeAll:
		m.closeAll = false
	case m.menu:
		m.menu = false
	case m.bar.close():
	case m.switcher:
		m.switcher = false
	case m.history:
		m.history = false
	default:
		closed = false
	}
	m.mu.Unlock()
	return closed || m.b.back()
}

// set changes the screen's state under the lock.
func (m *miMain) set(change func()) func() {
	return func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		change()
	}
}

func (m *miMain) edit() { m.bar.open(m.b.currentTab().url) }

// setIncognito is the menu's "Incognito mode" item.
func (m *miMain) setIncognito(on bool) {
	b := m.b
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.incognito == on {
		return
	}
	b.incognito = on
	if on {
		b.openTab("", true)
		return
	}
	b.closeTabs(true)
}

// closeTabs closes the tabs of one kind and shows the last tab left, or a
// new home page; b.mu is held.
func (b *Browser) closeTabs(incognito bool) {
	kept := b.tabs[:0]
	for _, t := range b.tabs {
		if t.incognito != incognito {
			kept = append(kept, t)
		}
	}
	b.tabs = kept
	if len(b.tabs) == 0 || b.tabs[len(b.tabs)-1].incognito != b.incognito {
		b.openTab("", b.incognito)
	}
	b.cur = len(b.tabs) - 1
}

// Screen draws what is open: the tab switcher, the history page, or the
// current tab under its address bar above the toolbar.
func (m *miMain) Screen(s ui.Rect) *ui.Node {
	k := widget.For(m.b.env.Package, s)
	m.mu.Lock()
	switcher, history := m.switcher, m.history
	m.mu.Unlock()
	editing, addr := m.bar.state()
	b := m.b
	b.mu.Lock()
	cur := b.current().shown()
	incognito := b.incognito
	tabs := b.visibleTabs()
	visits := append([]string(nil), b.history...)
	b.mu.Unlock()
	switch {
	case switcher:
		return k.Decor(m.switcherView(k, tabs, incognito))
	case history:
		return m.historyView(k, visits)
	}
	top := s.Top + k.StatusBar()
	bar := ui.R(s.Left, top, s.Right, top+k.Dp(56))
	tools := ui.R(s.Left, s.Bottom-k.Dp(56), s.Right, s.Bottom)
	body := ui.R(s.Left, bar.Bottom, s.Right, tools.Top)
	var views []*ui.Node
	switch {
	case editing:
		views = append(views, k.Linear("", bar,
			k.Field(widget.Field{ID: idURL, Hint: textURLHint, Text: &addr, Focused: true,
				OnText: m.bar.typeText, OnEnter: func() { m.bar.submitTo(m.b) }}, ui.R(bar.Left+k.Dp(16), bar.Top+k.Dp(8), bar.Right-k.Dp(80), bar.Bottom-k.Dp(8))),
			k.Button("url_cancel", "Cancel", "", ui.R(bar.Right-k.Dp(76), bar.Top+k.Dp(8), bar.Right-k.Dp(8), bar.Bottom-k.Dp(8)),
				func() { m.bar.close() })))
	case cur.url != "":
		views = append(views, widget.Tappable(k.Label(idURLBar, cur.url, ui.R(bar.Left+k.Dp(16), bar.Top+k.Dp(8), bar.Right-k.Dp(16), bar.Bottom-k.Dp(8))), m.edit))
	}
	if cur.url == "" {
		views = append(views, m.home(k, ui.R(s.Left, top, s.Right, tools.Top), cur.incognito, editing))
	} else {
		views = append(views, m.page(k, body, cur))
	}
	if !editing {
		views = append(views, m.toolbar(k, tools, len(tabs)))
	}
	return k.Decor(k.Frame("main_content", s, views...))
}

// visibleTabs are the tabs of the current mode; b.mu is held.
func (b *Browser) visibleTabs() []shownTab {
	var out []shownTab
	for _, t := range b.tabs {
		if t.incognito == b.incognito {
			out = append(out, t.shown())
		}
	}
	return out
}

// home is the new tab page: the search box, and in incognito the banner.
func (m *miMain) home(k widget.Kit, r ui.Rect, incognito, editing bool) *ui.Node {
	home := k.Frame("home_page", r)
	if incognito {
		home.Children = append(home.Children, k.Label("incognito_title", textGoneIncog, ui.R(r.Left+k.Dp(24), r.Top+k.Dp(90), r.Right-k.Dp(24), r.Top+k.Dp(130))))
	}
	if !editing {
		box := ui.R(r.Left+k.Dp(24), r.Top+k.Dp(160), r.Right-k.Dp(24), r.Top+k.Dp(208))
		home.Children = append(home.Children, widget.Tappable(k.Label(idSearchHint, textURLHint, box), m.edit))
	}
	return home
}

// page is the WebView of a loaded page: the address stands for the
// content (modeled), under the incognito strip in incognito tabs.
func (m *miMain) page(k widget.Kit, r ui.Rect, t shownTab) *ui.Node {
	web := k.View("android.webkit.WebView", "", r)
	web.Focusable, web.Scrollable = true, true
	y := r.Top
	if t.incognito {
		web.Children = append(web.Children, k.Label("incognito_tip", textYoureIncog, ui.R(r.Left, y, r.Right, y+k.Dp(36))))
		y += k.Dp(36)
	}
	content := k.View("android.view.View", "", ui.R(r.Left, y, r.Right, y+k.Dp(48)))
	content.Text = t.url
	web.Children = append(web.Children, content)
	return k.Frame("webview_wrapper", r, web)
}

// toolbar is the bottom bar: back, forward, home, tabs and the menu.
func (m *miMain) toolbar(k widget.Kit, r ui.Rect, tabs int) *ui.Node {
	w := r.Width() / 5
	cell := func(i int) ui.Rect { return ui.R(r.Left+i*w, r.Top, r.Left+(i+1)*w, r.Bottom) }
	goHome := func() {
		m.b.mu.Lock()
		defer m.b.mu.Unlock()
		if t := m.b.current(); t.url() != "" {
			t.pages = append(t.pages, "")
		}
	}
	count := widget.Tappable(k.Label("bottom_bar_tab_count", strconv.Itoa(tabs), cell(3)), m.set(func() { m.switcher = true; m.scroll.Reset() }))
	count.ContentDesc = "Tabs"
	fwd := k.Icon("bottom_bar_forward", "Forward", cell(1), func() {})
	fwd.Disabled = true
	return k.Linear("bottom_bar", r,
		k.Icon("bottom_bar_back", textBack, cell(0), func() { m.b.back() }),
		fwd,
		k.Icon("bottom_bar_home", "Home", cell(2), goHome),
		count,
		k.Icon("bottom_bar_menu", "Menu", cell(4), m.set(func() { m.menu = true })))
}

// switcherView is the tab switcher: the two kinds of tab, the tabs of the
// current kind, and New tab / Close all / Back.
func (m *miMain) switcherView(k widget.Kit, tabs []shownTab, incognito bool) *ui.Node {
	s := k.Screen
	top := s.Top + k.StatusBar()
	kinds := ui.R(s.Left, top, s.Right, top+k.Dp(56))
	half := kinds.Width() / 2
	kind := func(id, text string, r ui.Rect, on bool) *ui.Node {
		n := widget.Tappable(k.Label(id, text, r), func() { m.setIncognito(on) })
		n.Selected = incognito == on
		return n
	}
	bottom := ui.R(s.Left, s.Bottom-k.Dp(56), s.Right, s.Bottom)
	third := bottom.Width() / 3
	items := make([]widget.Item, len(tabs))
	for i, t := range tabs {
		title := t.url
		if title == "" {
			title = textNewTab
		}
		items[i] = widget.Item{Height: k.Dp(72), Build: func(r ui.Rect) *ui.Node {
			return widget.Tappable(k.Linear("nav_tab", r, k.Label("nav_tab_title", title, ui.R(r.Left+k.Dp(24), r.Top, r.Right-k.Dp(24), r.Bottom))),
				func() { m.showTab(i) })
		}}
	}
	return k.Frame("nav_screen", s,
		k.Linear("nav_tab_kinds", kinds,
			kind("nav_tab_normal", textRegularTab, ui.R(kinds.Left, kinds.Top, kinds.Left+half, kinds.Bottom), false),
			kind("nav_tab_incognito", textIncognitoTab, ui.R(kinds.Left+half, kinds.Top, kinds.Right, kinds.Bottom), true)),
		k.List("androidx.recyclerview.widget.RecyclerView", "nav_tabs", ui.R(s.Left, kinds.Bottom, s.Right, bottom.Top), &m.scroll, items),
		k.Linear("nav_bottom_bar", bottom,
			k.Button("nav_new_tab", textNewTab, "", ui.R(bottom.Left, bottom.Top, bottom.Left+third, bottom.Bottom), m.newTab),
			k.Button(idCloseAll, textCloseAll, "", ui.R(bottom.Left+third, bottom.Top, bottom.Left+2*third, bottom.Bottom), m.set(func() { m.closeAll = true })),
			k.Button("nav_back", textBack, "", ui.R(bottom.Left+2*third, bottom.Top, bottom.Right, bottom.Bottom), m.set(func() { m.switcher = false }))))
}

// showTab shows the i-th tab of the current kind and leaves the switcher.
func (m *miMain) showTab(i int) {
	b := m.b
	b.mu.Lock()
	n := -1
	for j, t := range b.tabs {
		if t.incognito == b.incognito {
			n++
		}
		if n == i {
			b.cur = j
			break
		}
	}
	b.mu.Unlock()
	m.set(func() { m.switcher = false })()
}

func (m *miMain) newTab() {
	m.b.mu.Lock()
	m.b.openTab("", m.b.incognito)
	m.b.mu.Unlock()
	m.set(func() { m.switcher = false })()
}

// historyView lists the regular tabs' visits, newest first; a tap opens one.
func (m *miMain) historyView(k widget.Kit, visits []string) *ui.Node {
	rows := make([]widget.Row, 0, len(visits))
	for i := len(visits) - 1; i >= 0; i-- {
		addr := visits[i]
		rows = append(rows, widget.Row{Title: addr, OnClick: func() {
			m.set(func() { m.history = false })()
			m.b.submit(addr)
		}})
	}
	return k.Page(widget.Page{Title: textBookmarks, Up: m.set(func() { m.history = false }), UpDesc: textBack, Rows: rows, Scroll: &m.scroll})
}

// Overlays are the menu and the close-all confirmation.
func (m *miMain) Overlays() []*ui.Window {
	m.mu.Lock()
	menu, closeAll := m.menu, m.closeAll
	m.mu.Unlock()
	switch {
	case closeAll:
		return []*ui.Window{{Content: m.closeAllDialog, Key: m.Key}}
	case menu:
		return []*ui.Window{{Content: m.menuView, Key: m.Key}}
	}
	return nil
}

func (m *miMain) closeAllDialog(s ui.Rect) *ui.Node {
	k := widget.For(m.b.env.Package, s)
	cancel := m.set(func() { m.closeAll = false })
	return k.Dialog(widget.Dialog{Title: textCloseTitle, Message: textCloseMessage, Cancel: cancel, Buttons: []widget.DialogButton{
		{ID: "android:id/button2", Text: "Cancel", OnClick: cancel},
		{ID: "android:id/button1", Text: "OK", OnClick: func() {
			m.b.mu.Lock()
			m.b.closeTabs(m.b.incognito)
			m.b.mu.Unlock()
			m.set(func() { m.closeAll, m.switcher = false, false })()
		}},
	}})
}

// menuView is the menu over the toolbar's menu button (a grid panel on
// the real browser; a list here, modeled).
func (m *miMain) menuView(s ui.Rect) *ui.Node {
	k := widget.For(m.b.env.Package, s)
	b := m.b
	b.mu.Lock()
	incognito, onPage := b.incognito, b.current().url() != ""
	b.mu.Unlock()
	closed := func(then func()) func() {
		return func() {
			m.set(func() { m.menu = false })()
			then()
		}
	}
	items := []widget.MenuItem{
		{Title: textIncognito, Checked: &incognito, OnClick: closed(func() { m.setIncognito(!incognito) })},
		{Title: textBookmarks, OnClick: closed(m.set(func() { m.history = true; m.scroll.Reset() }))},
		{Title: textSettings, OnClick: closed(m.openSettings)},
	}
	if onPage {
		items = append(items, widget.MenuItem{Title: textRefresh, OnClick: closed(m.refresh)})
	}
	items = append(items, widget.MenuItem{Title: textExit, OnClick: closed(b.env.Activities.Back)})
	tools := ui.R(s.Left, s.Bottom-k.Dp(56), s.Right, s.Bottom)
	return k.Menu(widget.Menu{Anchor: tools, Up: true, Items: items, Dismiss: m.set(func() { m.menu = false })})
}

func (m *miMain) openSettings() {
	env := m.b.env
	in := content.Intent{Component: content.ComponentName{Package: env.Package, Class: SettingsActivity}}
	// A failed start is logged by the activity manager.
	_, _ = env.Activities.Start(in, env.UID)
}

func (m *miMain) refresh() {
	b := m.b
	b.mu.Lock()
	t := b.current()
	addr, incognito := t.url(), t.incognito
	b.mu.Unlock()
	b.loaded(addr, incognito)
}
