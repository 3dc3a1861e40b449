package session

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"telltale.dev/devices/adb"
)

// undoTimeout bounds each undo step, so a vanished device cannot stall a
// teardown that has other steps (and other devices) to put back.
const undoTimeout = 15 * time.Second

// undo puts back the change e describes. Every undo is idempotent: running it
// for a change that was only half made, or already undone, is harmless.
func undo(ctx context.Context, d *adb.Device, e Entry) error {
	ctx, cancel := context.WithTimeout(ctx, undoTimeout)
	defer cancel()
	switch e.Op {
	case OpSetting:
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
	case OpReverse:
		err := d.ReverseRemove(ctx, e.Local)
		if err != nil && strings.Contains(err.Error(), "not found") {
			return nil
		}
		return err
	case OpCASystem:
		var errs []error
		var cmds []string
		for _, p := range e.Paths {
			for _, pid := range e.Namespaces {
				cmds = append(cmds, nsenter(pid, "umount "+adb.Quote(p)))
			}
			cmds = append(cmds, "umount "+adb.Quote(p))
		}
		for _, cmd := range cmds {
			res, err := d.Shell(ctx, asRoot(e, cmd))
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if res.ExitKnown && res.ExitCode != 0 && !notMounted(res) {
				errs = append(errs, fmt.Errorf("%s: %s", cmd, strings.TrimSpace(string(res.Stderr)+string(res.Stdout))))
			}
		}
		return errors.Join(errs...)
	case OpFile:
		_, err := d.RunCommand(ctx, asRoot(e, "rm -rf "+adb.Quote(e.Path)))
		return err
	case OpInstall:
		err := d.Uninstall(ctx, e.Package)
		if err != nil && strings.Contains(err.Error(), "DELETE_FAILED_INTERNAL_ERROR") {
			return nil // not installed: the install never happened
		}
		return err
	case OpBattery, OpWifi, OpScreen:
		if e.Command == "" {
			return nil
		}
		_, err := d.RunCommand(ctx, e.Command)
		return err
	}
	return fmt.Errorf("journal: unknown op %q", e.Op)
}

// asRoot wraps cmd in su the way the change was made.
func asRoot(e Entry, cmd string) string {
	if e.Su == "" {
		return cmd
	}
	return "su " + e.Su + " " + adb.Quote(cmd)
}

func notMounted(r *adb.ShellResult) bool {
	out := strings.ToLower(string(r.Stderr) + string(r.Stdout))
	return strings.Contains(out, "not mounted") || strings.Contains(out, "invalid argument") ||
		strings.Contains(out, "no such file")
}

// Restore puts back every change in runDir's journal not yet undone, newest
// first, device by device, and marks each done in the journal. Devices are
// reached through the adb server recorded with each change. It goes on past
// failures and returns them all, so one unreachable phone does not leave the
// others (or the containers) as they were. removeContainer removes a proxy
// container by id (harness/proxy knows how); nil leaves containers alone.
func Restore(ctx context.Context, runDir string, removeContainer func(ctx context.Context, id string) error) error {
	entries, err := ReadJournal(runDir)
	if err != nil {
		return err
	}
	j, err := OpenJournal(runDir, restoreSeqBase)
	if err != nil {
		return err
	}
	defer j.Close()
	var pending []Entry
	var errs []error
	locked := map[string]error{}
	for _, e := range Pending(entries) {
		if e.Op == OpContainer && removeContainer == nil {
			continue
		}
		// A device still leased belongs to a run that is alive: its own
		// teardown will restore it (and stop its proxy), and two restores
		// must not race.
		id := e.Server + "/" + e.Serial
		if _, seen := locked[id]; !seen {
			lock, err := Acquire(Lease{Server: e.Server, Serial: e.Serial})
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
	errs = append(errs, undoEntries(ctx, j, pending, removeContainer, func(e Entry) *adb.Device {
		return deviceFor(e.Server, e.Serial)
	}))
	return errors.Join(errs...)
}

// restoreSeqBase keeps the sequence numbers of a `telltale restore` apart
// from those of the run's own processes.
const restoreSeqBase = 900_000_000

func deviceFor(server, serial string) *adb.Device {
	s, err := adb.ParseServer(server)
	if err != nil || server == "" {
		return nil
	}
	return adb.New(s).Device(serial)
}

// undoEntries undoes pending (newest first). dev returns the device for an
// entry, nil when it cannot be reached.
func undoEntries(ctx context.Context, j *Journal, pending []Entry, removeContainer func(context.Context, string) error, dev func(Entry) *adb.Device) error {
	var errs []error
	for _, e := range pending {
		var err error
		if e.Op == OpContainer {
			cctx, cancel := context.WithTimeout(ctx, undoTimeout)
			err = removeContainer(cctx, e.Value)
			cancel()
		} else if d := dev(e); d == nil {
			err = fmt.Errorf("no adb server %q", e.Server)
		} else {
			err = undo(ctx, d, e)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("undo %s %s (journal seq %d): %w", e.Serial, describe(e), e.Seq, err))
			continue
		}
		if _, err := j.Append(Entry{Op: OpUndone, Ref: e.Seq, Serial: e.Serial, Server: e.Server}); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func describe(e Entry) string {
	switch e.Op {
	case OpSetting:
		return fmt.Sprintf("setting %s:%s", e.Namespace, e.Key)
	case OpReverse:
		return "reverse " + e.Local
	case OpFile:
		return "file " + e.Path
	case OpInstall:
		return "package " + e.Package
	case OpContainer:
		return "container " + e.Value
	case OpCASystem:
		return "CA mounts " + strings.Join(e.Paths, ",")
	}
	return string(e.Op)
}
