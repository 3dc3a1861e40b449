package scenarios

import (
	. "github.com/onsi/ginkgo/v2"

	"telltale.dev/devices/profiles"
	"telltale.dev/harness/actions"
	"telltale.dev/harness/framework"
)

// Network: joining a Wi-Fi network named by a canary. Some firmware reports
// the SSID only with the next charging event, so the action plugs the
// charger after connecting.
var _ = family(func(d *framework.Device) {
	Describe("network", func() {
		It("connecting to Wi-Fi "+d.Title(profiles.ActionConnectWifi, "the SSID"), Label(profiles.ActionConnectWifi), func(ctx SpecContext) {
			ssid := d.Canaries().SSID(d.CanaryID("ssid"))
			r := d.Act(ctx, profiles.ActionConnectWifi, "", func() (*actions.Result, error) { return actions.ConnectWifi(ctx, d.Session(), ssid, 64) })
			d.Expect(ctx, r)
		}, framework.ActionTimeout)
	})
})
