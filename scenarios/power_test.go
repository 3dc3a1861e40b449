package scenarios

import (
	. "github.com/onsi/ginkgo/v2"

	"telltale.dev/devices/profiles"
	"telltale.dev/harness/actions"
)

// Power: plugging the charger at a level that is itself a canary.
var _ = family(func(d *device) {
	fw := d.slot.Firmware
	Describe("power", func() {
		It("charging "+title(fw, profiles.ActionCharge, "the battery level"), Label(profiles.ActionCharge), func(ctx SpecContext) {
			level := d.gen.Number(d.canaryID("level"))
			r := d.act(profiles.ActionCharge, "", func() (*actions.Result, error) { return actions.Charge(ctx, d.s, "ac", level) })
			d.expect(ctx, r, level)
		}, SpecTimeout(specTimeout))
	})
})
