// Package restore puts a phone back the way the journal says it was found:
// each change undone, newest first, and marked undone so a second restore
// skips it; `telltale restore RUN_DIR` after a crash, and a session's own
// teardown. A settings snapshot taken before a run proves the result.
package restore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"telltale.dev/devices/adb"
	"telltale.dev/harness/androidca"
	"telltale.dev/harness/journal"
	"telltale.dev/harness/lease"
)

// undoTimeout bounds each undo step, so a vanished device cannot stall a
// teardown that has other steps (and other devices) to put back.
const undoTimeout = 15 * time.Second

// RemoveContainer removes a proxy container by name or id; one already gone
// counts as removed (harness/proxy knows how).
type RemoveContainer func(ctx context.Context, id string) error

// Undo puts back the change e describes. Every undo is idempotent: running it
// for a change that was only half made, or already undone, is harmless.
// OpContainer entries are not for a device: see Entries.
func Undo(ctx context.Context, d *adb.Device, e journal.Entry) error {
	timeout := undoTimeout
	if e.Op == journal.OpUI {
		timeout = uiUndoTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	switch e.Op {
	case journal.OpSetting:
		if e.Namespace == "global" && e.Key == "http_proxy" {
			// A deleted http_proxy is not enough on some builds: ":0" first.
			if _, err := d.RunCommand(ctx, "settings put global http_proxy :0"); err != nil {
				return err
			}
		}
		if e.Old == nil {
			_, err := d.RunCommand(ctx, "settings delete", e.Namespace, e.Key)
			return err
		}
		_, err := d.RunCommand(ctx, "settings put", e.Namespace, e.Key, *e.Old)
		return err
	case journal.OpReverse:
		err := d.ReverseRemove(ctx, e.Local)
		if err != nil && strings.Contains(err.Error(), "not found") {
			return nil
		}
		return err
	case journal.OpCASystem:
		return androidca.Unmount(ctx, d, e)
	case journal.OpFile:
		_, err := d.RunCommand(ctx, androidca.SuRoot(e.Su).Command("rm -rf "+adb.Quote(e.Path)))
		return err
	case journal.OpInstall:
		err := d.Uninstall(ctx, e.Package)
		if err != nil && strings.Contains(err.Error(), "DELETE_FAILED_INTERNAL_ERROR") {
			return nil // not installed: the install never happened
		}
		return err
	case journal.OpIptables:
		return undoIptables(ctx, d, e)
	case journal.OpUI:
		return undoOnScreen(ctx, d, e)
	case journal.OpBattery, journal.OpWifi, journal.OpScreen:
		if e.Command == "" {
			return nil
		}
		_, err := d.RunCommand(ctx, e.Command)
		return err
	}
	return fmt.Errorf("journal: unknown op %q", e.Op)
}

// Entries undoes pending (newest first) and marks each one undone in j. dev
// returns the device for an entry, nil when it cannot be reached;
// removeContainer handles OpContainer entries. It goes on past failures and
// returns them all.
func Entries(ctx context.Context, j *journal.Journal, pending []journal.Entry, dev func(journal.Entry) *adb.Device, removeContainer RemoveContainer) error {
	var errs []error
	for _, e := range pending {
		var err error
		switch {
		case e.Op == journal.OpContainer && removeContainer == nil:
			continue
		case e.Op == journal.OpContainer:
			cctx, cancel := context.WithTimeout(ctx, undoTimeout)
			err = removeContainer(cctx, e.Value)
			cancel()
		default:
			if d := dev(e); d == nil {
				err = fmt.Errorf("no adb server %q", e.Server)
			} else {
				err = Undo(ctx, d, e)
			}
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("undo %s %s (journal seq %d): %w", e.Serial, e.Describe(), e.Seq, err))
			continue
		}
		if _, err := j.Append(e.Undone()); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// seqBase keeps the sequence numbers of a `telltale restore` apart from
// those of the run's own processes.
const seqBase = 900 * journal.SeqSpan

// Run puts back every change in runDir's journal not yet undone, newest
// first, device by device, and marks each done in the journal. Devices are
// reached through the adb server recorded with each change. A device still
// leased belongs to a run that is alive and is left to it. Run goes on past
// failures and returns them all, so one unreachable phone does not leave the
// others (or the containers) as they were. removeContainer nil leaves
// containers alone.
func Run(ctx context.Context, runDir string, removeContainer RemoveContainer) error {
	entries, err := journal.Read(runDir)
	if err != nil {
		return err
	}
	j, err := journal.Open(runDir, seqBase)
	if err != nil {
		return err
	}
	defer j.Close()
	var pending []journal.Entry
	var errs []error
	locked := map[string]error{}
	for _, e := range journal.Pending(entries) {
		if e.Op == journal.OpContainer && removeContainer == nil {
			continue
		}
		// Two restores of one phone must not race; its own teardown will
		// restore it (and stop its proxy).
		id := e.Server + "/" + e.Serial
		if _, seen := locked[id]; !seen {
			lock, err := lease.Acquire(lease.Lease{Server: e.Server, Serial: e.Serial})
			locked[id] = err
			if err == nil {
				defer lock.Release()
			} else {
				errs = append(errs, fmt.Errorf("%w: stop that run first, or wait for its teardown", err))
			}
		}
		if locked[id] != nil {
			continue
		}
		pending = append(pending, e)
	}
	errs = append(errs, Entries(ctx, j, pending, deviceFor, removeContainer))
	return errors.Join(errs...)
}

func deviceFor(e journal.Entry) *adb.Device {
	s, err := adb.ParseServer(e.Server)
	if err != nil || e.Server == "" {
		return nil
	}
	return adb.New(s).Device(e.Serial)
}
