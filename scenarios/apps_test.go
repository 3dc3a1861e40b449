package scenarios

import (
	. "github.com/onsi/ginkgo/v2"

	"telltale.dev/devices/profiles"
	"telltale.dev/fixtures/canary"
	"telltale.dev/harness/actions"
)

// Apps: installing a package whose name is a canary, then opening it. Ordered
// by the device container: the open spec uses the package installed before.
var _ = family(func(d *device) {
	fw := d.slot.Firmware
	var pkg canary.Canary
	Describe("apps", func() {
		It("installing an app "+title(fw, profiles.ActionInstallApp, "its package name"), Label(profiles.ActionInstallApp), func(ctx SpecContext) {
			pkg = d.gen.Package(d.canaryID("pkg"))
			r := d.act(profiles.ActionInstallApp, "", func() (*actions.Result, error) { return actions.InstallApp(ctx, d.s, pkg) })
			d.expect(ctx, r, pkg)
		}, SpecTimeout(specTimeout))

		It("opening the app "+title(fw, profiles.ActionOpenApp, "its package name"), Label(profiles.ActionOpenApp), func(ctx SpecContext) {
			if pkg.Value == "" {
				Skip("the install spec did not run, so there is no app to open")
			}
			r := d.act(profiles.ActionOpenApp, "", func() (*actions.Result, error) { return actions.OpenApp(ctx, d.s, pkg) })
			d.expect(ctx, r, pkg)
		}, SpecTimeout(specTimeout))
	})
})
