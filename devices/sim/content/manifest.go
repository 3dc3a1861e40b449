package content

import "slices"

// Manifest is what the package manager keeps from a package's
// AndroidManifest.xml.
type Manifest struct {
	Package     string
	Label       string
	VersionName string
	VersionCode int
	// SharedUserID is android:sharedUserId: packages that name the same
	// shared user run as one uid ("android.uid.system" is the system's).
	SharedUserID string
	Activities   []ActivityInfo
}

// ActivityInfo is one declared activity and the intents it accepts.
type ActivityInfo struct {
	Name    string // the full class name
	Filters []Filter
}

// Filter is an <intent-filter>: an intent matches when its action is
// listed, every one of its categories is listed, and its data scheme is
// listed (or it has no data and the filter names no schemes).
type Filter struct {
	Actions, Categories, Schemes []string
}

// Launcher is the filter of an app's icon on the home screen.
var Launcher = Filter{Actions: []string{ActionMain}, Categories: []string{CategoryLauncher}}

// Home is the filter of a home screen app.
var Home = Filter{Actions: []string{ActionMain}, Categories: []string{CategoryHome, CategoryDefault}}

// Browsable is the filter of an app that opens web pages.
var Browsable = Filter{Actions: []string{ActionView}, Categories: []string{CategoryDefault, CategoryBrowsable},
	Schemes: []string{"http", "https"}}

// Matches follows IntentFilter.match for action, categories and scheme; the
// activity manager adds CATEGORY_DEFAULT for implicit starts.
func (f Filter) Matches(in Intent) bool {
	if in.Action != "" && !slices.Contains(f.Actions, in.Action) {
		return false
	}
	for _, c := range in.Categories {
		if !slices.Contains(f.Categories, c) {
			return false
		}
	}
	scheme := in.Scheme()
	if scheme == "" {
		return len(f.Schemes) == 0
	}
	return slices.Contains(f.Schemes, scheme)
}

// Component names activity a of m.
func (m Manifest) Component(a ActivityInfo) ComponentName {
	return ComponentName{Package: m.Package, Class: a.Name}
}

// Activity finds a declared activity by class name.
func (m Manifest) Activity(class string) (ActivityInfo, bool) {
	for _, a := range m.Activities {
		if a.Name == class {
			return a, true
		}
	}
	return ActivityInfo{}, false
}

// LauncherActivity is the first activity with the launcher filter (what
// Intent.makeMainActivity and monkey's getMainApps start).
func (m Manifest) LauncherActivity() (ActivityInfo, bool) {
	return m.Matching(Intent{Action: ActionMain, Categories: []string{CategoryLauncher}})
}

// Matching is the first activity with a filter matching in.
func (m Manifest) Matching(in Intent) (ActivityInfo, bool) {
	for _, a := range m.Activities {
		for _, f := range a.Filters {
			if f.Matches(in) {
				return a, true
			}
		}
	}
	return ActivityInfo{}, false
}

// Launchable is an app with an icon on the home screen
// (LauncherActivityInfo): its launcher activity and the label under it.
type Launchable struct {
	Component ComponentName
	Label     string
}
