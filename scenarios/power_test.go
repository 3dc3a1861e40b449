package scenarios

import (
	. "github.com/onsi/ginkgo/v2"

	"telltale.dev/devices/profiles"
	"telltale.dev/harness/actions"
	"telltale.dev/harness/framework"
)

// Power: plugging the charger at a level that is itself a canary.
var _ = family(func(d *framework.Device) {
	Describe("power", func() {
		It("charging "+d.Title(profiles.ActionCharge, "the battery level"), Label(profiles.ActionCharge), func(ctx SpecContext) {
			level := d.Canaries().Number(d.CanaryID("level"))
			r := d.Act(ctx, profiles.ActionCharge, "", func() (*actions.Result, error) { return actions.Charge(ctx, d.Session(), "ac", level) })
			d.Expect(ctx, r)
		}, framework.ActionTimeout)
	})
})
