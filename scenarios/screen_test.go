package scenarios

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"telltale.dev/devices/profiles"
	"telltale.dev/harness/actions"
	"telltale.dev/harness/matchers"
)

// Screen: locking plants no canary; what it causes shows in the differential
// view against the idle baseline (mistat reports every lock on MIUI).
var _ = family(func(d *device) {
	Describe("screen", func() {
		It("locking the screen leaks no planted value; new endpoints are reported in the differential view", Label(profiles.ActionLockScreen), func(ctx SpecContext) {
			r := d.act(profiles.ActionLockScreen, "", func() (*actions.Result, error) { return actions.LockScreen(ctx, d.s) })
			Expect(r.Report).To(matchers.HaveNoLeaks())
			for _, kl := range d.s.Firmware.KnownLeaks {
				if kl.Action == profiles.ActionLockScreen && *flagPolicy != PolicyStrict {
					Expect(r.Diff.Hosts).To(ContainElement(kl.Host), "known on %s: a request to %s at every lock", d.s.Firmware.Version, kl.Host)
				}
			}
		}, SpecTimeout(specTimeout))
	})
})
