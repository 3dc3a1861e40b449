package scenarios

import (
	. "github.com/onsi/ginkgo/v2"

	"telltale.dev/devices/profiles"
	"telltale.dev/harness/actions"
	"telltale.dev/harness/expect"
	"telltale.dev/harness/framework"
)

// Browsing: the 2020 report. Mint Browser and Mi Browser before the fix sent
// every incognito URL and search to Sensors Analytics; after the fix they do
// so only while the "aggregated data collection" switch is on (the default).
var _ = family(func(d *framework.Device) {
	Describe("browsing", func() {
		It("incognito browsing "+d.Title(profiles.ActionBrowseIncognito, "the URL"), Label(profiles.ActionBrowseIncognito), func(ctx SpecContext) {
			c := d.Canaries().URL(d.CanaryID("url"))
			r := d.Act(ctx, profiles.ActionBrowseIncognito, "", func() (*actions.Result, error) { return actions.BrowseIncognito(ctx, d.Session(), c) })
			d.Expect(ctx, r)
		}, framework.ActionTimeout)

		It("search "+d.Title(profiles.ActionSearch, "the phrase"), Label(profiles.ActionSearch), func(ctx SpecContext) {
			c := d.Canaries().Search(d.CanaryID("search"))
			r := d.Act(ctx, profiles.ActionSearch, "", func() (*actions.Result, error) { return actions.Search(ctx, d.Session(), c) })
			d.Expect(ctx, r)
		}, framework.ActionTimeout)

		if !expect.Conditional(d.Firmware(), profiles.ActionBrowseIncognito) {
			return
		}
		// The browser has the switch on this firmware: with it off nothing
		// may leak, and turning it back on brings the leak back. Ordered:
		// the second spec finds the switch as the first left it; the
		// journal puts it back as it was after the run.
		for _, v := range []struct {
			on                 bool
			id, variant, title string
		}{
			{false, "url-switch-off", "aggregated switch off", "incognito browsing with the browser's \"Enhanced incognito mode\" switch off does not leak the URL"},
			{true, "url-switch-on", "aggregated switch on", "incognito browsing with the switch back on leaks the URL again"},
		} {
			It(v.title, Label(profiles.ActionBrowseIncognito), func(ctx SpecContext) {
				d.Check(actions.SetSwitch(ctx, d.Session(), profiles.SwitchEnhancedIncognito, v.on))
				c := d.Canaries().URL(d.CanaryID(v.id))
				r := d.Act(ctx, profiles.ActionBrowseIncognito, v.variant, func() (*actions.Result, error) { return actions.BrowseIncognito(ctx, d.Session(), c) })
				d.Expect(ctx, r)
			}, framework.ActionTimeout)
		}
	})
})
