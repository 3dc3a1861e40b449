package apps

import (
	"telltale.dev/devices/sim/app"
	"telltale.dev/devices/sim/apps/browser"
	"telltale.dev/devices/sim/apps/cronetvideo"
	"telltale.dev/devices/sim/apps/documentsui"
	"telltale.dev/devices/sim/apps/files"
	"telltale.dev/devices/sim/apps/flutternews"
	"telltale.dev/devices/sim/apps/generic"
	"telltale.dev/devices/sim/apps/launcher"
	"telltale.dev/devices/sim/apps/settings"
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

// Packages with a module of their own.
const (
	SettingsPackage    = "com.android.settings"
	FileManagerPackage = "com.mi.android.globalFileexplorer"
	SecurityPackage    = "com.miui.securitycenter"
)

// Factory chooses each package's module: the system image's home app runs
// the launcher, its web browsers the browser, Settings, the File Manager
// and AOSP's Files app their own, and any other package the generic app.
func Factory(o Options) app.Factory {
	return func(m content.Manifest, env app.Env) app.App {
		img, shipped := catalog[m.Package]
		switch {
		case !shipped:
			return generic.New(m)
		case m.Package == SettingsPackage:
			return settings.New(env)
		case m.Package == FileManagerPackage:
			return files.New(env)
		case m.Package == documentsui.Package:
			return documentsui.New(env)
		case m.Package == SecurityPackage:
			return security{env: env, rest: generic.New(m)}
		case m.Package == flutternews.Package:
			return flutternews.New(env)
		case m.Package == cronetvideo.Package:
			return cronetvideo.New(env)
		}
		if _, ok := img.Matching(homeIntent); ok {
			return launcher.New(m, env)
		}
		if _, ok := img.Matching(webIntent); ok {
			return browser.New(m, env, o.Browser)
		}
		return generic.New(m)
	}
}

// security is MIUI's Security app: the warning that guards "USB debugging
// (Security settings)" comes with the Settings module that opens it; its
// other activities are rest's.
type security struct {
	env  app.Env
	rest app.App
}

func (s security) NewActivity(class string) app.Activity {
	if class == settings.AdbInputActivity {
		return settings.NewAdbInputApply(s.env)
	}
	return s.rest.NewActivity(class)
}
