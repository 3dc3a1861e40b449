package scenarios

import (
	. "github.com/onsi/ginkgo/v2"

	"telltale.dev/devices/profiles"
	"telltale.dev/harness/actions"
	"telltale.dev/harness/framework"
)

// Screen: locking plants no canary; what it makes the phone send is the
// differential view against the idle baseline, asserted against the
// endpoints and events the firmware's profile says it sends (mistat
// reports every lock on MIUI).
var _ = family(func(d *framework.Device) {
	Describe("screen", func() {
		It("locking the screen "+d.Title(profiles.ActionLockScreen, ""), Label(profiles.ActionLockScreen), func(ctx SpecContext) {
			r := d.Act(ctx, profiles.ActionLockScreen, "", func() (*actions.Result, error) { return actions.LockScreen(ctx, d.Session()) })
			d.Expect(ctx, r)
		}, framework.ActionTimeout)
	})
})
