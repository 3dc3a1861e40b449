package scenarios

import (
	"strings"

	. "github.com/onsi/ginkgo/v2"

	"telltale.dev/devices/profiles"
	"telltale.dev/harness/actions"
)

// Settings: changing each setting the profile says the model reports.
var _ = family(func(d *device) {
	fw := d.slot.Firmware
	targets := d.slot.Profile.Actions.Settings
	if len(targets) == 0 {
		// A model with no reported setting still gets one change, so "does
		// not leak" is checked rather than assumed.
		targets = []profiles.SettingTarget{{Namespace: "system", Key: "telltale_probe_setting"}}
	}
	Describe("settings", func() {
		for _, t := range targets {
			It("changing "+t.Namespace+":"+t.Key+" "+title(fw, profiles.ActionChangeSetting, "the new value"), Label(profiles.ActionChangeSetting), func(ctx SpecContext) {
				v := d.gen.SettingValue(d.canaryID("setting-" + strings.ReplaceAll(t.Key, "_", "-")))
				r := d.act(profiles.ActionChangeSetting, t.Namespace+":"+t.Key, func() (*actions.Result, error) {
					return actions.ChangeSetting(ctx, d.s, t.Namespace, t.Key, v)
				})
				d.expect(ctx, r, v)
			}, SpecTimeout(specTimeout))
		}
	})
})

// switchSetting is the browser's aggregated data collection switch.
func switchSetting(d *device) (string, string) {
	ns, key, ok := strings.Cut(d.s.Profile.Actions.Browser.AggregatedSwitch, ":")
	if !ok {
		return "secure", d.s.Profile.Actions.Browser.AggregatedSwitch
	}
	return ns, key
}
