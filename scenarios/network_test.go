package scenarios

import (
	. "github.com/onsi/ginkgo/v2"

	"telltale.dev/devices/profiles"
	"telltale.dev/harness/actions"
)

// Network: joining a Wi-Fi network named by a canary. Some firmware reports
// the SSID only with the next charging event, so the action plugs the
// charger after connecting.
var _ = family(func(d *device) {
	fw := d.slot.Firmware
	Describe("network", func() {
		It("connecting to Wi-Fi "+title(fw, profiles.ActionConnectWifi, "the SSID"), Label(profiles.ActionConnectWifi), func(ctx SpecContext) {
			ssid := d.gen.SSID(d.canaryID("ssid"))
			r := d.act(profiles.ActionConnectWifi, "", func() (*actions.Result, error) { return actions.ConnectWifi(ctx, d.s, ssid, 64) })
			d.expect(ctx, r, ssid)
		}, SpecTimeout(specTimeout))
	})
})
