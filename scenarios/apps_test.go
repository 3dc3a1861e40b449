package scenarios

import (
	. "github.com/onsi/ginkgo/v2"

	"telltale.dev/devices/profiles"
	"telltale.dev/fixtures/canary"
	"telltale.dev/harness/actions"
	"telltale.dev/harness/framework"
)

// Apps: installing a package whose name is a canary, then opening it. Ordered
// by the device container: the open spec uses the package installed before.
var _ = family(func(d *framework.Device) {
	var pkg canary.Canary
	Describe("apps", func() {
		It("installing an app "+d.Title(profiles.ActionInstallApp, "its package name"), Label(profiles.ActionInstallApp), func(ctx SpecContext) {
			pkg = d.Canaries().Package(d.CanaryID("pkg"))
			r := d.Act(ctx, profiles.ActionInstallApp, "", func() (*actions.Result, error) { return actions.InstallApp(ctx, d.Session(), pkg) })
			d.Expect(ctx, r)
		}, framework.ActionTimeout)

		It("opening the app "+d.Title(profiles.ActionOpenApp, "its package name"), Label(profiles.ActionOpenApp), func(ctx SpecContext) {
			if pkg.Value == "" {
				Skip("the install spec did not run, so there is no app to open")
			}
			r := d.Act(ctx, profiles.ActionOpenApp, "", func() (*actions.Result, error) { return actions.OpenApp(ctx, d.Session(), pkg) })
			d.Expect(ctx, r)
		}, framework.ActionTimeout)
	})
})
