package browser

import (
	"sync"

	"telltale.dev/devices/sim/app"
	"telltale.dev/devices/sim/content"
	"telltale.dev/devices/sim/ui"
	"telltale.dev/devices/sim/ui/widget"
)

// The "Enhanced incognito mode" switch: after the April 2020 reports,
// Xiaomi added "an option in incognito mode ... to switch on/off the
// aggregated data collection" to Mi Browser 12.1.4 and Mint Browser 3.4.3
// (blog.mi.com/en/2020/05/02; reference/miui-ui.md section 2). The press
// named it "Enhanced incognito mode" (PT "Modo Incógnito Avançado"); it is
// on by default, and only incognito mode on with it off keeps pages out of
// the statistics (palant.info, 2020-05-08). Where it sits is not
// documented: Settings > "Privacy & security" is modeled, as is its
// preference key; its state is the app's own, in its default
// SharedPreferences, not in Android's settings.
var switchSince = map[string]string{"com.mi.globalbrowser": "12.1.4", "com.mi.globalbrowser.mini": "3.4.3"}

const prefEnhancedIncognito = "enhanced_incognito_mode"

// hasSwitch says whether this version of the package has the switch.
func hasSwitch(pkg, version string) bool {
	since, ok := switchSince[pkg]
	return ok && version != "" && newer(version, since)
}

// enhancedIncognito is the switch's state: on unless turned off.
func enhancedIncognito(env app.Env) bool { return env.DefaultPrefs().Bool(prefEnhancedIncognito, true) }

// Texts of the settings screens: "Settings" and "Privacy & security"
// (pref_privacy_security_title) are XEU MiBrowserGlobal strings, the
// switch's summary its later upload_usage_statistics (that it is the same
// switch is inferred); the switch's title is the press's; the rest modeled.
var settingsTexts = map[string]map[string]string{
	"en": {"settings": "Settings", "privacy": "Privacy & security", "enhanced": "Enhanced incognito mode",
		"enhanced_summary": "Turn on to share usage stats with us when Incognito mode is on",
		"clear":            "Clear history", "version": "Version", "back": "Back"},
	"pt": {"settings": "Configurações", "privacy": "Privacidade e segurança", "enhanced": "Modo Incógnito Avançado",
		"enhanced_summary": "Ative para compartilhar estatísticas de uso conosco quando o Modo incógnito estiver ativado",
		"clear":            "Limpar histórico", "version": "Versão", "back": "Voltar"},
}

// settings is the browser's settings activity: a first page, and "Privacy
// & security" with the switch (on versions that have it).
type settings struct {
	b *Browser

	mu      sync.Mutex
	privacy bool
	scroll  widget.Scroll
}

func newSettings(b *Browser) *settings { return &settings{b: b} }

func (s *settings) OnIntent(content.Intent) {}

// Key: BACK leaves "Privacy & security" for the first page.
func (s *settings) Key(code int) bool {
	if code != widget.KeyBack {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	was := s.privacy
	s.privacy = false
	return was
}

func (s *settings) show(privacy bool) func() {
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.privacy = privacy
		s.scroll.Reset()
	}
}

func (s *settings) Screen(r ui.Rect) *ui.Node {
	env := s.b.env
	t := settingsTexts["en"]
	if tt, ok := settingsTexts[env.Language()]; ok {
		t = tt
	}
	k := widget.For(env.Package, r)
	s.mu.Lock()
	privacy := s.privacy
	s.mu.Unlock()
	if !privacy {
		return k.Page(widget.Page{Title: t["settings"], Up: env.Activities.Back, UpDesc: t["back"], Scroll: &s.scroll, Rows: []widget.Row{
			{Title: t["privacy"], Arrow: true, OnClick: s.show(true)},
			{Title: t["version"], Value: s.b.version},
		}})
	}
	var rows []widget.Row
	if hasSwitch(env.Package, s.b.version) {
		on := enhancedIncognito(env)
		rows = append(rows, widget.Row{Title: t["enhanced"], Summary: t["enhanced_summary"], Switch: &on, OnClick: func() {
			// A commit that fails leaves the switch as it was, as the
			// real app's would.
			_ = env.DefaultPrefs().SetBool(prefEnhancedIncognito, !on)
		}})
	}
	rows = append(rows, widget.Row{Title: t["clear"], OnClick: func() {
		s.b.mu.Lock()
		defer s.b.mu.Unlock()
		s.b.history = nil
	}})
	return k.Page(widget.Page{Title: t["privacy"], Up: s.show(false), UpDesc: t["back"], Scroll: &s.scroll, Rows: rows})
}
