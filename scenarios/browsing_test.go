package scenarios

import (
	. "github.com/onsi/ginkgo/v2"

	"telltale.dev/devices/profiles"
	"telltale.dev/harness/actions"
)

// Browsing: the 2020 report. Mint Browser and Mi Browser before the fix sent
// every incognito URL and search to Sensors Analytics; after the fix they do
// so only while the "aggregated data collection" switch is on (the default).
var _ = family(func(d *device) {
	fw := d.slot.Firmware
	Describe("browsing", func() {
		It("incognito browsing "+title(fw, profiles.ActionBrowseIncognito, "the URL"), Label(profiles.ActionBrowseIncognito), func(ctx SpecContext) {
			c := d.gen.URL(d.canaryID("url"))
			r := d.act(profiles.ActionBrowseIncognito, "", func() (*actions.Result, error) { return actions.BrowseIncognito(ctx, d.s, c) })
			d.expect(ctx, r, c)
		}, SpecTimeout(specTimeout))

		It("search "+title(fw, profiles.ActionSearch, "the phrase"), Label(profiles.ActionSearch), func(ctx SpecContext) {
			c := d.gen.Search(d.canaryID("search"))
			r := d.act(profiles.ActionSearch, "", func() (*actions.Result, error) { return actions.Search(ctx, d.s, c) })
			d.expect(ctx, r, c)
		}, SpecTimeout(specTimeout))

		if !hasConditionalLeak(fw, profiles.ActionBrowseIncognito) {
			return
		}
		// The switch exists on this firmware: with it off nothing may leak,
		// and turning it back on brings the leak back. Ordered: the switch
		// stays off for the second spec's set-up only through the journal.
		It("incognito browsing with the aggregated data collection switch off does not leak the URL", Label(profiles.ActionBrowseIncognito), func(ctx SpecContext) {
			ns, key := switchSetting(d)
			d.check(d.s.PutSetting(ctx, ns, key, "0"))
			c := d.gen.URL(d.canaryID("url-switch-off"))
			r := d.act(profiles.ActionBrowseIncognito, "aggregated switch off", func() (*actions.Result, error) { return actions.BrowseIncognito(ctx, d.s, c) })
			d.expect(ctx, r, c)
		}, SpecTimeout(specTimeout))

		It("incognito browsing with the switch back on leaks the URL again", Label(profiles.ActionBrowseIncognito), func(ctx SpecContext) {
			ns, key := switchSetting(d)
			d.check(d.s.PutSetting(ctx, ns, key, "1"))
			c := d.gen.URL(d.canaryID("url-switch-on"))
			r := d.act(profiles.ActionBrowseIncognito, "aggregated switch on", func() (*actions.Result, error) { return actions.BrowseIncognito(ctx, d.s, c) })
			d.expect(ctx, r, c)
		}, SpecTimeout(specTimeout))
	})
})
