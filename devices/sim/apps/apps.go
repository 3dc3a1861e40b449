package apps

import (
	"telltale.dev/devices/sim/app"
	"telltale.dev/devices/sim/apps/browser"
	"telltale.dev/devices/sim/apps/generic"
	"telltale.dev/devices/sim/apps/launcher"
	"telltale.dev/devices/sim/content"
)

// Options tune the modules for a model.
type Options struct {
	Browser browser.Options
}

var (
	homeIntent = content.Intent{Action: content.ActionMain, Categories: []string{content.CategoryHome}}
	webIntent  = content.Intent{Action: content.ActionView, Data: "https://example.com/",
		Categories: []string{content.CategoryBrowsable}}
)

// Factory chooses each package's module: the system image's home app runs
// the launcher, its web browsers the browser, and any other package the
// generic app.
func Factory(o Options) app.Factory {
	return func(m content.Manifest, env app.Env) app.App {
		img, shipped := catalog[m.Package]
		if _, ok := img.Matching(homeIntent); shipped && ok {
			return launcher.New(m, env)
		}
		if _, ok := img.Matching(webIntent); shipped && ok {
			return browser.New(env, o.Browser)
		}
		return generic.New(m)
	}
}
