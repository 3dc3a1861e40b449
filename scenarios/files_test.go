package scenarios

import (
	. "github.com/onsi/ginkgo/v2"

	"telltale.dev/devices/profiles"
	"telltale.dev/harness/actions"
)

// Files: creating a folder named by a canary.
var _ = family(func(d *device) {
	fw := d.slot.Firmware
	Describe("files", func() {
		It("creating a folder "+title(fw, profiles.ActionCreateFolder, "its name"), Label(profiles.ActionCreateFolder), func(ctx SpecContext) {
			name := d.gen.Folder(d.canaryID("folder"))
			r := d.act(profiles.ActionCreateFolder, "", func() (*actions.Result, error) { return actions.CreateFolder(ctx, d.s, name) })
			d.expect(ctx, r, name)
		}, SpecTimeout(specTimeout))
	})
})
