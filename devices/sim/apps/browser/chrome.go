package browser

import (
	"sync"

	"telltale.dev/devices/sim/content"
	"telltale.dev/devices/sim/ui"
	"telltale.dev/devices/sim/ui/widget"
)

// chromeMain is Chrome's tab screen on the emulator: the toolbar with the
// address bar and "More options", whose menu opens a "New Incognito tab".
// Chrome has no incognito switch of its own: an incognito page is
// reported or not by the telemetry rules alone. Chrome honours
// EXTRA_OPEN_NEW_INCOGNITO_TAB only from itself, so `am start -d URL`
// opens a regular tab (reference/android-fidelity.md).
//
// The toolbar's ids and descriptions are a real Chrome's
// (reference/ui-dumps/07: home_button "Home", url_bar, tab_switcher_button,
// menu_button "More options"); the new tab page's search_box_text is in
// accessibility scripts (miui-ui.md section 1, code-index ids); the menu's
// app_menu_list and menu_item_text ids, and the incognito page's id, are
// modeled. The tab switcher is not simulated: its button is left out.
type chromeMain struct {
	b   *Browser
	bar omnibox

	mu   sync.Mutex
	menu bool
}

// Chrome's strings (chromium android_chrome_strings.grd: "New tab", "New
// Incognito tab", "More options"; the incognito page's title with its
// typographic apostrophe).
const (
	chromeNewTab       = "New tab"
	chromeNewIncognito = "New Incognito tab"
	chromeIncognito    = "You’ve gone Incognito"
)

func (c *chromeMain) OnIntent(in content.Intent) { c.b.view(in) }

// Key: BACK closes the menu or the address bar, then goes back in the tab.
func (c *chromeMain) Key(code int) bool {
	if code != widget.KeyBack {
		return c.bar.key(code)
	}
	c.mu.Lock()
	menu := c.menu
	c.menu = false
	c.mu.Unlock()
	return menu || c.bar.close() || c.b.back()
}

func (c *chromeMain) Screen(s ui.Rect) *ui.Node {
	k := widget.For(c.b.env.Package, s)
	cur := c.b.currentTab()
	editing, typed := c.bar.state()
	top := s.Top + k.StatusBar()
	bar := ui.R(s.Left, top, s.Right, top+k.Dp(56))
	btn := k.Dp(46)
	addr := widget.Text{Value: cur.url}
	if editing {
		addr = typed
	}
	url := k.Field(widget.Field{ID: "url_bar", Hint: textURLHint, Text: &addr, Focused: editing,
		OnFocus: c.edit, OnText: c.bar.typeText, OnEnter: func() { c.bar.submitTo(c.b) }},
		ui.R(bar.Left+btn, bar.Top+k.Dp(4), bar.Right-btn, bar.Bottom-k.Dp(4)))
	toolbar := k.Frame("toolbar", bar,
		k.Icon("home_button", "Home", ui.R(bar.Left, bar.Top, bar.Left+btn, bar.Bottom), c.home),
		k.Frame("location_bar", ui.R(bar.Left+btn, bar.Top, bar.Right-btn, bar.Bottom), url),
		k.Icon("menu_button", "More options", ui.R(bar.Right-btn, bar.Top, bar.Right, bar.Bottom), c.set(true)))
	body := ui.R(s.Left, bar.Bottom, s.Right, s.Bottom)
	var page *ui.Node
	switch {
	case cur.url != "":
		page = k.View("android.webkit.WebView", "", body)
		page.Focusable, page.Scrollable = true, true
		text := k.View("android.view.View", "", ui.R(body.Left, body.Top, body.Right, body.Top+k.Dp(48)))
		text.Text = cur.url
		page.Children = append(page.Children, text)
	case cur.incognito:
		page = k.Frame("ntp_content", body, k.Label("new_tab_incognito_title", chromeIncognito,
			ui.R(body.Left+k.Dp(24), body.Top+k.Dp(60), body.Right-k.Dp(24), body.Top+k.Dp(100))))
	default:
		page = k.Frame("ntp_content", body, widget.Tappable(k.Label("search_box_text", textURLHint,
			ui.R(body.Left+k.Dp(24), body.Top+k.Dp(160), body.Right-k.Dp(24), body.Top+k.Dp(208))), c.edit))
	}
	return k.Decor(k.View("android.view.ViewGroup", "coordinator", s,
		k.Frame("compositor_view_holder", body, page),
		k.Frame("control_container", bar, toolbar)))
}

func (c *chromeMain) edit() { c.bar.open(c.b.currentTab().url) }

func (c *chromeMain) set(menu bool) func() {
	return func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.menu = menu
	}
}

// home shows the new tab page in the current tab.
func (c *chromeMain) home() {
	b := c.b
	b.mu.Lock()
	defer b.mu.Unlock()
	if t := b.current(); t.url() != "" {
		t.pages = append(t.pages, "")
	}
}

// Overlays is the app menu while it is open.
func (c *chromeMain) Overlays() []*ui.Window {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.menu {
		return nil
	}
	return []*ui.Window{{Content: c.menuView, Key: c.Key}}
}

// menuView is Chrome's app menu under the toolbar's right end.
func (c *chromeMain) menuView(s ui.Rect) *ui.Node {
	k := widget.For(c.b.env.Package, s)
	open := func(incognito bool) func() {
		return func() {
			c.set(false)()
			c.b.mu.Lock()
			defer c.b.mu.Unlock()
			c.b.openTab("", incognito)
		}
	}
	top := s.Top + k.StatusBar()
	return k.Menu(widget.Menu{Anchor: ui.R(s.Left, top, s.Right-k.Dp(4), top), ListID: "app_menu_list", TitleID: "menu_item_text",
		Items:   []widget.MenuItem{{Title: chromeNewTab, OnClick: open(false)}, {Title: chromeNewIncognito, OnClick: open(true)}},
		Dismiss: c.set(false)})
}
