package session

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"telltale.dev/devices/adb"
)

// probeRequest asks the device itself to send one plain HTTP request through
// localhost:8080. toybox nc ships on Android 7+ (so on real phones and
// emulators); curl where it exists. When neither does, the probe falls back
// to waiting for the device's own background traffic (MIUI fetches its
// config every few seconds), which proves the same path.
func (s *Session) probeRequest(ctx context.Context, token string) error {
	req := fmt.Sprintf(`printf 'GET http://probe.telltale.invalid/%s HTTP/1.0\r\nHost: probe.telltale.invalid\r\n\r\n'`, token)
	for _, cmd := range []string{
		req + fmt.Sprintf(" | toybox nc -w 5 127.0.0.1 %d", ProxyPort),
		fmt.Sprintf("curl -s -m 5 -x 127.0.0.1:%d http://probe.telltale.invalid/%s", ProxyPort, token),
	} {
		if _, err := s.Shell(ctx, cmd); err == nil {
			return nil
		} else if s.Lost() != nil {
			return err
		}
	}
	return errors.New("no nc or curl on the device")
}

// Close puts the device back as it was found, newest change first:
// http_proxy through ":0" to its old value, the reverse rule, the CA mounts,
// settings, battery, Wi-Fi, installed packages, files; then stops the proxy
// and compares the settings with the snapshot taken at Open, failing loudly
// on any difference. On a lost device it removes what does not need the
// device (the container) and says how to finish later.
func (s *Session) Close(ctx context.Context) error {
	if s == nil {
		return nil
	}
	ctx = context.WithoutCancel(ctx) // a Ctrl-C must not stop the restore
	var errs []error
	s.mu.Lock()
	mine := append([]Entry(nil), s.entries...)
	s.mu.Unlock()
	pending := Pending(append(mine, s.undoneEntries()...))
	lost := s.Lost()
	var deviceSide, other []Entry
	for _, e := range pending {
		if e.Op == OpContainer {
			other = append(other, e)
		} else {
			deviceSide = append(deviceSide, e)
		}
	}
	if lost == nil {
		errs = append(errs, undoEntries(ctx, s.journal, deviceSide, nil, func(Entry) *adb.Device { return s.dev }))
	} else if len(deviceSide) > 0 {
		errs = append(errs, fmt.Errorf("%w: %d change(s) left on the device; once it is back run: telltale restore %s",
			lost, len(deviceSide), s.runDir))
	}
	if s.proxy != nil {
		if err := s.proxy.Terminate(ctx); err != nil {
			errs = append(errs, fmt.Errorf("stop proxy: %w", err))
		} else {
			for _, e := range other {
				_, _ = s.journal.Append(Entry{Op: OpUndone, Ref: e.Seq, Serial: e.Serial, Server: e.Server})
			}
		}
	}
	if lost == nil && s.before != nil {
		errs = append(errs, s.checkRestored(ctx))
	}
	if s.cancel != nil {
		s.cancel(errClosed)
	}
	s.lock.Release()
	errs = append(errs, s.journal.Close())
	return errors.Join(errs...)
}

var errClosed = errors.New("session closed")

// undoneEntries are the OpUndone lines this session wrote; Pending needs them
// to skip what was already put back (Close may be called after a partial
// restore).
func (s *Session) undoneEntries() []Entry {
	all, err := ReadJournal(s.runDir)
	if err != nil {
		return nil
	}
	var out []Entry
	for _, e := range all {
		if e.Op == OpUndone && e.Serial == s.Lease.Serial {
			out = append(out, e)
		}
	}
	return out
}

func (s *Session) checkRestored(ctx context.Context) error {
	after, err := s.TakeSnapshot(ctx)
	if err != nil {
		return fmt.Errorf("settings check after restore: %w", err)
	}
	_ = writeJSONFile(filepath.Join(s.Dir(), "settings-after.json"), after)
	if d := s.before.Diff(after); len(d) > 0 {
		return fmt.Errorf("RESTORE INCOMPLETE on %s: settings differ from the snapshot taken before the run:\n  %s",
			s.Lease.Serial, strings.Join(d, "\n  "))
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
