// Package browser is a web browser app (Mi Browser, Mint Browser, Chrome):
// a page loads when the browser is handed a web URL, and the browser says
// so on the bus (event.PageLoaded, or event.Searched for its search
// engine's results). Wave 1 keeps the intent as the only way in; the menu,
// incognito tabs, address bar typing and the browser's settings page come
// with the UI flows (issue 10).
package browser

import (
	"net/url"
	"strings"
	"sync"

	"telltale.dev/devices/sim/app"
	"telltale.dev/devices/sim/content"
	"telltale.dev/devices/sim/event"
	"telltale.dev/devices/sim/ui"
)

// Options tune the browser for a model.
type Options struct {
	// IncognitoExtra is the boolean intent extra that opens the page in an
	// incognito tab; "" takes any extra whose name mentions incognito.
	// Chrome honours its EXTRA_OPEN_NEW_INCOGNITO_TAB only from itself and
	// no source shows one for Mi Browser (reference/android-fidelity.md):
	// kept until the harness opens incognito tabs through the menu.
	IncognitoExtra string
}

// Browser is one browser's process.
type Browser struct {
	env  app.Env
	opts Options

	mu        sync.Mutex
	url       string
	incognito bool
}

// New returns the browser of env's package.
func New(env app.Env, opts Options) *Browser { return &Browser{env: env, opts: opts} }

// NewActivity implements app.App: the browser's one activity.
func (b *Browser) NewActivity(string) app.Activity { return tab{b} }

type tab struct{ b *Browser }

func (tab) Key(int) bool { return false }

// OnIntent loads a web URL handed to the browser.
func (t tab) OnIntent(in content.Intent) {
	u, err := url.Parse(in.Data)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return
	}
	incognito := false
	for k, v := range in.BoolExtras {
		if k == t.b.opts.IncognitoExtra || (t.b.opts.IncognitoExtra == "" && strings.Contains(strings.ToLower(k), "incognito")) {
			incognito = v
		}
	}
	t.b.mu.Lock()
	t.b.url, t.b.incognito = in.Data, incognito
	t.b.mu.Unlock()
	pkg := t.b.env.Package
	// A results page of the search engine carries the query as q (modeled:
	// every engine the profiles use does).
	if q := u.Query().Get("q"); q != "" {
		t.b.env.Bus.Publish(event.Searched{Package: pkg, URL: in.Data, Query: q, Incognito: incognito})
		return
	}
	t.b.env.Bus.Publish(event.PageLoaded{Package: pkg, URL: in.Data, Incognito: incognito})
}

// Address bar height: 56dp at 440 dpi (modeled).
const barHeight = 154

// Screen is the address bar over the page. The bar's id is Mi Browser's
// com.mi.globalbrowser:id/url (privacytests/privacytests.org testing/android.js)
// under each browser's own package, and its hint Mi Browser's "Search or
// type web address" (XEU MiBrowserGlobal strings): modeled for the others.
func (t tab) Screen(b ui.Rect) *ui.Node {
	t.b.mu.Lock()
	addr := t.b.url
	t.b.mu.Unlock()
	pkg := t.b.env.Package
	bar := ui.R(b.Left, b.Top, b.Right, b.Top+barHeight)
	return &ui.Node{Class: "android.widget.FrameLayout", Package: pkg, Bounds: b, Children: []*ui.Node{
		{Class: "android.widget.LinearLayout", Package: pkg, Bounds: b, Children: []*ui.Node{
			{Class: "android.widget.EditText", ResourceID: pkg + ":id/url", Package: pkg, Text: addr,
				Hint: "Search or type web address", Clickable: true, Focusable: true, LongClickable: true,
				Bounds: ui.R(bar.Left+32, bar.Top+24, bar.Right-32, bar.Bottom-24)},
			{Class: "android.webkit.WebView", Package: pkg, Focusable: true, Scrollable: true,
				Bounds: ui.R(b.Left, bar.Bottom, b.Right, b.Bottom)},
		}},
	}}
}
