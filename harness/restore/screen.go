package restore

import (
	"context"
	"time"

	"telltale.dev/devices/adb"
	"telltale.dev/harness/flows"
	"telltale.dev/harness/journal"
	"telltale.dev/harness/ui"
)

// uiUndoTimeout bounds putting back a change made on the screen: a flow of
// several screens (open Settings, find the network, forget it) takes
// seconds a step on a real phone.
const uiUndoTimeout = 2 * time.Minute

// undoOnScreen puts back a change made on the phone's screen by running the
// flow recorded with it, as a person would, on a screen woken and unlocked
// first (after a crash the phone may have gone to sleep).
func undoOnScreen(ctx context.Context, d *adb.Device, e journal.Entry) error {
	phone := flows.Phone{UI: ui.New(d, ui.Options{}), Shell: d.RunCommand}
	if err := flows.Ready(ctx, phone); err != nil {
		return err
	}
	return flows.RunRecorded(ctx, phone, e.Flow)
}
