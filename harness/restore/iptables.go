package restore

import (
	"context"

	"telltale.dev/devices/adb"
	"telltale.dev/harness/androidca"
	"telltale.dev/harness/journal"
	"telltale.dev/harness/redirect"
)

// undoIptables removes a rule or chain of transparent capture as root, the
// way it was made; one already gone counts as removed.
func undoIptables(ctx context.Context, d *adb.Device, e journal.Entry) error {
	root := androidca.SuRoot(e.Su)
	return redirect.Undo(ctx, func(ctx context.Context, cmd string) (string, error) {
		return d.RunCommand(ctx, root.Command(cmd))
	}, e.Command)
}
