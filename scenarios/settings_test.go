package scenarios

import (
	"strings"

	. "github.com/onsi/ginkgo/v2"

	"telltale.dev/devices/profiles"
	"telltale.dev/harness/actions"
	"telltale.dev/harness/framework"
)

// Settings: changing each setting the profile says the model reports.
var _ = family(func(d *framework.Device) {
	targets := d.Profile().Actions.Settings
	if len(targets) == 0 {
		// A model with no reported setting still gets one change, so "does
		// not leak" is checked rather than assumed.
		targets = []profiles.SettingTarget{{Namespace: "system", Key: "telltale_probe_setting"}}
	}
	Describe("settings", func() {
		for _, t := range targets {
			It("changing "+t.Namespace+":"+t.Key+" "+d.Title(profiles.ActionChangeSetting, "the new value"), Label(profiles.ActionChangeSetting), func(ctx SpecContext) {
				v := actions.SettingCanary(d.Canaries(), d.CanaryID("setting-"+strings.ReplaceAll(t.Key, "_", "-")), t)
				r := d.Act(ctx, profiles.ActionChangeSetting, t.Namespace+":"+t.Key, func() (*actions.Result, error) {
					return actions.ChangeSetting(ctx, d.Session(), t.Namespace, t.Key, v)
				})
				d.Expect(ctx, r)
			}, framework.ActionTimeout)
		}
	})
})
