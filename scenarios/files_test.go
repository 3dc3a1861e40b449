package scenarios

import (
	. "github.com/onsi/ginkgo/v2"

	"telltale.dev/devices/profiles"
	"telltale.dev/harness/actions"
	"telltale.dev/harness/framework"
)

// Files: creating a folder named by a canary.
var _ = family(func(d *framework.Device) {
	Describe("files", func() {
		It("creating a folder "+d.Title(profiles.ActionCreateFolder, "its name"), Label(profiles.ActionCreateFolder), func(ctx SpecContext) {
			name := d.Canaries().Folder(d.CanaryID("folder"))
			r := d.Act(ctx, profiles.ActionCreateFolder, "", func() (*actions.Result, error) { return actions.CreateFolder(ctx, d.Session(), name) })
			d.Expect(ctx, r)
		}, framework.ActionTimeout)
	})
})
