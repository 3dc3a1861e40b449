package session

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"telltale.dev/devices/adb"
	"telltale.dev/harness/journal"
	"telltale.dev/harness/restore"
)

var errClosed = errors.New("session closed")

// Close puts the device back as it was found, newest change first:
// iptables rules, http_proxy through ":0" to its old value, the reverse
// rules, the CA mounts, settings, battery, Wi-Fi, installed packages,
// files; then stops the proxy and compares the settings (and `iptables -S`)
// with the snapshots taken at Open, failing loudly on any difference. On a lost device it removes what does not need the
// device (the container) and says how to finish later.
func (s *Session) Close(ctx context.Context) error {
	if s == nil {
		return nil
	}
	ctx = context.WithoutCancel(ctx) // a Ctrl-C must not stop the restore
	var errs []error
	pending, err := s.pending()
	if err != nil {
		errs = append(errs, err)
	}
	lost := s.Lost()
	var deviceSide, containers []journal.Entry
	for _, e := range pending {
		if e.Op == journal.OpContainer {
			containers = append(containers, e)
		} else {
			deviceSide = append(deviceSide, e)
		}
	}
	if lost == nil {
		errs = append(errs, restore.Entries(ctx, s.journal, deviceSide, func(journal.Entry) *adb.Device { return s.dev }, nil))
	} else if len(deviceSide) > 0 {
		errs = append(errs, fmt.Errorf("%w: %d change(s) left on the device; once it is back run: telltale restore %s",
			lost, len(deviceSide), s.journal.Dir()))
	}
	if s.proxy != nil {
		if err := s.proxy.Terminate(ctx); err != nil {
			errs = append(errs, fmt.Errorf("stop proxy: %w", err))
		} else {
			for _, e := range containers {
				if _, err := s.journal.Append(e.Undone()); err != nil {
					errs = append(errs, err)
				}
			}
		}
	}
	if lost == nil && s.before != nil {
		errs = append(errs, s.checkRestored(ctx))
	}
	if lost == nil && s.rulesBefore != nil {
		errs = append(errs, s.checkRules(ctx))
	}
	s.cancel(errClosed)
	s.lock.Release()
	errs = append(errs, s.journal.Close())
	return errors.Join(errs...)
}

// pending is what this session changed and has not put back yet, newest
// first. The journal's undone marks count too: Close may follow a partial
// restore. A journal that cannot be read is reported, and this session's
// own entries are still put back.
func (s *Session) pending() ([]journal.Entry, error) {
	s.mu.Lock()
	mine := append([]journal.Entry(nil), s.entries...)
	s.mu.Unlock()
	all, err := journal.Read(s.journal.Dir())
	if err != nil {
		return journal.Pending(mine), fmt.Errorf("read the journal to see what was already restored: %w", err)
	}
	for _, e := range all {
		if e.Op == journal.OpUndone && e.Serial == s.lease.Serial {
			mine = append(mine, e)
		}
	}
	return journal.Pending(mine), nil
}

// checkRestored checks the restore the way Tradefed's restore-settings
// does (harness/restore.Check): what the session changed, and what the
// system derived from it, must be as it was; the phone's own changes during
// the run are left and logged with why.
func (s *Session) checkRestored(ctx context.Context) error {
	s.mu.Lock()
	mine := append([]journal.Entry(nil), s.entries...)
	s.mu.Unlock()
	cctx, cancel := s.bind(ctx, 2*s.timeout)
	v, err := restore.Check(cctx, s.dev, s.before, mine)
	cancel()
	if err != nil {
		return fmt.Errorf("settings check after restore: %w", s.wrap(ctx, "read settings", err))
	}
	if err := writeJSONFile(filepath.Join(s.dir, "settings-after.json"), v.After); err != nil {
		return fmt.Errorf("keep the settings after restore: %w", err)
	}
	for _, line := range append(v.Cleaned, v.Left...) {
		fmt.Fprintf(s.log, "session %s: restore: %s\n", s.lease.Serial, line)
	}
	if err := v.Err(); err != nil {
		return fmt.Errorf("%s: %w", s.lease.Serial, err)
	}
	return nil
}

// Detach lets the device go without putting it back: the lease is released
// and the watcher stopped, while the device changes and the proxy stay as
// they are, recorded in the journal. For keeping a prepared phone to inspect
// by hand; `telltale restore RUN_DIR` undoes it all later.
func (s *Session) Detach() error {
	s.cancel(errClosed)
	s.lock.Release()
	return s.journal.Close()
}
