// Package browser is the web browsers: Mi Browser and Mint Browser
// (mibrowser.go, their settings page in settings.go) and Chrome
// (chrome.go). What they share lives here: tabs, what the address bar
// makes of what was typed (a web address or a search), and what a page
// load tells the phone (event.PageLoaded, event.Searched), which the
// browsers' analytics SDK reports.
//
// The browsers load no content: a page is its address, which is all the
// telemetry and the harness look at.
package browser

import (
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"telltale.dev/devices/sim/app"
	"telltale.dev/devices/sim/content"
	"telltale.dev/devices/sim/event"
	"telltale.dev/devices/sim/ui/widget"
)

// Options tune the browsers for a model.
type Options struct {
	// SearchURL is the default search engine's results page, %s standing
	// for the query (the profile's search_url).
	SearchURL string
}

// Activities the browsers declare.
const (
	// MainActivity is Mi and Mint Browser's (scripts start
	// com.mi.globalbrowser/com.android.browser.BrowserActivity:
	// reference/miui-ui.md section 1).
	MainActivity = "com.android.browser.BrowserActivity"
	// SettingsActivity is Mi Browser's settings screen (a test asserting
	// the route: miui-ui.md section 1; Mint's is modeled the same).
	SettingsActivity = "com.android.browser.BrowserSettingsActivity"
	// ChromeMain is Chrome's launcher alias (chromium AndroidManifest.xml).
	ChromeMain = "com.google.android.apps.chrome.Main"
)

const chrome = "com.android.chrome"

// Browser is one browser's process: its tabs and the address bar's logic.
// Screens lock mu to read the tabs and handlers to change them; events are
// published after unlocking.
type Browser struct {
	env     app.Env
	opts    Options
	version string

	mu   sync.Mutex
	tabs []*tab
	cur  int
	// incognito is Mi Browser's incognito mode: tabs opened while it is on
	// are incognito, and only they show.
	incognito bool
	// history is the regular tabs' visits, newest last; incognito visits
	// are not kept.
	history []string
}

// tab is one tab's back stack of addresses, the shown one last; "" is the
// home page (a new tab page).
type tab struct {
	pages     []string
	incognito bool
}

func (t *tab) url() string { return t.pages[len(t.pages)-1] }

// shownTab is a tab as a screen draws it, copied under the lock.
type shownTab struct {
	url       string
	incognito bool
}

func (t *tab) shown() shownTab { return shownTab{url: t.url(), incognito: t.incognito} }

// New returns the browser of m's package, at version m.VersionName.
func New(m content.Manifest, env app.Env, opts Options) *Browser {
	return &Browser{env: env, opts: opts, version: m.VersionName, tabs: []*tab{{pages: []string{""}}}}
}

// NewActivity implements app.App.
func (b *Browser) NewActivity(class string) app.Activity {
	switch {
	case b.env.Package == chrome:
		return &chromeMain{b: b}
	case class == SettingsActivity:
		return newSettings(b)
	}
	return &miMain{b: b}
}

// current is the shown tab; b.mu is held.
func (b *Browser) current() *tab { return b.tabs[b.cur] }

// openTab adds a tab showing addr and shows it; b.mu is held.
func (b *Browser) openTab(addr string, incognito bool) {
	b.tabs = append(b.tabs, &tab{pages: []string{addr}, incognito: incognito})
	b.cur = len(b.tabs) - 1
}

// view is what a browser does with an intent: a web address opens in a new
// regular tab; nothing in the intent asks for an incognito one (no browser
// honours an incognito extra from another app: reference/android-fidelity.md).
func (b *Browser) view(in content.Intent) {
	if s := in.Scheme(); s != "http" && s != "https" {
		return
	}
	b.mu.Lock()
	b.openTab(in.Data, false)
	b.mu.Unlock()
	b.loaded(in.Data, false)
}

// submit is the address bar's Enter: what was typed becomes an address or
// a search (AOSP Browser's UrlUtils.smartUrlFilter, which Mi Browser's
// com.android.browser classes come from: a URI with a scheme is kept, a
// web address gets "http://", anything else is searched), loaded in the
// current tab.
func (b *Browser) submit(typed string) {
	addr := b.address(strings.TrimSpace(typed))
	if addr == "" {
		return
	}
	b.mu.Lock()
	t := b.current()
	if t.url() == "" {
		t.pages[len(t.pages)-1] = addr
	} else {
		t.pages = append(t.pages, addr)
	}
	incognito := t.incognito
	b.mu.Unlock()
	b.loaded(addr, incognito)
}

var (
	schemed = regexp.MustCompile(`^(?i)[a-z][a-z0-9+.-]*://`)
	// webAddress is a host with a dot and no spaces, optionally a port
	// and a path (a narrow Patterns.WEB_URL).
	webAddress = regexp.MustCompile(`^(?i)[a-z0-9-]+(\.[a-z0-9-]+)+(:\d+)?(/\S*)?$`)
)

func (b *Browser) address(typed string) string {
	switch {
	case typed == "":
		return ""
	case schemed.MatchString(typed):
		return typed
	case webAddress.MatchString(typed):
		return "http://" + typed
	}
	return b.searchURL(typed)
}

// searchURL is the results page for q, the query escaped as a form value.
func (b *Browser) searchURL(q string) string {
	tmpl := b.opts.SearchURL
	if tmpl == "" {
		tmpl = "https://www.google.com/search?q=%s"
	}
	return strings.Replace(tmpl, "%s", url.QueryEscape(q), 1)
}

// back goes back in the current tab; false when it is on its first page.
func (b *Browser) back() bool {
	b.mu.Lock()
	t := b.current()
	if len(t.pages) < 2 {
		b.mu.Unlock()
		return false
	}
	t.pages = t.pages[:len(t.pages)-1]
	addr, incognito := t.url(), t.incognito
	b.mu.Unlock()
	if addr != "" {
		b.loaded(addr, incognito)
	}
	return true
}

// loaded tells the phone a page finished loading: a results page of the
// search engine as a search (the query is its q parameter: every engine
// the profiles use names it so), any other as a page. Report says whether
// the browser's own settings let its analytics report it.
func (b *Browser) loaded(addr string, incognito bool) {
	report := b.reports(incognito)
	b.mu.Lock()
	if !incognito {
		b.history = append(b.history, addr)
	}
	b.mu.Unlock()
	pkg := b.env.Package
	if u, err := url.Parse(addr); err == nil && b.isResults(u) {
		b.env.Bus.Publish(event.Searched{Package: pkg, URL: addr, Query: u.Query().Get("q"), Incognito: incognito, Report: report})
		return
	}
	b.env.Bus.Publish(event.PageLoaded{Package: pkg, URL: addr, Incognito: incognito, Report: report})
}

func (b *Browser) isResults(u *url.URL) bool {
	engine, err := url.Parse(b.searchURL(""))
	return err == nil && u.Host == engine.Host && u.Path == engine.Path && u.Query().Get("q") != ""
}

// reports is whether a page load may be reported: always, but for an
// incognito page in a Mi or Mint Browser whose "Enhanced incognito mode"
// is off (settings.go).
func (b *Browser) reports(incognito bool) bool {
	if b.env.Package == chrome || !incognito || !hasSwitch(b.env.Package, b.version) {
		return true
	}
	return enhancedIncognito(b.env)
}

// newer says whether dotted version v is at least min ("12.1.10" >= "12.1.4").
func newer(v, min string) bool {
	a, b := strings.Split(v, "."), strings.Split(min, ".")
	for i := range max(len(a), len(b)) {
		x, y := part(a, i), part(b, i)
		if x != y {
			return x > y
		}
	}
	return true
}

func part(parts []string, i int) int {
	if i >= len(parts) {
		return 0
	}
	n, _ := strconv.Atoi(parts[i])
	return n
}

// omnibox is an address bar open for typing. It keeps its own lock so
// that the screens' handlers may use it while reading the tabs.
type omnibox struct {
	mu      sync.Mutex
	editing bool
	text    widget.Text
}

// open starts editing with the shown address selected, so that typing
// replaces it (AOSP Browser's UrlInputView and Chrome's UrlBar select all
// on focus).
func (o *omnibox) open(shown string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.editing, o.text = true, widget.Text{Value: shown, Selected: shown != ""}
}

// state is whether it is open, and what it holds.
func (o *omnibox) state() (bool, widget.Text) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.editing, o.text
}

func (o *omnibox) typeText(s string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.text.Type(s)
}

// key handles DEL while open.
func (o *omnibox) key(code int) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.editing && o.text.Key(code)
}

// close stops editing; false when it was not open.
func (o *omnibox) close() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	was := o.editing
	o.editing = false
	return was
}

// submitTo closes the bar and loads what was typed in b.
func (o *omnibox) submitTo(b *Browser) {
	o.mu.Lock()
	typed := o.text.Value
	o.editing = false
	o.mu.Unlock()
	b.submit(typed)
}

// currentTab is the shown tab, copied.
func (b *Browser) currentTab() shownTab {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.current().shown()
}
